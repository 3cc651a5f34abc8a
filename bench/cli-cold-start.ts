/**
 * `kvx out` cold start on an unchanged file: the cost of one Consul watch-handler invocation, from process
 * spawn to exit, with the file already up to date (the common case on a fleet). Spawns the built binary
 * (`node packages/cli/bin/kvx.js`, so run `npx tsc -b` first; `npm run bench` does) 20 times against an
 * in-process dev agent, and reports the median and p90 wall time, next to a bare `node -e ''`, a node that
 * only imports the built `@kvx/client`, and `kvx --version` (which loads no client code) for scale. The four
 * commands run round-robin so a busy machine slows them alike. Target: median < 250 ms.
 *
 *   npm run bench -- cli-cold-start
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevAgent } from '@kvx/devagent';

const BIN = fileURLToPath(new URL('../packages/cli/bin/kvx.js', import.meta.url));
const CLIENT_DIST = new URL('../packages/client/dist/index.js', import.meta.url).href;
const RUNS = 20;

function once(args: readonly string[], cwd: string): Promise<{ ms: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ ms: performance.now() - started, code, stderr }));
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

interface Series {
  median: number;
  p90: number;
}

/** Runs the commands round-robin, `RUNS` times each; the median and p90 of each, in order. */
async function interleaved(commands: readonly (readonly string[])[], cwd: string): Promise<Series[]> {
  const times: number[][] = commands.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [c, args] of commands.entries()) {
      const r = await once(args, cwd);
      if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      times[c]?.push(r.ms);
    }
  }
  return times.map((t) => {
    const sorted = [...t].sort((a, b) => a - b);
    return { median: percentile(sorted, 50), p90: percentile(sorted, 90) };
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-bench-cli-'));
  const agent = await startDevAgent({ httpAddr: '127.0.0.1:0' });
  try {
    const source = path.join(dir, 'hosts.src');
    await writeFile(source, Array.from({ length: 500 }, (_, i) => `10.0.${i >> 8}.${i & 255} host-${i}`).join('\n') + '\n');
    const consul = ['--http-addr', agent.url];
    for (const args of [['in', '-k', 'hosts', '-f', source], ['out', '-k', 'hosts', '-f', 'hosts']]) {
      const r = await once([BIN, ...args, ...consul], dir);
      if (r.code !== 0) throw new Error(`setup ${args[0]} exited ${r.code}: ${r.stderr}`);
    }
    const [out, version, client, node] = await interleaved(
      [
        [BIN, 'out', '-k', 'hosts', '-f', 'hosts', ...consul],
        [BIN, '--version'],
        ['--input-type=module', '-e', `await import(${JSON.stringify(CLIENT_DIST)})`],
        ['-e', ''],
      ],
      dir,
    );
    return {
      runs: RUNS,
      'kvx out (unchanged) median ms': out?.median,
      'kvx out (unchanged) p90 ms': out?.p90,
      'kvx --version median ms': version?.median,
      'node importing @kvx/client only, median ms': client?.median,
      'node -e "" median ms': node?.median,
      'target median ms': 250,
    };
  } finally {
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await run());
}
