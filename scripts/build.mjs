// `npm run build`: compiles into a fresh sibling directory and swaps it in
// for dist/ by renames, so a cluster, example or test run importing from dist/
// never sees it deleted or half written, a failed compile leaves it as it was,
// and concurrent builds (unique names per process) cannot mix their files.
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const fresh = join(root, `.dist-build-${process.pid}`);
const config = `${fresh}.json`;

// The examples import the package by its name, which resolves through
// package.json's exports into dist/. tsc maps that back to the sources only
// when dist/ is the outDir; with another outDir it would type-check against
// the previous build (or fail without one), so point the name at the sources.
writeFileSync(config, JSON.stringify({
  extends: './tsconfig.json',
  compilerOptions: { outDir: fresh, paths: { bafomet: ['./src/index.ts'] } },
}));
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { stdio: 'inherit' });
rmSync(config, { force: true });
if (tsc.status !== 0) {
  // tsc emits despite type errors; none of it may replace dist/.
  rmSync(fresh, { recursive: true, force: true });
  if (tsc.error !== undefined) console.error(tsc.error.message);
  process.exit(tsc.status || 1);
}

// Another build may put its dist/ in place between our two renames; then ours
// fails (the target is a non-empty directory) and we move that one aside too.
const old = [];
for (;;) {
  const aside = join(root, `.dist-old-${process.pid}-${old.length}`);
  try {
    renameSync(dist, aside);
    old.push(aside);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  try {
    renameSync(fresh, dist);
    break;
  } catch (error) {
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  }
}
for (const dir of old) rmSync(dir, { recursive: true, force: true });
