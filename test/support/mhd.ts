// IHE MHD test helpers: the sample messages of conformance/mhd/ with placeholder values
// replaced, patients identified by a fresh INS, and a provided one-document dossier.
import { readFileSync } from 'node:fs';
import { matchIds, openTestApp, type TestApp } from './app.ts';

const SAMPLES = new URL('../../conformance/mhd/', import.meta.url);
/** The INS values the samples are written with; each test swaps in patients of its own. */
export const SAMPLE_INS_A = '279035121518989';
export const SAMPLE_INS_B = '180039910000012';
export const INS_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
export const LIST_TYPES = 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes';
export const PDSM = 'https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition';

/** A test app; its writes are validated (FHIR R4 and the French DMP profiles), as in production. */
export function openValidatingApp(): Promise<TestApp> {
  return openTestApp();
}

let seq = 0;
/** A fresh 15-digit INS, so tests never see each other's documents. */
export const newIns = () => `1${String(Date.now()).slice(-10)}${String(++seq).padStart(4, '0')}`;

/** A sample request with its placeholder values replaced. */
export function sample(name: string, replace: Record<string, string>): Record<string, any> {
  let text = readFileSync(new URL(`${name}.request.json`, SAMPLES), 'utf8');
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
  return JSON.parse(text);
}

/** The expected answer to a sample: HTTP status and a body pattern (for t.match). */
export function expected(name: string): { status: number; body: Record<string, unknown> } {
  return JSON.parse(readFileSync(new URL(`${name}.expected.json`, SAMPLES), 'utf8'));
}

export async function createPatient(api: TestApp, ins: string): Promise<string> {
  const r = await api.call('POST', '/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: INS_SYSTEM, value: ins }], name: [{ family: 'DUPONT', given: ['Jeanne'] }], gender: 'female', birthDate: '1979-03-05' });
  if (r.status !== 201) throw new Error(`patient: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

/** Ids of a search's matches; throws on a non-200 answer. */
export async function searchIds(api: TestApp, url: string): Promise<string[]> {
  const r = await api.call('GET', url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return matchIds(r.body);
}

export const idOf = (location: string) => location.split('/')[1];

/** A patient and the one-document PDSm sample provided for them. */
export async function providedDocument(api: TestApp): Promise<{ ins: string; patient: string; list: string; doc: string; binary: string }> {
  const ins = newIns();
  const patient = await createPatient(api, ins);
  const r = await api.call('POST', '/fhir', sample('iti65-pdsm-one-document', { [SAMPLE_INS_A]: ins }));
  if (r.status !== 200) throw new Error(`provide: ${r.status} ${JSON.stringify(r.body)}`);
  const [list, doc, binary] = r.body.entry.map((e: any) => idOf(e.response.location));
  return { ins, patient, list, doc, binary };
}
