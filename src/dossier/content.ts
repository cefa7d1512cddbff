// What the patient adds to their dossier: uploaded documents (PDF, JPEG, PNG, checked by their
// bytes; advance directives are uploads of their own type EXPPAT_3), self-declared data
// (allergies, conditions, treatments, blood group and other observations, vaccinations),
// connected devices whose revocable token lets them post Observations. All of it says who
// asserted it (meta.security PATAST / SDMAST / DEVAST, see src/fhir/operations/patient-data.ts)
// and carries the patient as its author where the resource has an author element.
//
// Health data goes through the gated repository: the access engine decides whether this actor
// may create it in this dossier. The Binary of an upload and the Device record go through the
// server's own writes (fhir-port.ts): the Binary's owner is in the same commit, and a Device is
// not health data the matrix speaks of; this module decides those (rules.ts contentActor).
import { randomBytes, randomUUID } from 'node:crypto';
import type { DeviceActor } from '../access/index.ts';
import { OperationOutcomeError, type FhirRepository, type RequestContext } from '../fhir/index.ts';
import { isStoreError, type ResourceBody, type ResourceWrite, type Store, type StoredVersion } from '../store/index.ts';
import {
  assertedBy, CLASS_SYSTEM, CONFIDENTIALITY_SYSTEM, DMP_TYPE_SYSTEM, PATIENT_CLASS, PATIENT_DOCUMENT_TYPES, type Asserter,
} from './fhir-port.ts';
import { actorOf, fail, problem, type DossierLifecycle } from './lifecycle.ts';
import { checkedContent, ContentMismatchError, UPLOAD_KINDS } from './magic.ts';
import { deleteWrite, deviceTokenWrite, readDossier, readRecord, recordsWhere, RECORD_TYPES, sha256, type DeviceTokenRecord } from './records.ts';
import { contentActor } from './rules.ts';

