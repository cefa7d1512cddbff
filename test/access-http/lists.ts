// A submission-set List as professionals' software writes it, for the HTTP access tests.

/** A List by a professional (its source a contained author with their RPPS), naming documents as its entries. */
export function submissionList(id: string, patient: string, authorRpps: string, members: string[]): Record<string, unknown> {
  return {
    resourceType: 'List',
    id,
    status: 'current',
    mode: 'working',
    subject: { reference: `Patient/${patient}` },
    contained: [
      { resourceType: 'Practitioner', id: 'author0-person', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: `8${authorRpps}` }] },
      { resourceType: 'PractitionerRole', id: 'author0', practitioner: { reference: '#author0-person' } },
    ],
    source: { reference: '#author0' },
    // FHIR allows no empty array: a List naming nothing has no entry element.
    ...(members.length ? { entry: members.map((m) => ({ item: { reference: `DocumentReference/${m}` } })) } : {}),
  };
}
