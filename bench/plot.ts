/**
 * The throughput-latency plot of a `bafomet bench` sweep, as a hand-written
 * SVG (no dependency): one JSON line per run (`bafomet bench --json`, one run
 * per client count, docs/BENCHMARKS.md), throughput on x, latency on y, a
 * curve each for p50 and p99 of the replicated service and, for the runs
 * that have one, of the baseline; each point labelled with its client count.
 * The knee of a curve is where adding clients stops adding throughput and
 * only adds latency.
 *
 * Usage:
 *   npm run bench:plot -- results.jsonl [--out results.svg] [--title "4 replicas, 1 KiB"]
 *
 * Lines that are not JSON objects with `opsPerSec` and `latencyMs` (npm's
 * banner, a failed run's message) are skipped and counted on stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** The fields of a bench report (src/bench/report.ts) the plot reads. */
interface Figures {
  readonly opsPerSec: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
}
interface Run extends Figures {
  readonly clients: number;
  readonly replicas?: number;
  readonly requestBytes?: number;
  readonly replyBytes?: number;
  readonly baseline?: Figures;
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed: boolean;
  readonly points: readonly { x: number; y: number; label: string }[];
}

const WIDTH = 800;
const HEIGHT = 500;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 50 };

function isFigures(value: unknown): value is Figures {
  if (typeof value !== 'object' || value === null) return false;
  const { opsPerSec, latencyMs } = value as Record<string, unknown>;
  if (typeof opsPerSec !== 'number' || typeof latencyMs !== 'object' || latencyMs === null) return false;
  const { p50, p99 } = latencyMs as Record<string, unknown>;
  return typeof p50 === 'number' && typeof p99 === 'number';
}

/** The runs of a JSON-lines file, by client count; how many lines were skipped. */
function parseRuns(text: string): { runs: Run[]; skipped: number } {
  const runs: Run[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (isFigures(value) && typeof (value as { clients?: unknown }).clients === 'number') runs.push(value as Run);
    else skipped++;
  }
  runs.sort((a, b) => a.clients - b.clients);
  return { runs, skipped };
}

/** Round steps (1, 2 or 5 times a power of ten) from 0 covering `max`, about `count` of them. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const out: number[] = [];
  for (let t = 0; t < max + step / 2; t += step) out.push(Number(t.toPrecision(12)));
  if ((out.at(-1) as number) < max) out.push(Number(((out.at(-1) as number) + step).toPrecision(12)));
  return out;
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The SVG of `runs`. */
function plotSvg(runs: readonly Run[], title: string): string {
  const series: Series[] = [
    { name: 'replicated p50', color: '#1f77b4', dashed: false, points: runs.map((r) => ({ x: r.opsPerSec, y: r.latencyMs.p50, label: String(r.clients) })) },
    { name: 'replicated p99', color: '#1f77b4', dashed: true, points: runs.map((r) => ({ x: r.opsPerSec, y: r.latencyMs.p99, label: String(r.clients) })) },
  ];
  const withBaseline = runs.filter((r): r is Run & { baseline: Figures } => r.baseline !== undefined);
  if (withBaseline.length > 0) {
    series.push(
      { name: 'baseline p50', color: '#d62728', dashed: false, points: withBaseline.map((r) => ({ x: r.baseline.opsPerSec, y: r.baseline.latencyMs.p50, label: String(r.clients) })) },
      { name: 'baseline p99', color: '#d62728', dashed: true, points: withBaseline.map((r) => ({ x: r.baseline.opsPerSec, y: r.baseline.latencyMs.p99, label: String(r.clients) })) },
    );
  }
  const all = series.flatMap((s) => s.points);
  const xTicks = ticks(Math.max(...all.map((p) => p.x), 0));
  const yTicks = ticks(Math.max(...all.map((p) => p.y), 0));
  const xMax = xTicks.at(-1) as number;
  const yMax = yTicks.at(-1) as number;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number => MARGIN.left + (x / xMax) * plotW;
  const sy = (y: number): number => MARGIN.top + plotH - (y / yMax) * plotH;
  const f = (n: number): string => n.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="${MARGIN.top - 15}" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const t of xTicks) {
    parts.push(`<line x1="${f(sx(t))}" y1="${MARGIN.top}" x2="${f(sx(t))}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${f(sx(t))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${t}</text>`);
  }
  for (const t of yTicks) {
    parts.push(`<line x1="${MARGIN.left}" y1="${f(sy(t))}" x2="${MARGIN.left + plotW}" y2="${f(sy(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${f(sy(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">throughput (ops/s)</text>`);
  parts.push(`<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (ms)</text>`);
  series.forEach((s, i) => {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const path = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${f(sx(p.x))},${f(sy(p.y))}`).join(' ');
    if (s.points.length > 1) parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    for (const p of s.points) {
      parts.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3.5" fill="${s.color}"/>`);
      // Client counts once per target, on the p50 curve, so the labels do not crowd.
      if (!s.dashed) parts.push(`<text x="${f(sx(p.x) + 6)}" y="${f(sy(p.y) - 6)}" fill="${s.color}" font-size="10">${escape(p.label)}</text>`);
    }
    const ly = MARGIN.top + 10 + i * 20;
    const lx = MARGIN.left + plotW + 20;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 30}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${lx + 38}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  parts.push(`<text x="${MARGIN.left + plotW + 20}" y="${MARGIN.top + 10 + series.length * 20 + 10}" font-size="10" fill="#555">labels: clients</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' }, title: { type: 'string' } }, allowPositionals: true, strict: true });
  const input = positionals[0];
  if (input === undefined || positionals.length > 1) {
    process.stderr.write('usage: npm run bench:plot -- <results.jsonl> [--out <file.svg>] [--title <text>]\n');
    process.exit(2);
  }
  const { runs, skipped } = parseRuns(readFileSync(input, 'utf8'));
  if (runs.length === 0) {
    process.stderr.write(`bench:plot: no bench results in ${input} (lines of \`bafomet bench --json\`)\n`);
    process.exit(2);
  }
  const first = runs[0] as Run;
  const title = values.title ?? `bafomet bench: n=${first.replicas ?? '?'}, requests ${first.requestBytes ?? '?'} B, replies ${first.replyBytes ?? '?'} B`;
  const out = values.out ?? input.replace(/(\.jsonl?|\.ndjson)?$/, '.svg');
  writeFileSync(out, plotSvg(runs, title));
  process.stderr.write(`wrote ${out}: ${runs.length} runs${skipped > 0 ? `, ${skipped} lines skipped` : ''}\n`);
}

main();
