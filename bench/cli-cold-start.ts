/**
 * `kvx out` cold start on an unchanged file: the cost of one Consul watch-handler invocation, from process
 * spawn to exit, with the file already up to date (the common case on a fleet). Spawns the built binary
 * (`node packages/cli/bin/kvx.js`, which loads the bundle dist/kvx.mjs: run `npm run build` first) `RUNS` times
 * against an in-process dev agent, and reports the median and p90 wall time, next to `kvx --version` (no
 * client code runs), a bare `node -e ''`, and a node that only imports the built, unbundled `@kvx/client` (what
 * a library user's process pays) for scale. The commands run round-robin so a busy machine slows them alike.
 * Target: `kvx out` median < 250 ms.
 *
 *   npm run bench -- cli-cold-start
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevAgent } from '@kvx/devagent';
import { nearestRank } from './support/measure.js';

const BIN = fileURLToPath(new URL('../packages/cli/bin/kvx.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../packages/cli/dist/kvx.mjs', import.meta.url));
const CLIENT_DIST = new URL('../packages/client/dist/index.js', import.meta.url).href;
const RUNS = 30;

/**
 * Fails when the bundle predates the compiled code it is made of: `tsc -b` alone leaves the old bundle in
 * place, and measuring it would report figures for code that is no longer there.
 */
async function assertBundleFresh(): Promise<void> {
  const bundled = (await stat(BUNDLE).catch(() => undefined))?.mtimeMs;
  if (bundled === undefined) throw new Error(`${BUNDLE} is missing: run npm run build`);
  for (const pkg of ['client', 'cli']) {
    const dir = fileURLToPath(new URL(`../packages/${pkg}/dist/`, import.meta.url));
    for (const entry of await readdir(dir, { recursive: true })) {
      if (!entry.endsWith('.js')) continue;
      if ((await stat(path.join(dir, entry))).mtimeMs > bundled) {
        throw new Error(`${BUNDLE} is older than packages/${pkg}/dist/${entry}: run npm run build`);
      }
    }
  }
}

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
    return { median: nearestRank(sorted, 50), p90: nearestRank(sorted, 90) };
  });
}

export async function run(): Promise<Record<string, unknown>> {
  await assertBundleFresh();
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
    const [out, version, node, client] = await interleaved(
      [
        [BIN, 'out', '-k', 'hosts', '-f', 'hosts', ...consul],
        [BIN, '--version'],
        ['-e', ''],
        ['--input-type=module', '-e', `await import(${JSON.stringify(CLIENT_DIST)})`],
      ],
      dir,
    );
    return {
      runs: RUNS,
      'kvx out (unchanged) median ms': out?.median,
      'kvx out (unchanged) p90 ms': out?.p90,
      'kvx --version median ms': version?.median,
      'kvx --version p90 ms': version?.p90,
      'node -e "" median ms': node?.median,
      'node -e "" p90 ms': node?.p90,
      'node importing the unbundled @kvx/client, median ms': client?.median,
      'target median ms': 250,
      'load average (1 min) at the end': os.loadavg()[0],
    };
  } finally {
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await run());
}
