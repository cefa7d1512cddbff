// The French department of a patient, for the operator statistics (no health data): from the
// postal code of their address, else from the INS-NIR (the department of birth).

/** '75012' → '75'; Corsica 200xx–201xx → '2A', 202xx–206xx → '2B'; overseas '97x'/'98x'. */
export function departmentOfPostalCode(postalCode: string | undefined): string | undefined {
  const code = postalCode?.replace(/\s/g, '');
  if (!code || !/^\d{5}$/.test(code)) return undefined;
  if (code.startsWith('97') || code.startsWith('98')) return code.slice(0, 3);
  if (code.startsWith('20')) return Number(code.slice(2, 3)) <= 1 ? '2A' : '2B';
  if (code.startsWith('00')) return undefined;
  return code.slice(0, 2);
}

/** INS-NIR systems (production, test, demo): their digits 6–7 (or 6–8 overseas) are the department of birth. */
const NIR_SYSTEMS = new Set(['urn:oid:1.2.250.1.213.1.4.8', 'urn:oid:1.2.250.1.213.1.4.10', 'urn:oid:1.2.250.1.213.1.4.11']);

/** The department of birth a NIR tells; undefined for people born abroad (99) or an INS-NIA. */
export function departmentOfIns(ins: { system: string; value: string } | undefined): string | undefined {
  if (!ins || !NIR_SYSTEMS.has(ins.system)) return undefined;
  const nir = ins.value.replace(/\s/g, '').toUpperCase();
  if (!/^[12378]\d{4}[0-9AB]{2}\d{6,8}$/.test(nir)) return undefined;
  const dept = nir.slice(5, 7);
  if (dept === '99') return undefined;
  if (dept === '97' || dept === '98') return nir.slice(5, 8);
  return dept;
}

/** The Patient's department: its home (or first) address's postal code, else the INS-NIR. */
export function departmentOf(patient: Record<string, unknown>, ins: { system: string; value: string } | undefined): string | undefined {
  const addresses = Array.isArray(patient.address) ? (patient.address as { use?: string; postalCode?: string }[]) : [];
  const home = addresses.find((a) => a?.use === 'home') ?? addresses[0];
  return departmentOfPostalCode(home?.postalCode) ?? departmentOfIns(ins);
}
