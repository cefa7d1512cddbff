// Reads a V8 CPU profile (node --cpu-prof) and tells where the time went: the functions with the
// most self time, the functions of Carnet's own code (src/) with the most total time (their
// callees included), and the share of time per package. Usage:
//   node scripts/bench/profile.ts <file.cpuprofile> [top]
import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Frame {
  /** file:function:line, the file relative to the repository (or the package / node: module). */
  frame: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Busy time (not idle), in ms. */
  busyMs: number;
  self: Frame[];
  /** Carnet's own functions (src/), by total time including callees. */
  ownTotal: Frame[];
  /** Self time per place: src/<module>, a package name, node internals, GC. */
  byPlace: Frame[];
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function fileOf(url: string): string {
  if (!url) return '';
  if (url.startsWith('file://')) {
    const path = relative(ROOT, fileURLToPath(url)).split(sep).join('/');
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
    return pkg ? `${pkg[1]}:${pkg[2]}` : path;
  }
  return url;
}

function labelOf(frame: CallFrame): string {
  const file = fileOf(frame.url);
  const name = frame.functionName || '(anonymous)';
  return file ? `${file}:${name}:${frame.lineNumber + 1}` : name;
}

function placeOf(frame: CallFrame): string {
  const file = fileOf(frame.url);
  if (!file) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (file.startsWith('wasm://')) return '(wasm)';
  if (file.startsWith('src/')) return file.split('/').slice(0, 2).join('/');
  if (file.startsWith('node:') || !file.includes(':') && !file.includes('/')) return '(node internals)';
  if (file.includes(':') && !file.startsWith('node:')) return `package ${file.split(':')[0]}`;
  return file.split('/').slice(0, 2).join('/');
}

function top(map: Map<string, number>, n: number, total: number): Frame[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([frame, us]) => ({ frame, ms: Math.round(us / 1000), percent: Math.round((1000 * us) / total) / 10 }));
}

/**
 * `lastSeconds`: only the samples of the profile's last seconds (the measured run, not the
 * server's start-up, which the profile also holds).
 */
export function summariseProfile(file: string, n = 15, options: { lastSeconds?: number } = {}): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const from = options.lastSeconds === undefined ? -Infinity : profile.endTime - options.lastSeconds * 1e6;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const perNode = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= from) perNode.set(id, (perNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });

  const self = new Map<string, number>();
  const places = new Map<string, number>();
  const own = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of perNode) {
    const node = byId.get(id) as ProfileNode;
    total += us;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const label = labelOf(node.callFrame);
    self.set(label, (self.get(label) ?? 0) + us);
    const place = placeOf(node.callFrame);
    places.set(place, (places.get(place) ?? 0) + us);
    // Total time of Carnet's functions: each function counted once per sample, recursion or not.
    const seen = new Set<string>();
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const frame = (byId.get(up) as ProfileNode).callFrame;
      if (!fileOf(frame.url).startsWith('src/')) continue;
      const ownLabel = labelOf(frame);
      if (seen.has(ownLabel)) continue;
      seen.add(ownLabel);
      own.set(ownLabel, (own.get(ownLabel) ?? 0) + us);
    }
  }
  const busy = total - idle;
  return { totalMs: Math.round(total / 1000), busyMs: Math.round(busy / 1000), self: top(self, n, busy), ownTotal: top(own, n, busy), byPlace: top(places, n, busy) };
}

export function formatProfile(summary: ProfileSummary): string {
  const rows = (title: string, frames: Frame[]) => [`  ${title}`, ...frames.map((f) => `    ${String(f.percent).padStart(5)}%  ${String(f.ms).padStart(6)} ms  ${f.frame}`)];
  return [
    `  busy ${summary.busyMs} ms of ${summary.totalMs} ms profiled (percentages are of busy time)`,
    ...rows('self time by place:', summary.byPlace.slice(0, 10)),
    ...rows('top functions by self time:', summary.self),
    ...rows("Carnet's functions by total time (callees included):", summary.ownTotal),
  ].join('\n');
}

if (import.meta.main) {
  // node scripts/bench/profile.ts <file> [top] [last seconds]
  const summary = summariseProfile(process.argv[2], Number(process.argv[3] ?? 20), { lastSeconds: process.argv[4] ? Number(process.argv[4]) : undefined });
  console.log(formatProfile(summary));
}
