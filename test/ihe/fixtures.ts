// Shared material for the XDS protocol tests: SOAP wrapping, the IPF samples from shared/, a valid
// fr-dmp submission to mutate, byte sources that arrive in pieces.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AffinityDomain, RegistryObjects } from '../../src/ihe/xds/index.ts';
import { loadAffinityDomain } from '../../src/ihe/xds/index.ts';
import { sharedMissingReason, sharedPath } from '../support/shared.ts';

export const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
export const WSA = 'http://www.w3.org/2005/08/addressing';

export const ACTION = {
  iti18: 'urn:ihe:iti:2007:RegistryStoredQuery',
  iti41: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b',
  iti42: 'urn:ihe:iti:2007:RegisterDocumentSet-b',
  iti43: 'urn:ihe:iti:2007:RetrieveDocumentSet',
  iti57: 'urn:ihe:iti:2010:UpdateDocumentSet',
  iti62: 'urn:ihe:iti:2010:DeleteDocumentSet',
} as const;

/** Wraps a request body in a SOAP 1.2 envelope with WS-Addressing headers. */
export function soap12(body: string, action: string, options: { messageId?: string; headers?: string } = {}): string {
  const body0 = body.replace(/^<\?xml[^>]*\?>\s*/, '');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<env:Envelope xmlns:env="${SOAP12}" xmlns:wsa="${WSA}">` +
    `<env:Header><wsa:Action env:mustUnderstand="true">${action}</wsa:Action>` +
    `<wsa:MessageID>${options.messageId ?? 'urn:uuid:6b0e1b1e-0000-4000-8000-000000000001'}</wsa:MessageID>` +
    `<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>` +
    `${options.headers ?? ''}</env:Header><env:Body>${body0}</env:Body></env:Envelope>`
  );
}

const IPF_DIR = sharedPath('conformance', 'ipf');

/** Test options for tests that read the IPF samples: skipped locally when shared/ is absent. */
export const needsIpf = { skip: IPF_DIR ? false : sharedMissingReason };

/** An IPF sample from shared/conformance/ipf (only call it in tests declared with needsIpf). */
export function ipfSample(name: string): string {
  if (!IPF_DIR) throw new Error(sharedMissingReason);
  return readFileSync(join(IPF_DIR, name), 'utf8');
}

export const IPF_SUBMISSIONS = [
  'SubmitObjectsRequest_ebrs30.xml',
  'SubmitObjectsRequest_ebrs30_2.xml',
  'SubmitObjectsRequest_ebrs30_update.xml',
  'SubmitObjectsRequest_ebrs3_extra_metadata.xml',
] as const;

/** The patient id domains the IPF samples use. */
export const IPF_AUTHORITIES = ['1.3.6.1.4.1.21367.2005.3.7'];

export const CONFORMANCE_DIR = resolve(import.meta.dirname, '..', '..', 'conformance', 'ihe');
export const CDA_FIXTURE = resolve(CONFORMANCE_DIR, 'documents', 'ldl-ses-carnet.xml');

let frDmpDomain: AffinityDomain | undefined;
export function frDmp(): AffinityDomain {
  frDmpDomain ??= loadAffinityDomain('fr-dmp');
  return frDmpDomain;
}

export function ihe(authorities: readonly string[] = IPF_AUTHORITIES): AffinityDomain {
  return loadAffinityDomain('ihe', { patientIdAuthorities: authorities });
}

export const INS = '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH';
const author = () => ({
  person: '801234567897^DUPONT^JEAN^^^Dr^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS',
  institutions: ['Hôpital Saint-Exemple^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1234567890'],
  roles: [],
  specialties: ['G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5'],
  telecoms: [],
});

/**
 * A valid fr-dmp ITI-42 submission (one discharge letter), matching the CDA fixture. Each call
 * returns a fresh copy the test may mutate.
 */
export function frDmpSubmission(): RegistryObjects {
  return structuredClone({
    submissionSets: [
      {
        entryUuid: 'SubmissionSet01',
        uniqueId: '1.2.250.1.999.1.1.20240115.1',
        sourceId: '1.2.250.1.999.1',
        patientId: INS,
        submissionTime: '20240115093500',
        contentTypeCode: { code: '11490-0', codingScheme: '2.16.840.1.113883.6.1', displayName: 'Lettre de liaison' },
        authors: [author()],
        intendedRecipients: [],
        title: 'Sortie d’hospitalisation',
        limitedMetadata: false,
        extraSlots: [],
      },
    ],
    documentEntries: [
      {
        entryUuid: 'Document01',
        objectType: 'stable' as const,
        uniqueId: '1.2.250.1.999.1.1.20240115.2',
        patientId: INS,
        sourcePatientId: 'IPP123^^^&1.2.250.1.999.1.2&ISO^PI',
        sourcePatientInfo: ['PID-3|IPP123^^^&1.2.250.1.999.1.2&ISO^PI', 'PID-5|TEST^JEANNE', 'PID-7|19790312', 'PID-8|F'],
        classCode: { code: '10', codingScheme: '1.2.250.1.213.1.1.4.1', displayName: 'Compte rendu' },
        typeCode: { code: '11490-0', codingScheme: '2.16.840.1.113883.6.1', displayName: 'Lettre de liaison à la sortie' },
        formatCode: { code: 'urn:asip:ci-sis:ldl-ses:2017', codingScheme: '1.2.250.1.213.1.1.4.2.282' },
        healthcareFacilityTypeCode: { code: 'SA01', codingScheme: '1.2.250.1.71.4.2.4' },
        practiceSettingCode: { code: 'ETABLISSEMENT', codingScheme: '1.2.250.1.213.1.1.4.9' },
        confidentialityCodes: [{ code: 'N', codingScheme: '2.16.840.1.113883.5.25', displayName: 'Normal' }],
        eventCodes: [],
        authors: [author()],
        creationTime: '20240115093000',
        serviceStartTime: '20240110080000',
        serviceStopTime: '20240115090000',
        languageCode: 'fr-FR',
        mimeType: 'text/xml',
        hash: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
        size: '0',
        title: 'Lettre de liaison de sortie',
        legalAuthenticator: '801234567897^DUPONT^JEAN^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS',
        referenceIds: [],
        repositoryUniqueId: '1.2.250.1.999.1.9',
        limitedMetadata: false,
        extraSlots: [],
      },
    ],
    folders: [],
    associations: [
      {
        entryUuid: 'Association01',
        type: 'HasMember' as const,
        typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember',
        sourceUuid: 'SubmissionSet01',
        targetUuid: 'Document01',
        submissionSetStatus: 'Original',
        extraSlots: [],
      },
    ],
  });
}

/** The bytes in pieces of `size`, as a socket would deliver them. */
export async function* inPieces(bytes: Uint8Array, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield Buffer.from(bytes.subarray(offset, Math.min(offset + size, bytes.length)));
  }
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}
