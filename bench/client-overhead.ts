/**
 * Per-request cost of @kvx/client (axios + retry policy + circuit breaker + lossless parsing + decoding)
 * compared with a bare keep-alive `http.request` + `JSON.parse`, with axios alone (configured as the client
 * configures it, to separate the HTTP library's share from the client's own), and with the npm `consul`
 * package — all reading the same key from the same dev agent (in a child process), one request at a time.
 * Rounds are interleaved so drift affects every contender alike; each figure is the median round. Latency
 * is wall-clock per request; CPU is this process's user + system time per request (the agent's excluded).
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import axios from 'axios';
import ConsulNpm from 'consul';
import { Consul } from '@kvx/client';
import { spawnAgent } from '../test/support/dev-agent.js';

const REQUESTS_PER_ROUND = 2000;
const ROUNDS = 5;
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

/** One round: wall-clock latency and this process's CPU time, both in µs per request. */
async function timeRound(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < REQUESTS_PER_ROUND; i++) await fn();
  const used = process.cpuUsage(cpu);
  return { wall: ((performance.now() - started) * 1000) / REQUESTS_PER_ROUND, cpu: (used.user + used.system) / REQUESTS_PER_ROUND };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent();
  const { hostname, port } = new URL(agent.url);
  const kvx = new Consul({ address: agent.url, env: {} });
  const npm = new ConsulNpm({ host: hostname, port: Number(port) });
  const keepAlive = new http.Agent({ keepAlive: true });
  const axiosAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  const ax = axios.create({
    baseURL: agent.url,
    httpAgent: axiosAgent,
    proxy: false,
    maxRedirects: 0,
    responseType: 'arraybuffer',
    transformResponse: [],
    validateStatus: () => true,
  });
  try {
    await kvx.kv.put(KEY, 'x'.repeat(256), { flags: 16210313421097356768n });
    const contenders: Record<string, () => Promise<unknown>> = {
      bare: () => bareGet(keepAlive, hostname, Number(port)),
      axios: () => ax.request({ method: 'GET', url: `/v1/kv/${KEY}`, timeout: 10_000 }),
      kvx: () => kvx.kv.get(KEY),
      consulNpm: () => npm.kv.get(KEY),
    };
    const wall: Record<string, number[]> = { bare: [], axios: [], kvx: [], consulNpm: [] };
    const cpu: Record<string, number[]> = { bare: [], axios: [], kvx: [], consulNpm: [] };
    for (const fn of Object.values(contenders)) await timeRound(fn);
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, fn] of Object.entries(contenders)) {
        const t = await timeRound(fn);
        wall[name]!.push(t.wall);
        cpu[name]!.push(t.cpu);
      }
    }
    const out: Record<string, unknown> = { 'requests per contender': REQUESTS_PER_ROUND * ROUNDS };
    const labels = {
      bare: 'bare http.request',
      axios: 'axios 1.21.1 alone',
      kvx: '@kvx/client kv.get',
      consulNpm: 'npm consul 2.0.1 kv.get',
    };
    for (const [name, label] of Object.entries(labels)) {
      out[`${label}, latency µs/request`] = median(wall[name]!);
      out[`${label}, client CPU µs/request`] = median(cpu[name]!);
    }
    const over = (name: string, m: Record<string, number[]>): number => ((median(m[name]!) - median(m['bare']!)) / median(m['bare']!)) * 100;
    out['axios alone latency overhead vs bare, %'] = over('axios', wall);
    out['@kvx/client latency overhead vs bare, %'] = over('kvx', wall);
    out['npm consul latency overhead vs bare, %'] = over('consulNpm', wall);
    out['axios alone CPU overhead vs bare, %'] = over('axios', cpu);
    out['@kvx/client CPU overhead vs bare, %'] = over('kvx', cpu);
    out['npm consul CPU overhead vs bare, %'] = over('consulNpm', cpu);
    return out;
  } finally {
    keepAlive.destroy();
    axiosAgent.destroy();
    await kvx.close();
    await agent.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
