// What a client receives: resources trimmed by _summary / _elements, and the Bundles of search
// and history (https://hl7.org/fhir/R4/search.html#summary, #elements; bundle.html).
import type { ResourceBody, StoredVersion } from '../store/index.ts';
import { readR4Definition } from './definitions.ts';
import type { OperationOutcomeIssue } from './operation-outcome.ts';

interface StructureDefinitions {
  entry: { resource: { resourceType: string; id: string; kind?: string; snapshot?: { element: { path: string; isSummary?: boolean; min?: number }[] } } }[];
}

let summaryByType: Map<string, { summary: Set<string>; mandatory: Set<string> }> | undefined;

/** Top-level elements of a type marked isSummary, and those with min > 0 (kept by _elements). */
function elementSets(type: string): { summary: Set<string>; mandatory: Set<string> } {
  if (!summaryByType) {
    summaryByType = new Map();
    const bundle = readR4Definition<StructureDefinitions>('profiles-resources.json');
    for (const { resource } of bundle.entry) {
      if (resource.resourceType !== 'StructureDefinition' || resource.kind !== 'resource' || !resource.snapshot) continue;
      const summary = new Set<string>();
      const mandatory = new Set<string>();
      for (const e of resource.snapshot.element) {
        const parts = e.path.split('.');
        if (parts.length !== 2) continue;
        const name = parts[1].replace('[x]', '');
        if (e.isSummary) summary.add(name);
        if ((e.min ?? 0) > 0) mandatory.add(name);
      }
      summaryByType.set(resource.id, { summary, mandatory });
    }
  }
  return summaryByType.get(type) ?? { summary: new Set(), mandatory: new Set() };
}

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
/** Where Carnet keeps internal notes inside meta (e.g. a Binary's blob); never shown. */
export const INTERNAL_EXTENSION_PREFIX = 'urn:carnet:internal:';

/** The resource as clients see it: internal meta notes removed. */
export function publicResource(resource: ResourceBody): ResourceBody {
  const meta = resource.meta as { extension?: { url: string }[] } | undefined;
  if (!meta?.extension?.some((e) => e.url.startsWith(INTERNAL_EXTENSION_PREFIX))) return resource;
  const extension = meta.extension.filter((e) => !e.url.startsWith(INTERNAL_EXTENSION_PREFIX));
  const { extension: _dropped, ...restMeta } = meta;
  return { ...resource, meta: extension.length ? { ...restMeta, extension } : restMeta };
}

function keep(resource: ResourceBody, wanted: (name: string) => boolean): ResourceBody {
  const out: ResourceBody = { resourceType: resource.resourceType };
  for (const [key, value] of Object.entries(resource)) {
    const name = key.startsWith('_') ? key.slice(1) : key;
    // choice elements: valueQuantity → value
    const base = name.replace(/[A-Z].*$/, '');
    if (key === 'resourceType' || key === 'id' || key === 'meta' || wanted(name) || wanted(base)) out[key] = value;
  }
  const meta = (out.meta ?? {}) as { tag?: unknown[] };
  out.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return out;
}

export interface Shape {
  summary?: 'true' | 'text' | 'data' | 'count' | 'false';
  elements?: string[];
}

export function shapeResource(resource: ResourceBody, shape: Shape): ResourceBody {
  const r = publicResource(resource);
  const { summary, mandatory } = elementSets(r.resourceType);
  if (shape.elements?.length) {
    const wanted = new Set(shape.elements);
    return keep(r, (n) => wanted.has(n) || mandatory.has(n));
  }
  switch (shape.summary) {
    case 'true':
      return keep(r, (n) => summary.has(n));
    case 'text':
      return keep(r, (n) => n === 'text' || mandatory.has(n));
    case 'data': {
      const { text: _text, ...rest } = r;
      return keep(rest as ResourceBody, () => true);
    }
    default:
      return r;
  }
}

export interface BundleEntryInput {
  version: StoredVersion;
  mode?: 'match' | 'include';
}

export function fullUrl(baseUrl: string, v: { type: string; id: string }): string {
  return `${baseUrl}/${v.type}/${v.id}`;
}

export function searchsetBundle(options: {
  baseUrl: string;
  selfUrl: string;
  nextUrl?: string;
  total?: number;
  matches: StoredVersion[];
  included: StoredVersion[];
  shape: Shape;
  warnings: OperationOutcomeIssue[];
}): Record<string, unknown> {
  const entry: Record<string, unknown>[] = [];
  if (options.shape.summary !== 'count') {
    for (const v of options.matches) entry.push({ fullUrl: fullUrl(options.baseUrl, v), resource: shapeResource(v.resource as ResourceBody, options.shape), search: { mode: 'match' } });
    for (const v of options.included) entry.push({ fullUrl: fullUrl(options.baseUrl, v), resource: shapeResource(v.resource as ResourceBody, options.shape), search: { mode: 'include' } });
  }
  if (options.warnings.length) {
    entry.push({ resource: { resourceType: 'OperationOutcome', issue: options.warnings }, search: { mode: 'outcome' } });
  }
  return {
    ...bundleHead('searchset'),
    ...(options.total !== undefined ? { total: options.total } : {}),
    link: pageLinks(options),
    entry,
  };
}

/** A new Bundle's opening: its own id, when it was made, its type. */
function bundleHead(type: 'searchset' | 'history'): Record<string, unknown> {
  return { resourceType: 'Bundle', id: crypto.randomUUID(), meta: { lastUpdated: new Date().toISOString() }, type };
}

/** self, and next when there is a next page. */
function pageLinks(options: { selfUrl: string; nextUrl?: string }): { relation: string; url: string }[] {
  return [{ relation: 'self', url: options.selfUrl }, ...(options.nextUrl ? [{ relation: 'next', url: options.nextUrl }] : [])];
}

export function historyBundle(options: { baseUrl: string; selfUrl: string; nextUrl?: string; entries: StoredVersion[] }): Record<string, unknown> {
  return {
    ...bundleHead('history'),
    link: pageLinks(options),
    entry: options.entries.map((v) => ({
      fullUrl: fullUrl(options.baseUrl, v),
      ...(v.resource ? { resource: publicResource(v.resource) } : {}),
      request: { method: v.deleted ? 'DELETE' : v.versionId === 1 ? 'POST' : 'PUT', url: v.versionId === 1 && !v.deleted ? v.type : `${v.type}/${v.id}` },
      response: { status: v.deleted ? '204' : v.versionId === 1 ? '201' : '200', etag: `W/"${v.versionId}"`, lastModified: v.lastUpdated },
    })),
  };
}
