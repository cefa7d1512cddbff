// ITI-42 Register Document Set-b (registry side): a bare SubmitObjectsRequest whose
// DocumentEntries already carry hash, size and repositoryUniqueId.
import { parseSubmitObjectsRequest } from './ebrim.ts';
import type { RegistryError } from './errors.ts';
import type { RegistryObjects } from './model.ts';
import type { XmlElement } from './xml.ts';

export interface RegisterRequest {
  readonly submission: RegistryObjects;
  readonly issues: readonly RegistryError[];
}

/** Reads lcm:SubmitObjectsRequest (the SOAP Body child). */
export function parseRegisterRequest(body: XmlElement): RegisterRequest {
  const parsed = parseSubmitObjectsRequest(body);
  return { submission: parsed.objects, issues: parsed.issues };
}
