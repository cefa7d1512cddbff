// Hostile XML at the XDS endpoints: entity expansion (billion laughs) and external entities
// (XXE) get a SOAP Sender fault before anything is parsed or stored, whatever the transaction
// and framing; the store holds exactly what it held before.
import t from 'tap';
import { openTestApp, type TestApp } from '../support/app.ts';
import { ACTIONS, cxOf, INS_TEST_AUTHORITY, iti41Mtom, iti42, newIns, pdf, REPOSITORY, submission } from './builders.ts';
import { answerOf, countResources, createPatient, faultOf, post, SOAP_CONTENT_TYPE } from './support.ts';

let api: TestApp;
let patient: string;
t.before(async () => {
  api = await openTestApp({ env: { XDS_REPOSITORY_UNIQUE_ID: REPOSITORY } });
  const ins = newIns();
  await createPatient(api.app, INS_TEST_AUTHORITY, ins);
  patient = cxOf(ins);
});
t.teardown(() => api.close());

const LAUGHS = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
  '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>';
const XXE = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>';

/** A valid message with a DTD inserted after the XML declaration and an entity used in a title. */
function poisoned(xml: string, doctype: string, entity: string): string {
  return xml.replace(/^(<\?xml[^>]*\?>)/, `$1${doctype}`).replace('Lettre de liaison de sortie', `&${entity};`);
}

async function stored(): Promise<number[]> {
  return Promise.all(['DocumentReference', 'List', 'Binary'].map((type) => countResources(api.app, type)));
}

for (const [name, doctype, entity] of [['a billion-laughs', LAUGHS, 'lol3'], ['an XXE', XXE, 'xxe']] as const) {
  void t.test(`${name} ITI-42 gets a HostileXml fault and stores nothing`, async (t) => {
    const before = await stored();
    const posted = await post(api.app, 'registry', poisoned(iti42(submission(patient, [{ bytes: pdf() }])), doctype, entity), SOAP_CONTENT_TYPE(ACTIONS.iti42));
    t.equal(posted.status, 400);
    t.match(faultOf(await answerOf(posted)), { code: 'Sender', subcode: 'carnet:HostileXml' });
    t.same(await stored(), before);
  });

  void t.test(`${name} in the SOAP part of an MTOM ITI-41 gets a HostileXml fault and its document is not stored`, async (t) => {
    const before = await stored();
    const bytes = pdf();
    const { body, contentType } = await iti41Mtom(submission(patient, [{ bytes }]), new Map([['Document01', bytes]]));
    const text = body.toString('latin1');
    const start = text.indexOf('<?xml');
    const hostile = Buffer.from(text.slice(0, start) + poisoned(text.slice(start), doctype, entity), 'latin1');
    const posted = await post(api.app, 'repository', hostile, contentType);
    t.equal(posted.status, 400);
    t.match(faultOf(await answerOf(posted)), { code: 'Sender', subcode: 'carnet:HostileXml' });
    t.same(await stored(), before);
  });
}

void t.test('the fault answer names no file content and no entity text', async (t) => {
  const posted = await post(api.app, 'registry', poisoned(iti42(submission(patient, [{ bytes: pdf() }])), XXE, 'xxe'), SOAP_CONTENT_TYPE(ACTIONS.iti42));
  t.notMatch(posted.body.toString('utf8'), /root:|passwd|lol/);
});
