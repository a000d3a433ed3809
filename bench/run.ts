// Runs the benchmarks and writes bench/RESULTS.md: `npm run bench` (all), or
// `npm run bench -- relay` (those whose file or name contains a word given).
//
// A benchmark is a module in bench/ whose default export is { name, run }: run() does its
// work, cleans up after itself, and resolves with its section of RESULTS.md (markdown,
// without the heading). Adding one is adding a file; nothing here lists them.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, release, totalmem, type as osType } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Benchmark {
  name: string;
  run(): Promise<string>;
  /**
   * A check run (a benchmark's small mode, say): its section, figures or failure, is printed to
   * stdout and not written to RESULTS.md, so a check's figures never pass for the real ones.
   */
  checkOnly?: boolean;
}

const HERE = import.meta.dirname;
/** RESULTS.md lives beside the sources (bench/), not in dist/bench/. */
const RESULTS = join(HERE, '../../bench/RESULTS.md');
const NOT_BENCHMARKS = new Set(['run.js', 'lib.js']);

const isBenchmark = (value: unknown): value is Benchmark =>
  !!value && typeof value === 'object' && typeof (value as Benchmark).name === 'string' && typeof (value as Benchmark).run === 'function';

async function discover(): Promise<{ file: string; benchmark: Benchmark }[]> {
  const files = (await readdir(HERE)).filter((f) => f.endsWith('.js') && !NOT_BENCHMARKS.has(f)).sort();
  const found: { file: string; benchmark: Benchmark }[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(HERE, file)).href)) as { default?: unknown };
    if (isBenchmark(module.default)) found.push({ file: basename(file, '.js'), benchmark: module.default });
  }
  return found;
}

function machine(): string {
  const cpu = cpus();
  const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return [
    `- CPU: ${cpu[0]?.model.trim() ?? 'unknown'}, ${cpu.length} cores`,
    `- Memory: ${gib(totalmem())} (${gib(freemem())} free at the start)`,
    `- OS: ${osType()} ${release()}; Node ${process.version}`,
    // The machine may be shared: a load well above the core count slows every figure.
    `- Load average at the start (1, 5, 15 min): ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  ].join('\n');
}

/** Sections of the current RESULTS.md by heading, so a partial run keeps the others. */
async function previousSections(): Promise<Map<string, string>> {
  const sections = new Map<string, string>();
  const text = await readFile(RESULTS, 'utf8').catch(() => '');
  const parts = text.split(/^## /m).slice(1);
  for (const part of parts) {
    const heading = part.slice(0, part.indexOf('\n')).trim();
    if (heading !== 'Machine') sections.set(heading, `## ${part.trimEnd()}\n`);
  }
  return sections;
}

async function main(): Promise<void> {
  const words = process.argv.slice(2).map((w) => w.toLowerCase());
  const all = await discover();
  const chosen = words.length === 0 ? all : all.filter(({ file, benchmark }) => words.some((w) => file.includes(w) || benchmark.name.toLowerCase().includes(w)));
  if (chosen.length === 0) {
    process.stderr.write(`bench: no benchmark matches ${words.join(', ')}; there are: ${all.map((b) => b.file).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const started = new Date();
  const results = new Map<string, string>();
  let failed = false;
  for (const { file, benchmark } of chosen) {
    process.stderr.write(`bench: ${benchmark.name} (${file})...\n`);
    const t0 = performance.now();
    let body: string;
    try {
      body = (await benchmark.run()).trim();
    } catch (err) {
      failed = true;
      body = `Failed: ${err instanceof Error ? err.message : String(err)}`;
      process.stderr.write(`bench: ${benchmark.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    const took = ((performance.now() - t0) / 1000).toFixed(0);
    const section = `## ${benchmark.name}\n\n_bench/${file}.ts, run ${started.toISOString().slice(0, 10)}, took ${took} s._\n\n${body}\n`;
    if (benchmark.checkOnly) {
      process.stdout.write(`${section}\n`);
      process.stderr.write(`bench: ${benchmark.name} done in ${took} s (a check run: printed above, not written to RESULTS.md)\n`);
    } else {
      results.set(benchmark.name, section);
      process.stderr.write(`bench: ${benchmark.name} done in ${took} s\n`);
    }
  }
  if (results.size === 0) {
    process.stderr.write(`bench: ${RESULTS} left as it was (nothing but check runs)\n`);
    if (failed) process.exitCode = 1;
    return;
  }
  // Read now, not at the start: a benchmark run meanwhile (another terminal) keeps its section.
  const sections = await previousSections();
  for (const [name, section] of results) sections.set(name, section);
  const document = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${started.toISOString()}.`,
    '',
    '## Machine',
    '',
    machine(),
    '',
    ...[...sections.values()],
  ].join('\n');
  await writeFile(RESULTS, document);
  process.stderr.write(`bench: wrote ${RESULTS}\n`);
  if (failed) process.exitCode = 1;
}

await main();
