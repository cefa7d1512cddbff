// The one gate every FHIR read and write passes (ARCHITECTURE.md, "One gate"). The repository
// calls it; the access engine (src/access) provides the real implementation, and the gate adds
// its search constraint to the query before the store sees it, so paging, totals and includes
// never reveal a hidden resource.
import type { Condition, ResourceBody, StoredVersion } from '../store/index.ts';

/** Who is asking, and how: filled by the identity layer for each request. */
export interface RequestContext {
  /** The authenticated actor (src/access Actor), or undefined when no identity is required. */
  actor?: unknown;
  /** normal, break-the-glass or emergency-call. */
  mode?: string;
  /** Absolute base of the FHIR endpoint, for fullUrl and links. */
  baseUrl: string;
  /** Prefer: handling=strict. */
  strict: boolean;
  /** For the audit trail: the request's id and the caller's address. */
  requestId?: string;
  clientAddress?: string;
  /** Which door the request came through, for the audit trail (default 'fhir'). */
  channel?: 'fhir' | 'mhd' | 'xds' | 'api';
  /** The IHE transaction the request is (ITI-41, ITI-65…), for the audit's event type. */
  transaction?: string;
  /**
   * What the same transaction writes, by `Type/id`, for rules that depend on a resource not yet
   * stored (a Binary takes the access rules of the DocumentReference it belongs to).
   */
  pending?: ReadonlyMap<string, ResourceBody>;
}

export type GateAnswer = { allowed: true } | { allowed: false; visibleAs: 'absent' | 'forbidden'; reason: string };

export interface AccessGate {
  /**
   * Extra condition restricting a search on `types` (whose own criteria are `where`: they tell
   * which dossier is searched); 'deny' refuses the search as a whole.
   */
  searchConstraint(ctx: RequestContext, types: string[], where?: Condition): Promise<Condition | 'deny' | undefined>;
  /** May the actor read this stored version? */
  canRead(ctx: RequestContext, version: StoredVersion): Promise<GateAnswer>;
  /** May the actor write this (previous is the current version for update/delete)? */
  canWrite(ctx: RequestContext, action: 'create' | 'update' | 'delete', resource: ResourceBody | undefined, previous: StoredVersion | undefined): Promise<GateAnswer>;
  /**
   * The member references (src/access/members.ts: List entries, related documents) of a resource
   * the actor may read that name something the actor may not see: the repository leaves them out
   * of what it shows, and carries them over when the actor writes the resource back.
   */
  hiddenMembers?(ctx: RequestContext, resource: ResourceBody): Promise<ReadonlySet<string>>;
}

/** A gate that lets everything through: for deployments and tests without identities. */
export const OPEN_GATE: AccessGate = {
  async searchConstraint() {
    return undefined;
  },
  async canRead() {
    return { allowed: true };
  },
  async canWrite() {
    return { allowed: true };
  },
};
