/**
 * The top of a V8 CPU profile (`--cpu-prof` output, e.g. from `npm run bench -- --cpu-prof DIR`):
 * self and inclusive time per function, in % of the samples, optionally only over a time
 * window so that start-up and set-up do not dilute the load.
 *
 *   node --import tsx scripts/cpu-profile-top.ts FILE.cpuprofile [--from 40] [--to 15] [--top 40]
 *     [--under 'add node/mempool.ts'] [--gap-ms 50]
 *
 * --from / --to: seconds before the end of the profile (the window is [end-from, end-to]);
 * without them the whole profile counts. Inclusive time counts a function once per sample
 * however often it recurs on the stack. --under LABEL: only the time spent inside the first
 * function whose label (as printed) starts with LABEL, and only its callees, so one can read
 * what a hot function is made of; percentages stay of all samples in the window.
 * --gap-ms G (default 50): a sample followed by no other for longer than G stands for time when
 * the profiler could not sample (the process was descheduled, e.g. on a busy shared host), not
 * for its function: that time is counted as `(no samples: stalled)` rather than charged to
 * whatever frame happened to be on the stack (a single 400 ms stall inside one hash call
 * otherwise made it look like 2% of a lightly loaded node).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    top: { type: 'string', default: '40' },
    under: { type: 'string' },
    'gap-ms': { type: 'string', default: '50' },
  },
});
const file = positionals[0];
if (!file) {
  console.error('usage: cpu-profile-top.ts FILE.cpuprofile [--from S] [--to S] [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const fromS = values.from === undefined ? Number.POSITIVE_INFINITY : Number(values.from);
const toS = values.to === undefined ? 0 : Number(values.to);
const top = Number(values.top);
const under = values.under;
const gapUs = Number(values['gap-ms']) * 1000;
const STALLED = -1;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: ProfileNode) => {
  const where = n.callFrame.url.split('/').slice(-2).join('/');
  return `${n.callFrame.functionName || '(anonymous)'} ${where}${where ? `:${n.callFrame.lineNumber + 1}` : ''}`;
};

// Sample i was taken at startTime + sum(timeDeltas[0..i]); it stands for the time until the next.
const selfUs = new Map<number, number>();
let totalUs = 0;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i] ?? 0;
  const age = (profile.endTime - at) / 1e6;
  if (age > fromS || age < toS) continue;
  const span = profile.timeDeltas[i + 1] ?? 0;
  const id = span > gapUs ? STALLED : profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + span);
  totalUs += span;
}

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const stack: string[] = [];
  if (id === STALLED) stack.push('(no samples: stalled)', label(profile.nodes[0]!));
  for (let cur: number | undefined = id; cur !== undefined && cur !== STALLED; cur = parent.get(cur)) {
    stack.push(label(byId.get(cur)!));
  }
  if (under !== undefined) {
    // Keep the frames from the outermost match down to the sampled function.
    const at = stack.findLastIndex((k) => k.startsWith(under));
    if (at < 0) continue;
    stack.length = at + 1;
  }
  const key = stack[0]!;
  self.set(key, (self.get(key) ?? 0) + us);
  const seen = new Set<string>();
  for (const k of stack) {
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}

const print = (title: string, m: Map<string, number>) => {
  console.log(title);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / totalUs).toFixed(1).padStart(6)}  ${k}`);
  }
};
console.log(`${(totalUs / 1e6).toFixed(1)} s of samples`);
print('-- self, % of samples', self);
print('-- inclusive, % of samples', inclusive);
