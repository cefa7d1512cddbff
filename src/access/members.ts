// Resources that name other resources as their members: a List (SubmissionSet, Folder) its
// entries, a DocumentReference the documents it replaces or transforms. A reader who may not see
// a member must not learn its id from the resource that holds it, and a writer who may not see
// it must not remove it by leaving out what they were never shown. Pure: the caller says which
// references are hidden.

/** Where members are named, per resource type: the array element and the reference inside it. */
export const MEMBER_ELEMENTS: Readonly<Record<string, { readonly array: string; readonly reference: string }>> = {
  List: { array: 'entry', reference: 'item' },
  DocumentReference: { array: 'relatesTo', reference: 'target' },
};

type Body = { resourceType?: unknown } & Record<string, unknown>;

function elementsOf(resource: Body): { array: string; items: Record<string, unknown>[]; refOf: (item: Record<string, unknown>) => string | undefined } | undefined {
  const where = typeof resource.resourceType === 'string' ? MEMBER_ELEMENTS[resource.resourceType] : undefined;
  const items = where ? resource[where.array] : undefined;
  if (!where || !Array.isArray(items)) return undefined;
  return {
    array: where.array,
    items: items.filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null),
    refOf: (item) => {
      const ref = (item[where.reference] as { reference?: unknown } | undefined)?.reference;
      return typeof ref === 'string' ? ref : undefined;
    },
  };
}

/** The references naming the resource's members, as written (relative or absolute). */
export function memberReferences(resource: Body): string[] {
  const found = elementsOf(resource);
  return found ? found.items.map(found.refOf).filter((r): r is string => r !== undefined) : [];
}

/** The resource without the members whose reference is hidden (the same object when none is). */
export function withoutHiddenMembers<T extends Body>(resource: T, hidden: ReadonlySet<string>): T {
  const found = elementsOf(resource);
  if (!found || hidden.size === 0) return resource;
  const kept = found.items.filter((item) => {
    const ref = found.refOf(item);
    return ref === undefined || !hidden.has(ref);
  });
  if (kept.length === found.items.length) return resource;
  const copy: Record<string, unknown> = { ...resource };
  if (kept.length) copy[found.array] = kept;
  else delete copy[found.array];
  return copy as T;
}

/**
 * The new content of a resource, with the previous version's hidden members carried over: a
 * writer shown the resource without them keeps them by not naming them. A hidden member the new
 * content names itself is left as written.
 */
export function keepHiddenMembers<T extends Body>(next: T, previous: Body, hidden: ReadonlySet<string>): T {
  const before = elementsOf(previous);
  if (!before || hidden.size === 0) return next;
  const where = MEMBER_ELEMENTS[previous.resourceType as string];
  if (next.resourceType !== previous.resourceType) return next;
  const after = elementsOf(next);
  const named = new Set(after ? after.items.map(after.refOf) : []);
  const carried = before.items.filter((item) => {
    const ref = before.refOf(item);
    return ref !== undefined && hidden.has(ref) && !named.has(ref);
  });
  if (carried.length === 0) return next;
  return { ...next, [where.array]: [...(after?.items ?? []), ...carried] };
}
