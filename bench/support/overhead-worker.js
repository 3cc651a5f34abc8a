/**
 * The measuring half of bench/client-overhead.ts. It is plain JavaScript run by plain `node` (no tsx, no export
 * conditions), so the client is measured as the package ships: `packages/client/dist`, loaded the way a user's
 * process loads it, with no loader transforming any module of any contender.
 *
 *   node bench/support/overhead-worker.js AGENT_URL
 *
 * Writes the key, then runs every contender in interleaved rounds in this one process, so drift and the load of
 * other processes affect each alike, and prints one JSON line on stdout:
 * `{ requests, nodeFlags, contenders: { NAME: { label, cpu: [µs/request per round], p50: µs } } }`.
 * CPU is this process's user + system time per request; the agent runs elsewhere, so its CPU is not included.
 */
import http from 'node:http';
import axios, { Axios } from 'axios';
import ConsulNpm from 'consul';
import { Consul } from '../../packages/client/dist/index.js';
import { ConnectionPool } from '../../packages/client/dist/transport/connection-pool.js';
import { createUndiciAdapter } from '../../packages/client/dist/transport/undici-adapter.js';

const ROUNDS = 10;
const REQUESTS_PER_ROUND = 2500;
const WARMUP = 2000;
const KEY = 'bench/overhead';
// A semaphore flag value above 2^53, so the client takes its lossless JSON path, as it does for lock keys.
const FLAGS = 16210313421097356768n;

const agentUrl = process.argv[2];
if (!agentUrl) throw new Error('usage: overhead-worker.js AGENT_URL');
const { hostname, port } = new URL(agentUrl);

/** A keep-alive GET of the key, its body parsed with JSON.parse: the least any client can do. */
function bareGet(agent) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port: Number(port), path: `/v1/kv/${KEY}`, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function round(fn, into) {
  const cpu = process.cpuUsage();
  for (let i = 0; i < REQUESTS_PER_ROUND; i++) {
    const started = performance.now();
    await fn();
    into.latency[into.count++] = (performance.now() - started) * 1000;
  }
  const used = process.cpuUsage(cpu);
  into.cpu.push((used.user + used.system) / REQUESTS_PER_ROUND);
}

const median = (xs) => Array.from(xs).sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const kvx = new Consul({ address: agentUrl, env: {} });
const npm = new ConsulNpm({ host: hostname, port: Number(port) });
const bareAgent = new http.Agent({ keepAlive: true });
const axiosAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
const floorPool = new ConnectionPool(agentUrl, { keepAliveTimeout: 4000, connectTimeout: 10_000, connect: {} });
const dispatchPool = new ConnectionPool(agentUrl, { keepAliveTimeout: 4000, connectTimeout: 10_000, connect: {} });
// axios with its own node adapter, configured as the client configured it before it had its adapter.
const axiosOwn = axios.create({
  baseURL: agentUrl,
  httpAgent: axiosAgent,
  proxy: false,
  maxRedirects: 0,
  responseType: 'arraybuffer',
  transformResponse: [],
  validateStatus: () => true,
});
// axios on the client's adapter with no client around it: the floor axios itself sets.
const axiosFloor = new Axios({
  adapter: createUndiciAdapter({ dispatcher: floorPool, baseURL: agentUrl }, { responseType: 'arraybuffer', headers: { 'User-Agent': 'kvx-client' } }),
});

/** The same GET straight through the client's undici connection pool, parsed with JSON.parse: no axios, no client. */
function dispatchGet() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    dispatchPool.dispatch(
      { method: 'GET', path: `/v1/kv/${KEY}`, headers: { 'User-Agent': 'kvx-client' } },
      {
        onResponseData: (_c, chunk) => void chunks.push(chunk),
        onResponseEnd: () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))),
        onResponseError: (_c, err) => reject(err),
      },
    );
  });
}

const contenders = {
  bare: { label: 'bare http.request + JSON.parse', fn: () => bareGet(bareAgent) },
  kvx: { label: '@kvx/client kv.get (compiled)', fn: () => kvx.kv.get(KEY) },
  consulNpm: { label: 'npm consul 2.0.1 kv.get', fn: () => npm.kv.get(KEY) },
  dispatch: { label: 'undici dispatch on the kvx connection pool + JSON.parse, no axios', fn: dispatchGet },
  axiosFloor: { label: 'axios 1.21.1 on the kvx adapter, no client', fn: () => axiosFloor.request({ method: 'GET', url: `/v1/kv/${KEY}`, timeout: 10_000 }) },
  axiosOwn: { label: 'axios 1.21.1 with its own node adapter', fn: () => axiosOwn.request({ method: 'GET', url: `/v1/kv/${KEY}`, timeout: 10_000 }) },
};

try {
  await kvx.kv.put(KEY, 'x'.repeat(256), { flags: FLAGS });
  const samples = {};
  for (const [name, c] of Object.entries(contenders)) {
    for (let i = 0; i < WARMUP; i++) await c.fn();
    samples[name] = { cpu: [], latency: new Float64Array(ROUNDS * REQUESTS_PER_ROUND), count: 0 };
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, c] of Object.entries(contenders)) await round(c.fn, samples[name]);
  }
  const report = {
    requests: ROUNDS * REQUESTS_PER_ROUND,
    nodeFlags: [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ').trim(),
    contenders: Object.fromEntries(
      Object.entries(contenders).map(([name, c]) => [name, { label: c.label, cpu: samples[name].cpu, p50: median(samples[name].latency) }]),
    ),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  bareAgent.destroy();
  axiosAgent.destroy();
  await floorPool.destroy();
  await dispatchPool.destroy();
  await kvx.close();
}
