// The XDS.b transactions over the FHIR repository: one module per transaction, this front door
// runs the one a decoded request names and builds its answer element (or MTOM message).
//
// Refusals the repository raises (access, concurrency) come back as XdsRefusal and are answered
// like any other registry error; anything else escapes to the route, which answers a Receiver
// fault and logs it.
import type { RegistryError } from '../errors.ts';
import { buildRegistryResponse } from '../errors.ts';
import type { OutgoingMultipart } from '../mtom.ts';
import type { XdsRequest } from '../request.ts';
import { retrieveResponseMessage } from '../retrieve.ts';
import { buildAdhocQueryResponse } from '../stored-query.ts';
import type { XmlBuild } from '../xml.ts';
import type { Call, XdsService } from './context.ts';
import { XdsRefusal } from './errors.ts';
import { provideAndRegister } from './provide.ts';
import { registryStoredQuery } from './query.ts';
import { deleteDocumentSet } from './remove.ts';
import { retrieveDocumentSet } from './retrieve.ts';
import { registerSubmission } from './submit.ts';
import { updateDocumentSet } from './update.ts';
import { validateSubmission } from '../validate.ts';

export { createXdsService, DEFAULT_XDS_LIMITS } from './context.ts';
export type { Call, XdsDeps, XdsLimits, XdsService } from './context.ts';
export { ACCESS_DENIED } from './errors.ts';

export type XdsAnswer =
  | { readonly kind: 'xml'; readonly body: XmlBuild; readonly errors: readonly RegistryError[] }
  | { readonly kind: 'mtom'; readonly message: OutgoingMultipart; readonly errors: readonly RegistryError[] };

async function refusals(run: () => Promise<RegistryError[]>): Promise<RegistryError[]> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof XdsRefusal) return [...error.errors];
    throw error;
  }
}

export async function runTransaction(svc: XdsService, call: Call, request: XdsRequest): Promise<XdsAnswer> {
  const xml = (errors: RegistryError[]): XdsAnswer => ({ kind: 'xml', body: buildRegistryResponse(errors), errors });
  switch (request.transaction) {
    case 'ITI-18': {
      const { query } = request;
      if (!query.ok) return { kind: 'xml', body: buildAdhocQueryResponse('LeafClass', undefined, query.errors), errors: [...query.errors] };
      try {
        const objects = await registryStoredQuery(svc, call, query.request);
        return { kind: 'xml', body: buildAdhocQueryResponse(query.request.returnType, objects, query.warnings), errors: [...query.warnings] };
      } catch (error) {
        if (!(error instanceof XdsRefusal)) throw error;
        const errors = [...query.warnings, ...error.errors];
        return { kind: 'xml', body: buildAdhocQueryResponse(query.request.returnType, undefined, errors), errors };
      }
    }
    case 'ITI-41':
      return xml(await refusals(() => provideAndRegister(svc, call, request)));
    case 'ITI-42': {
      const { register } = request;
      const found = [...register.issues, ...validateSubmission(register.submission, { transaction: 'ITI-42', domain: svc.domain })];
      return xml(await refusals(() => registerSubmission(svc, call, register.submission, 'ITI-42', new Map(), found)));
    }
    case 'ITI-57':
      return xml(await refusals(() => updateDocumentSet(svc, call, request.update)));
    case 'ITI-62':
      return xml(await refusals(() => deleteDocumentSet(svc, call, request.remove)));
    case 'ITI-43': {
      let result: Awaited<ReturnType<typeof retrieveDocumentSet>>;
      try {
        result = await retrieveDocumentSet(svc, call, request.retrieve);
      } catch (error) {
        if (!(error instanceof XdsRefusal)) throw error;
        result = { documents: [], errors: [...error.errors] };
      }
      return { kind: 'mtom', message: retrieveResponseMessage(result.documents, result.errors, request.soap.messageId), errors: result.errors };
    }
  }
}