/** How each type a patient may declare names its patient and its author. */
const DECLARABLE: Readonly<Record<string, { dossier: 'patient' | 'subject'; stamp: (patient: { reference: string }) => Record<string, unknown> }>> = {
  AllergyIntolerance: { dossier: 'patient', stamp: (p) => ({ recorder: p, asserter: p }) },
  Condition: { dossier: 'subject', stamp: (p) => ({ recorder: p, asserter: p }) },
  MedicationStatement: { dossier: 'subject', stamp: (p) => ({ informationSource: p }) },
  Observation: { dossier: 'subject', stamp: (p) => ({ performer: [p] }) },
  // Immunization has no author element for a patient: the record says it is not the primary source.
  Immunization: {
    dossier: 'patient',
    stamp: () => ({ primarySource: false, reportOrigin: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/immunization-origin', code: 'recall', display: 'Parent/Guardian/Patient Recall' }] } }),
  },
};

export const DECLARABLE_TYPES = Object.keys(DECLARABLE);
const DEVICE_TOKEN = /^cdt_[A-Za-z0-9_-]{43}$/;
const MAX_DEVICE_OBSERVATIONS = 100;

export interface ContentOptions {
  lifecycle: DossierLifecycle;
  repository: FhirRepository;
  system: FhirRepository;
  uploadLimitBytes: number;
  open: boolean;
}

export interface UploadInput {
  contentType: string;
  body: AsyncIterable<Uint8Array | string>;
  type?: string;
  title?: string;
  description?: string;
}

/** The device a token stands for (the identity the access engine knows as a 'device' actor), or undefined. */
export async function authenticateDevice(store: Store, token: string): Promise<DeviceActor | undefined> {
  if (!DEVICE_TOKEN.test(token)) return undefined;
  const found = await readRecord<DeviceTokenRecord>(store, RECORD_TYPES.deviceToken, sha256(token));
  return found ? { kind: 'device', patientId: found.value.patientId, deviceId: found.value.deviceId } : undefined;
}

function reference(patientId: string): { reference: string } {
  return { reference: `Patient/${patientId}` };
}

export class PatientContent {
  readonly #o: ContentOptions;

  constructor(options: ContentOptions) {
    this.#o = options;
  }

  get #store(): Store {
    return this.#o.lifecycle.store;
  }

  #system(ctx: RequestContext): RequestContext {
    return { baseUrl: ctx.baseUrl, strict: true };
  }

  /** The dossier must be there and open, whoever asks (also with access control off). */
  async #openDossier(patientId: string): Promise<ResourceBody> {
    const patient = await this.#store.read('Patient', patientId);
    if (!patient?.resource || patient.deleted) throw problem(404, 'not-found', `Patient/${patientId} is not known`);
    const record = await readDossier(this.#store, patientId);
    if (record && record.value.status !== 'active') throw problem(403, 'forbidden', 'the dossier is closed');
    return patient.resource;
  }

  async #asserter(ctx: RequestContext, patientId: string): Promise<Asserter> {
    const patient = await this.#openDossier(patientId);
    const who = contentActor(actorOf(ctx), patientId, this.#o.lifecycle.minor(patient), this.#o.open);
    if (typeof who === 'object') fail(who);
    return who;
  }

  // ---- uploads --------------------------------------------------------------------------------------

  async upload(ctx: RequestContext, patientId: string, input: UploadInput): Promise<StoredVersion> {
    const asserter = await this.#asserter(ctx, patientId);
    const type = input.type ?? 'EXPPAT_2';
    if (!Object.hasOwn(PATIENT_DOCUMENT_TYPES, type)) throw problem(422, 'code-invalid', `type must be one of ${Object.keys(PATIENT_DOCUMENT_TYPES).join(', ')}`);
    const contentType = input.contentType.split(';')[0].trim().toLowerCase();
    const kind = Object.hasOwn(UPLOAD_KINDS, contentType) ? UPLOAD_KINDS[contentType] : undefined;
    if (!kind) throw problem(415, 'not-supported', `a patient uploads ${Object.keys(UPLOAD_KINDS).join(', ')} documents`);
    const blob = await this.#store.putBlob(checkedContent(input.body, contentType), { contentType, maxBytes: this.#o.uploadLimitBytes }).catch((e: unknown) => {
      if (e instanceof ContentMismatchError) throw problem(415, 'not-supported', e.message);
      if (isStoreError(e, 'too-large')) throw problem(413, 'too-long', `a patient's document is at most ${this.#o.uploadLimitBytes} bytes`);
      throw e;
    });
    const at = new Date(this.#o.lifecycle.now()).toISOString();
    const docId = randomUUID();
    const binaryId = randomUUID();
    const document = assertedBy(
      {
        resourceType: 'DocumentReference',
        id: docId,
        status: 'current',
        type: { coding: [{ system: DMP_TYPE_SYSTEM, code: type, display: PATIENT_DOCUMENT_TYPES[type] }] },
        category: [{ coding: [{ system: CLASS_SYSTEM, code: PATIENT_CLASS.code, display: PATIENT_CLASS.display }] }],
        subject: reference(patientId),
        date: at,
        author: [reference(patientId)],
        ...(input.description ? { description: input.description } : {}),
        securityLabel: [{ coding: [{ system: CONFIDENTIALITY_SYSTEM, code: 'N', display: 'normal' }] }],
        content: [
          {
            attachment: {
              contentType,
              url: `Binary/${binaryId}`,
              size: blob.size,
              hash: Buffer.from(blob.sha1, 'hex').toString('base64'),
              ...(input.title ? { title: input.title } : {}),
              creation: at,
            },
            format: kind.format,
          },
        ],
      },
      asserter,
    );
    const docWrite = await this.#o.repository.prepareWrite(ctx, 'create', 'DocumentReference', docId, document);
    const binary = this.#o.system.binaryWithBlob({ resourceType: 'Binary', id: binaryId, contentType, securityContext: { reference: `DocumentReference/${docId}` } }, blob.id);
    const binaryWrite = await this.#o.system.prepareWrite(this.#system(ctx), 'create', 'Binary', binaryId, binary);
    await this.#o.lifecycle.commit(
      { writes: [docWrite, binaryWrite], blobs: [blob.id] },
      { kind: 'content-added', patientId, at, actor: actorOf(ctx), content: 'upload', resources: [`DocumentReference/${docId}`] },
    );
    return this.#current('DocumentReference', docId);
  }

  async #current(type: string, id: string): Promise<StoredVersion> {
    return (await this.#store.read(type, id)) as StoredVersion;
  }

  // ---- self-declared data ---------------------------------------------------------------------------

  async declare(ctx: RequestContext, patientId: string, resource: ResourceBody | undefined): Promise<StoredVersion> {
    const asserter = await this.#asserter(ctx, patientId);
    const rule = resource && Object.hasOwn(DECLARABLE, resource.resourceType) ? DECLARABLE[resource.resourceType] : undefined;
    if (!resource || !rule) throw problem(422, 'not-supported', `a patient declares ${DECLARABLE_TYPES.join(', ')}`);
    const given = (resource[rule.dossier] as { reference?: string } | undefined)?.reference;
    if (given !== undefined && given !== `Patient/${patientId}`) throw problem(422, 'invalid', `${resource.resourceType}.${rule.dossier} must be Patient/${patientId}`);
    const id = randomUUID();
    const { meta, ...rest } = resource;
    const { versionId: _v, lastUpdated: _l, ...keptMeta } = (meta ?? {}) as Record<string, unknown>;
    const stamped = assertedBy({ ...rest, ...(Object.keys(keptMeta).length ? { meta: keptMeta } : {}), id, [rule.dossier]: reference(patientId), ...rule.stamp(reference(patientId)) } as ResourceBody, asserter);
    const write = await this.#o.repository.prepareWrite(ctx, 'create', resource.resourceType, id, stamped);
    await this.#o.lifecycle.commit(
      { writes: [write] },
      { kind: 'content-added', patientId, at: new Date(this.#o.lifecycle.now()).toISOString(), actor: actorOf(ctx), content: 'declaration', resources: [`${resource.resourceType}/${id}`] },
    );
    return this.#current(resource.resourceType, id);
  }

  // ---- connected devices ----------------------------------------------------------------------------

  /** Registers the patient's device; the token is returned once and stored as its SHA-256 only. */
  async registerDevice(ctx: RequestContext, patientId: string, device: ResourceBody | undefined): Promise<{ device: StoredVersion; token: string }> {
    const asserter = await this.#asserter(ctx, patientId);
    if (!device || device.resourceType !== 'Device') throw problem(422, 'required', 'the device parameter must hold a Device');
    const given = (device.patient as { reference?: string } | undefined)?.reference;
    if (given !== undefined && given !== `Patient/${patientId}`) throw problem(422, 'invalid', `Device.patient must be Patient/${patientId}`);
    const id = randomUUID();
    const { meta: _meta, ...rest } = device;
    const body = assertedBy({ ...rest, id, status: 'active', patient: reference(patientId) } as ResourceBody, asserter);
    const write = await this.#o.system.prepareWrite(this.#system(ctx), 'create', 'Device', id, body);
    const token = `cdt_${randomBytes(32).toString('base64url')}`;
    const at = new Date(this.#o.lifecycle.now()).toISOString();
    await this.#o.lifecycle.commit(
      { writes: [write, deviceTokenWrite(sha256(token), { patientId, deviceId: id, createdAt: at })] },
      { kind: 'device-registered', patientId, at, actor: actorOf(ctx), deviceId: id },
    );
    return { device: await this.#current('Device', id), token };
  }

  /** Revokes every token of the device at once and marks it inactive. */
  async revokeDevice(ctx: RequestContext, deviceId: string): Promise<StoredVersion> {
    const device = await this.#store.read('Device', deviceId);
    const patientId = (device?.resource?.patient as { reference?: string } | undefined)?.reference?.replace(/^Patient\//, '');
    if (!device?.resource || device.deleted || !patientId) throw problem(404, 'not-found', `Device/${deviceId} is not known`);
    const patient = await this.#store.read('Patient', patientId);
    const who = contentActor(actorOf(ctx), patientId, patient?.resource ? this.#o.lifecycle.minor(patient.resource) : undefined, this.#o.open);
    // Someone else's device answers as if it did not exist.
    if (typeof who === 'object') throw problem(404, 'not-found', `Device/${deviceId} is not known`);
    const tokens = await recordsWhere(this.#store, RECORD_TYPES.deviceToken, 'device', deviceId);
    const { meta: _meta, ...rest } = device.resource;
    const writes: ResourceWrite[] = [
      await this.#o.system.prepareWrite(this.#system(ctx), 'update', 'Device', deviceId, { ...rest, status: 'inactive' } as ResourceBody, device.versionId),
      ...tokens.map((t) => deleteWrite(RECORD_TYPES.deviceToken, t)),
    ];
    await this.#o.lifecycle.commit({ writes }, { kind: 'device-token-revoked', patientId, at: new Date(this.#o.lifecycle.now()).toISOString(), actor: actorOf(ctx), deviceId });
    return this.#current('Device', deviceId);
  }

  /**
   * A device posts Observations (one, or a Bundle of them) with its token. Each is stamped as the
   * device's (Observation.device, DEVAST) and written through the gate as the device actor.
   */
  async observe(ctx: RequestContext, token: string | undefined, deviceId: string, body: ResourceBody | undefined): Promise<StoredVersion[]> {
    const actor = token ? await authenticateDevice(this.#store, token) : undefined;
    if (!actor) throw new OperationOutcomeError(401, [{ severity: 'error', code: 'login', diagnostics: 'a valid device token is needed (Authorization: Bearer cdt_…)' }]);
    if (actor.deviceId !== deviceId) throw problem(403, 'forbidden', 'this token belongs to another device');
    await this.#openDossier(actor.patientId);
    const observations = observationsOf(body);
    const deviceCtx: RequestContext = { baseUrl: ctx.baseUrl, strict: ctx.strict, actor, mode: 'normal' };
    const writes: ResourceWrite[] = [];
    const ids: string[] = [];
    for (const observation of observations) {
      const subject = (observation.subject as { reference?: string } | undefined)?.reference;
      if (subject !== undefined && subject !== `Patient/${actor.patientId}`) throw problem(422, 'invalid', `Observation.subject must be Patient/${actor.patientId}`);
      const id = randomUUID();
      const { meta: _meta, ...rest } = observation;
      const stamped = assertedBy({ ...rest, id, subject: reference(actor.patientId), device: { reference: `Device/${deviceId}` } } as ResourceBody, 'device');
      writes.push(await this.#o.repository.prepareWrite(deviceCtx, 'create', 'Observation', id, stamped));
      ids.push(id);
    }
    await this.#o.lifecycle.commit(
      { writes },
      { kind: 'content-added', patientId: actor.patientId, at: new Date(this.#o.lifecycle.now()).toISOString(), actor, content: 'device-observation', resources: ids.map((id) => `Observation/${id}`) },
    );
    return Promise.all(ids.map((id) => this.#current('Observation', id)));
  }
}

function observationsOf(body: ResourceBody | undefined): ResourceBody[] {
  if (body?.resourceType === 'Observation') return [body];
  if (body?.resourceType === 'Bundle' && Array.isArray(body.entry)) {
    const resources = (body.entry as { resource?: ResourceBody }[]).map((e) => e.resource);
    if (resources.length === 0 || resources.length > MAX_DEVICE_OBSERVATIONS || resources.some((r) => r?.resourceType !== 'Observation')) {
      throw problem(422, 'invalid', `a device posts 1 to ${MAX_DEVICE_OBSERVATIONS} Observations in a Bundle`);
    }
    return resources as ResourceBody[];
  }
  throw problem(422, 'invalid', 'a device posts an Observation, or a Bundle of Observations');
}
