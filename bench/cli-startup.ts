// How long the CLI takes to answer `--help`: `codeshare --help` and every command's own
// `--help`, as a user's shell runs them (a fresh `node bin/codeshare.js` process each time).
// The commands are read from cli/program.ts's buildProgram(), so a new command is measured
// without touching this file. A bare `node -e ''` is the floor no CLI can go under.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import type { Command } from 'commander';
import { buildProgram } from '../cli/program.js';
import { CLI_ENTRY, median, ms, table, tempDir, Cleanup, percentile } from './lib.js';

const RUNS = Number(process.env.BENCH_CLI_RUNS) || 10;
const AIM_MS = 300;

/** Every visible command path, parents before children: [], ['server'], ['auth'], ['auth', 'login'], ... */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  const paths: string[][] = [prefix];
  for (const sub of command.commands) {
    if ((sub as unknown as { _hidden?: boolean })._hidden) continue;
    paths.push(...commandPaths(sub, [...prefix, sub.name()]));
  }
  return paths;
}

function timeRun(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const elapsed = performance.now() - started;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

export async function runCliStartup(): Promise<string> {
  const cleanup = new Cleanup();
  try {
    // An empty home: no stored server or token changes what --help does.
    const home = await tempDir(cleanup, 'cli-home');
    const env = { PATH: process.env.PATH ?? '', HOME: home, CODESHARE_HOME: home };
    const loadBefore = loadavg()[0]!;
    const measure = async (args: string[]) => {
      await timeRun(args, env); // warm the file cache; not counted
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push(await timeRun(args, env));
      return times;
    };
    const floor = await measure(['-e', '']);
    const rows: { command: string; times: number[] }[] = [];
    for (const path of commandPaths(buildProgram())) {
      rows.push({ command: ['codeshare', ...path, '--help'].join(' '), times: await measure([CLI_ENTRY, ...path, '--help']) });
    }
    const loadAfter = loadavg()[0]!;
    const medians = rows.map((r) => median(r.times));
    const over = rows.filter((_, i) => medians[i]! >= AIM_MS);
    const slowest = rows[medians.indexOf(Math.max(...medians))]!;
    return [
      `Wall time of a fresh \`node bin/codeshare.js ... --help\` process (spawn to exit), ${RUNS} runs each after one uncounted warm-up run; ${rows.length} commands, read from buildProgram(). 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after.`,
      '',
      table(
        ['command', 'median', 'over the floor', 'p90', 'min', 'max'],
        [
          ["`node -e ''` (the floor: Node.js itself)", ms(median(floor)), '-', ms(percentile(floor, 90)), ms(Math.min(...floor)), ms(Math.max(...floor))],
          ...rows.map((r) => [
            `\`${r.command}\``,
            ms(median(r.times)),
            ms(median(r.times) - median(floor)),
            ms(percentile(r.times, 90)),
            ms(Math.min(...r.times)),
            ms(Math.max(...r.times)),
          ]),
        ],
      ),
      '',
      over.length === 0
        ? `Every command's help answers in under ${AIM_MS} ms (median); the slowest is \`${slowest.command}\` at ${ms(median(slowest.times))}, of which ~${ms(median(floor))} is Node.js starting.`
        : `**${over.length} commands at or over ${AIM_MS} ms** (median): ${over.map((r) => `\`${r.command}\``).join(', ')}.`,
    ].join('\n');
  } finally {
    await cleanup.runAll();
  }
}

export default { name: 'CLI start-up (--help)', run: runCliStartup };
