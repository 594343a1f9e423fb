/**
 * `npm run bench:profile -- <dir>`: summarises the V8 CPU profiles that
 * `bafomet bench --cpu-prof <dir>` wrote, one per process and thread: what
 * each process is (replica, primary, client, baseline server, executor
 * worker, from the functions it ran), its busy time, and the share of that
 * time in each category of work (docs/BENCHMARKS.md, "Profiles"), then the
 * functions with the most self time. Start-up (module loading) is its own
 * category, so a short run's figures can leave it out.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Categories by the function a sample is in (self time), first match wins; the rest is "other". */
const CATEGORIES: readonly { readonly name: string; readonly matches: (f: CallFrame) => boolean }[] = [
  { name: 'Ed25519 sign/verify', matches: (f) => /crypto_sign|verifyOneShot|signOneShot/.test(f.functionName) },
  { name: 'socket writes (TLS)', matches: (f) => /^writeBuffer$|^writev$|^writeGeneric$/.test(f.functionName) },
  { name: 'executor hand-off (postMessage)', matches: (f) => f.functionName === 'postMessage' },
  { name: 'garbage collection', matches: (f) => f.functionName === '(garbage collector)' },
  { name: 'hashing (SHA-256)', matches: (f) => /digest|update/.test(f.functionName) && f.url === '' },
  { name: 'wire codec', matches: (f) => /\/wire\//.test(f.url) },
  { name: 'protocol core', matches: (f) => /\/core\//.test(f.url) },
  {
    name: 'start-up (module loading)',
    matches: (f) =>
      /loader|translators|module_job|package_json_reader|realm|lexer|get_format|resolve/.test(f.url) ||
      /^(compileSourceTextModule|wrapSafe|readFileUtf8|openFileHandle|internalModuleReadJSON|realpathSync|link|fstat|stat|URLContext)$/.test(f.functionName),
  },
];

function role(profile: CpuProfile, file: string): string {
  const names = new Set(profile.nodes.map((n) => `${n.callFrame.functionName} ${basename(n.callFrame.url)}`));
  // V8 names a worker thread's profile with a thread number other than 0 (CPU.<date>.<pid>.<thread>.<seq>).
  if (!/\.\d+\.0\.\d+\.cpuprofile$/.test(file)) return 'executor worker';
  if ([...names].some((n) => n.endsWith(' baseline-server.js'))) return 'baseline server';
  if ([...names].some((n) => n.endsWith(' client-load.js'))) return 'client process';
  if (names.has('propose agreement.js') && [...names].some((n) => n.startsWith('signedPrePrepare '))) return 'replica (primary)';
  if ([...names].some((n) => n.endsWith(' replica.js'))) return 'replica (backup)';
  return 'process';
}

function summarise(profile: CpuProfile): { busyMs: number; categories: Map<string, number>; functions: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of self) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
    busy += micros;
    const category = CATEGORIES.find((c) => c.matches(frame))?.name ?? 'other';
    categories.set(category, (categories.get(category) ?? 0) + micros);
    const name = `${frame.functionName || '(anonymous)'} ${basename(frame.url)}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  return { busyMs: busy / 1000, categories, functions };
}

const percent = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1).padStart(5)} %`;

async function main(): Promise<void> {
  const dir = process.argv[2];
  const top = Number(process.argv[3] ?? 12);
  if (dir === undefined) {
    process.stderr.write('usage: npm run bench:profile -- <dir written by bench --cpu-prof> [functions per process]\n');
    process.exit(2);
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const { busyMs, categories, functions } = summarise(profile);
    if (busyMs === 0) continue;
    const busy = busyMs * 1000;
    process.stdout.write(`\n${file}: ${role(profile, file)}, ${busyMs.toFixed(0)} ms busy\n`);
    for (const [name, micros] of [...categories].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${percent(micros, busy)}  ${name}\n`);
    process.stdout.write('  top functions (self time):\n');
    for (const [name, micros] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`    ${percent(micros, busy)}  ${name}\n`);
  }
}

await main();
