// Conditional read (https://hl7.org/fhir/R4/http.html#cread): a client that holds a version
// sends its ETag in If-None-Match, or its date in If-Modified-Since, and gets 304 Not Modified
// without a body while it is still current. If-None-Match wins when both are sent (RFC 9110 13.2.2).

/** The version numbers an If-None-Match header names ('*' for any); weak and strong tags alike. */
function taggedVersions(header: string): Set<string> {
  return new Set(header.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1')).filter(Boolean));
}

/** Whether the current version (`versionId`, `lastUpdated` ISO instant) is what the client already has. */
export function notModified(headers: { 'if-none-match'?: string | string[]; 'if-modified-since'?: string | string[] }, versionId: number, lastUpdated: string): boolean {
  const noneMatch = headers['if-none-match'];
  if (typeof noneMatch === 'string' && noneMatch.trim()) {
    const tags = taggedVersions(noneMatch);
    return tags.has('*') || tags.has(String(versionId));
  }
  const since = headers['if-modified-since'];
  if (typeof since === 'string') {
    const date = Date.parse(since);
    // HTTP dates have whole seconds: compare at that precision.
    return !Number.isNaN(date) && Math.floor(Date.parse(lastUpdated) / 1000) <= Math.floor(date / 1000);
  }
  return false;
}
