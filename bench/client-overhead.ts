/**
 * Per-request cost of @kvx/client `kv.get` (axios on the client's node:http adapter + retry policy + circuit
 * breaker + lossless JSON + decoding) against a bare keep-alive `http.request` + `JSON.parse` of the same key
 * from the same dev agent (a child process), one request at a time. For reference it also runs the npm
 * `consul` package, axios with its own node adapter (configured as the client configured it before it had its
 * adapter), and axios on the client's adapter with no client around it (the floor axios itself sets).
 *
 * Rounds are interleaved so drift and the load of other processes affect every contender alike. CPU is this
 * process's user + system time per request (the agent's excluded), the median over the rounds; latency is the
 * median (p50) of every request's own wall-clock time. The key holds a semaphore flag value above 2^53, so the
 * client takes its lossless JSON path, as it does for lock and semaphore keys.
 *
 * The client is measured twice: compiled (packages/client/dist, what the package ships; `npm run bench` builds
 * it first, and a build older than the sources is skipped) and from source through tsx, as the tests run it —
 * tsx's name-keeping helper adds a call and an allocation to every closure the client creates.
 */
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import axios, { Axios } from 'axios';
import ConsulNpm from 'consul';
import { Consul } from '@kvx/client';
import { createNodeAdapter } from '../packages/client/src/transport/node-adapter.js';
import { spawnAgent } from '../test/support/dev-agent.js';

const ROUNDS = 10;
const REQUESTS_PER_ROUND = 2500;
const WARMUP = 2000;
const KEY = 'bench/overhead';

function bareGet(agent: http.Agent, host: string, port: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: `/v1/kv/${KEY}`, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface Samples {
  /** CPU µs per request, one figure per round. */
  cpu: number[];
  /** Wall-clock µs of every request. */
  latency: Float64Array;
  count: number;
}

async function round(fn: () => Promise<unknown>, into: Samples): Promise<void> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < REQUESTS_PER_ROUND; i++) {
    const started = performance.now();
    await fn();
    into.latency[into.count++] = (performance.now() - started) * 1000;
  }
  const used = process.cpuUsage(cpu);
  into.cpu.push((used.user + used.system) / REQUESTS_PER_ROUND);
}

const CLIENT_SRC = fileURLToPath(new URL('../packages/client/src/', import.meta.url));
const CLIENT_DIST = new URL('../packages/client/dist/', import.meta.url);

/** The compiled client, or why it is not measured: a build older than any source would measure old code. */
async function compiledClient(): Promise<typeof Consul | string> {
  let built: number;
  try {
    built = (await stat(new URL('.tsbuildinfo', CLIENT_DIST))).mtimeMs;
  } catch {
    return 'skipped: packages/client is not built (npx tsc -b packages/client)';
  }
  const sources = await readdir(CLIENT_SRC, { recursive: true });
  // Only TypeScript sources are compiled: a newer README or other file says nothing about the build.
  for (const f of sources.filter((name) => name.endsWith('.ts'))) {
    if ((await stat(`${CLIENT_SRC}${f}`)).mtimeMs > built) return `skipped: packages/client/dist is older than src/${f} (npx tsc -b packages/client)`;
  }
  const mod = (await import(new URL('index.js', CLIENT_DIST).href)) as { Consul: typeof Consul };
  return mod.Consul;
}

const median = (xs: ArrayLike<number>): number => Array.from(xs).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent();
  const { hostname, port } = new URL(agent.url);
  const kvx = new Consul({ address: agent.url, env: {} });
  const Compiled = await compiledClient();
  const kvxCompiled = typeof Compiled === 'string' ? undefined : new Compiled({ address: agent.url, env: {} });
  const npm = new ConsulNpm({ host: hostname, port: Number(port) });
  const bareAgent = new http.Agent({ keepAlive: true });
  const axiosAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  const floorAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  const axiosOwn = axios.create({
    baseURL: agent.url,
    httpAgent: axiosAgent,
    proxy: false,
    maxRedirects: 0,
    responseType: 'arraybuffer',
    transformResponse: [],
    validateStatus: () => true,
  });
  const axiosFloor = new Axios({
    adapter: createNodeAdapter({ baseURL: agent.url, httpAgent: floorAgent, responseType: 'arraybuffer', headers: { 'User-Agent': 'kvx-client' } }),
  });
  try {
    await kvx.kv.put(KEY, 'x'.repeat(256), { flags: 16210313421097356768n });
    const contenders: Record<string, { label: string; fn: () => Promise<unknown> }> = {
      bare: { label: 'bare http.request + JSON.parse', fn: () => bareGet(bareAgent, hostname, Number(port)) },
      ...(kvxCompiled ? { kvx: { label: '@kvx/client kv.get (compiled)', fn: () => kvxCompiled.kv.get(KEY) } } : {}),
      kvxSource: { label: '@kvx/client kv.get (source via tsx)', fn: () => kvx.kv.get(KEY) },
      consulNpm: { label: 'npm consul 2.0.1 kv.get', fn: () => npm.kv.get(KEY) },
      axiosFloor: { label: 'axios 1.21.1 on the kvx adapter, no client', fn: () => axiosFloor.request({ method: 'GET', url: `/v1/kv/${KEY}`, timeout: 10_000 }) },
      axiosOwn: { label: 'axios 1.21.1 with its own node adapter', fn: () => axiosOwn.request({ method: 'GET', url: `/v1/kv/${KEY}`, timeout: 10_000 }) },
    };
    const samples: Record<string, Samples> = {};
    for (const [name, c] of Object.entries(contenders)) {
      for (let i = 0; i < WARMUP; i++) await c.fn();
      samples[name] = { cpu: [], latency: new Float64Array(ROUNDS * REQUESTS_PER_ROUND), count: 0 };
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, c] of Object.entries(contenders)) await round(c.fn, samples[name]!);
    }

    const cpu = (name: string): number => median(samples[name]!.cpu);
    const p50 = (name: string): number => median(samples[name]!.latency);
    const out: Record<string, unknown> = { 'requests per contender': ROUNDS * REQUESTS_PER_ROUND };
    if (typeof Compiled === 'string') out['@kvx/client kv.get (compiled)'] = Compiled;
    for (const [name, c] of Object.entries(contenders)) {
      out[`${c.label}: client CPU µs/request`] = cpu(name);
      out[`${c.label}: latency p50 µs`] = p50(name);
    }
    for (const name of ['kvx', 'kvxSource'].filter((n) => n in contenders)) {
      const label = contenders[name]!.label.replace(' kv.get', '');
      out[`${label} / bare, CPU`] = cpu(name) / cpu('bare');
      out[`${label} / bare, latency p50`] = p50(name) / p50('bare');
      out[`${label} / npm consul, CPU`] = cpu(name) / cpu('consulNpm');
      out[`${label} / npm consul, latency p50`] = p50(name) / p50('consulNpm');
    }
    out['axios on the kvx adapter / bare, CPU'] = cpu('axiosFloor') / cpu('bare');
    out['CPU per round (µs/request), bare | kvx | npm consul'] = ['bare', 'kvx' in contenders ? 'kvx' : 'kvxSource', 'consulNpm']
      .map((n) => samples[n]!.cpu.map((x) => x.toFixed(0)).join(' '))
      .join(' | ');
    return out;
  } finally {
    bareAgent.destroy();
    axiosAgent.destroy();
    floorAgent.destroy();
    await kvx.close();
    await kvxCompiled?.close();
    await agent.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
