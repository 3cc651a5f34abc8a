/**
 * Per-request cost of @kvx/client `kv.get` (axios on the client's undici adapter + retry policy + circuit
 * breaker + lossless JSON + decoding) against a bare keep-alive `http.request` + `JSON.parse` of the same key
 * from the same dev agent, one request at a time. For reference it also runs the npm `consul` package, axios
 * with its own node adapter (configured as the client configured it before it had its adapter), axios on the
 * client's adapter with no client around it (the floor axios itself sets), and the client's undici connection
 * pool driven directly (the floor of the HTTP exchange the client is built on).
 *
 * The client is measured as it ships: compiled (packages/client/dist), in a plain `node` child
 * (support/overhead-worker.js) with no tsx and no export conditions, since `bench/run.ts` runs under tsx,
 * whose loader would also transform dist's JavaScript (its name-keeping helper adds a call and an allocation to
 * every closure) and tax every contender loaded here. The dev agent runs in another child, so neither this
 * process nor the agent adds CPU to the figures. A build older than the sources is refused (`npm run bench`
 * builds first).
 *
 * Rounds are interleaved inside the worker so drift and the load of other processes affect every contender
 * alike. CPU is the worker's user + system time per request, the median over the rounds; latency is the median
 * (p50) of every request's own wall-clock time. The key holds a semaphore flag value above 2^53, so the client
 * takes its lossless JSON path, as it does for lock and semaphore keys.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnAgent } from '../test/support/dev-agent.js';
import { assertFreshBuild, plainNodeEnv } from './support/fresh-build.js';
import { median } from './support/measure.js';

const WORKER = fileURLToPath(new URL('support/overhead-worker.js', import.meta.url));

interface WorkerReport {
  requests: number;
  /** Node flags and NODE_OPTIONS the worker ran with: empty when it ran as plain `node`. */
  nodeFlags: string;
  contenders: Record<string, { label: string; /** CPU µs per request, one per round. */ cpu: number[]; /** µs. */ p50: number }>;
}

/** Runs the worker with plain `node` (no inherited --import/--conditions, no NODE_OPTIONS) and parses its report. */
function runWorker(agentUrl: string): Promise<WorkerReport> {
  const child = spawn(process.execPath, [WORKER, agentUrl], { env: plainNodeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) reject(new Error(`overhead worker exited (${code ?? signal}): ${err.trim()}`));
      else resolve(JSON.parse(out) as WorkerReport);
    });
  });
}

export async function run(): Promise<Record<string, unknown>> {
  await assertFreshBuild('client', 'devagent');
  const agent = await spawnAgent([], { compiled: true });
  let report: WorkerReport;
  try {
    report = await runWorker(agent.url);
  } finally {
    await agent.stop();
  }
  const c = report.contenders;
  const cpu = (name: string): number => median(c[name]!.cpu);
  const p50 = (name: string): number => c[name]!.p50;
  const out: Record<string, unknown> = {
    'requests per contender': report.requests,
    'measured in': `plain node ${process.version}${report.nodeFlags ? ` with ${report.nodeFlags}` : ', no loader or flags'}`,
  };
  for (const [name, { label }] of Object.entries(c)) {
    out[`${label}: client CPU µs/request`] = cpu(name);
    out[`${label}: latency p50 µs`] = p50(name);
  }
  out['@kvx/client (compiled) / bare, CPU'] = cpu('kvx') / cpu('bare');
  out['@kvx/client (compiled) / bare, latency p50'] = p50('kvx') / p50('bare');
  out['@kvx/client (compiled) / npm consul, CPU'] = cpu('kvx') / cpu('consulNpm');
  out['@kvx/client (compiled) / npm consul, latency p50'] = p50('kvx') / p50('consulNpm');
  out['axios on the kvx adapter / bare, CPU'] = cpu('axiosFloor') / cpu('bare');
  out['undici dispatch / bare, CPU'] = cpu('dispatch') / cpu('bare');
  out['CPU per round (µs/request), bare | kvx | npm consul'] = ['bare', 'kvx', 'consulNpm']
    .map((n) => c[n]!.cpu.map((x) => x.toFixed(0)).join(' '))
    .join(' | ');
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
