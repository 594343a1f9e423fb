/**
 * The protocol core is pure and synchronous (docs/DESIGN.md, layers): the
 * simulator drives it with a seeded clock, network and disk, so a stray
 * `Date.now()` or `import 'node:fs'` in src/core would silently break replay.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatViolation, purityViolations, sourceViolations } from '../support/core-purity.js';

/**
 * The test runs compiled, from dist/ or another outDir, and reads the .ts
 * sources: its source map names its own source, <root>/test/unit/….ts.
 */
function repoRoot(): string {
  const compiled = fileURLToPath(import.meta.url);
  const map = JSON.parse(readFileSync(`${compiled}.map`, 'utf8')) as { sources: string[] };
  const source = map.sources[0];
  assert.ok(source !== undefined, `${compiled}.map names no source`);
  return resolve(dirname(compiled), dirname(source), '../..');
}

/** The offences found in one source text, as `line: offence`. */
const offences = (text: string, fileName = 'probe.ts'): string[] =>
  sourceViolations(fileName, text).map((v) => `${v.line}: ${v.offence}`);

describe('core purity', () => {
  it('src/core imports nothing outside itself and touches no world global', () => {
    const violations = purityViolations(repoRoot());
    assert.equal(violations.length, 0, `src/core must stay pure (docs/DESIGN.md):\n${violations.map(formatViolation).join('\n')}`);
  });

  it('catches an impure source, naming file and line', () => {
    assert.deepEqual(sourceViolations('clock.ts', "import fs from 'node:fs';\nconst t = Date.now();\n").map(formatViolation), [
      "clock.ts:1: imports 'node:fs'",
      'clock.ts:2: uses Date',
    ]);
  });

  it('allows only relative imports that stay inside src/core', () => {
    const text = [
      "import 'pino';",
      "export * from '../runtime/replica.js';",
      "export { x } from 'node:path';",
      "import type { Socket } from 'node:net';",
      "type Stats = import('node:fs').Stats;",
      "const os = await import('node:os');",
      'const any = await import(name);',
      "import cp = require('node:child_process');",
      "import { abs } from '/work/src/core/ids.js';",
      "import { ids } from './ids.js';",
      "import { back } from '../core/ids.js';",
      "export { q } from './sub/../quorum.js';",
    ].join('\n');
    assert.deepEqual(offences(text), [
      "1: imports 'pino'",
      "2: imports '../runtime/replica.js'",
      "3: imports 'node:path'",
      "4: imports 'node:net'",
      "5: imports 'node:fs'",
      "6: imports 'node:os'",
      '7: imports a computed specifier',
      "8: imports 'node:child_process'",
      "9: imports '/work/src/core/ids.js'",
    ]);
    assert.deepEqual(offences("import { ids } from '../ids.js';", 'sub/probe.ts'), []);
    assert.deepEqual(offences("import { up } from '../../ids.js';", 'sub/probe.ts'), ["1: imports '../../ids.js'"]);
  });

  it('catches every world global used as a value', () => {
    const names = [
      'Date', 'performance', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval',
      'clearImmediate', 'queueMicrotask', 'process', 'crypto', 'fetch', 'require', 'globalThis', 'global',
      'console', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'Buffer',
    ];
    assert.deepEqual(offences(names.map((name) => `use(${name});`).join('\n')), names.map((name, i) => `${i + 1}: uses ${name}`));
    const text = [
      'const r = Math.random();',
      "const s = Math['random']();",
      'class Clock extends Date {}',
      'const o = { console };',
      'export { process };',
      'export { fetch as get };',
      'declare const crypto: unknown; use(crypto);',
      'globalThis.Date.now();',
      'const { now } = Date;',
    ].join('\n');
    assert.deepEqual(offences(text), [
      '1: uses Math.random',
      '2: uses Math.random',
      '3: uses Date',
      '4: uses console',
      '5: uses process',
      '6: uses fetch',
      '7: uses crypto',
      '8: uses globalThis',
      '9: uses Date',
    ]);
  });

  it('ignores property names, local declarations, imports of core modules and types', () => {
    const text = [
      "import { clock as Date } from './clock.js';",
      'const t = Date.now();',
      'interface Rules { readonly crypto: unknown; readonly fetch: unknown }',
      'function sign(crypto: { sign(): void }, x: { process: number }): number { crypto.sign(); return x.process; }',
      'const o = { fetch: 1, setTimeout() {} };',
      'const console = 1; const p = { console };',
      'const { process: proc } = o2;',
      'let d: SharedArrayBuffer | undefined; type P = typeof process; const b = new Uint8Array(1) as unknown as Buffer;',
      'const f = Math.floor(1.5);',
      'class C { performance = 1; process(): void {} }',
      'enum E { Atomics }',
      'process: for (;;) break process;',
      'export { o as process };',
      'function g(): void { const Math = { random: () => 4 }; Math.random(); }',
    ].join('\n');
    assert.deepEqual(offences(text), []);
  });
});
