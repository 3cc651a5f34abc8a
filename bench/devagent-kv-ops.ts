/**
 * KV throughput of the dev agent over HTTP keep-alive: GET, PUT and CAS operations per second from 16
 * concurrent connections against an agent in a child process — in memory, and with `--data-dir` (every PUT
 * fsynced before it is answered, with group commit).
 */
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { spawnAgent } from '../test/support/dev-agent.js';
import { rawRequest } from '../test/devagent/raw-http.js';

const CONCURRENCY = 16;
const WINDOW_MS = 3000;

type Op = (worker: number, n: number) => Promise<void>;

async function measure(op: Op): Promise<number> {
  let done = 0;
  const until = performance.now() + WINDOW_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let n = 0; performance.now() < until; n++) {
        await op(w, n);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function throughput(args: string[]): Promise<{ get: number; put: number; cas: number }> {
  const agent = await spawnAgent(args);
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const req = (method: string, path: string, body?: string) =>
    rawRequest(agent.url, method, path, { agent: keepAlive, ...(body !== undefined && { body }) });
  try {
    for (let w = 0; w < CONCURRENCY; w++) await req('PUT', `/v1/kv/bench/${w}`, 'seed');
    const put = await measure(async (w, n) => {
      const res = await req('PUT', `/v1/kv/bench/${w}`, `value-${n}`);
      if (res.text !== 'true') throw new Error(`PUT failed: ${res.status} ${res.text}`);
    });
    const get = await measure(async (w) => {
      const res = await req('GET', `/v1/kv/bench/${w}`);
      if (res.status !== 200) throw new Error(`GET failed: ${res.status}`);
    });
    const index = new Map<number, number>();
    for (let w = 0; w < CONCURRENCY; w++) {
      const res = await req('GET', `/v1/kv/bench/${w}`);
      index.set(w, (res.json<{ ModifyIndex: number }[]>()[0] as { ModifyIndex: number }).ModifyIndex);
    }
    const cas = await measure(async (w, n) => {
      const res = await req('PUT', `/v1/kv/bench/${w}?cas=${index.get(w)}`, `cas-${n}`);
      if (res.text !== 'true') throw new Error(`CAS lost: ${res.text}`);
      const read = await req('GET', `/v1/kv/bench/${w}`);
      index.set(w, (read.json<{ ModifyIndex: number }[]>()[0] as { ModifyIndex: number }).ModifyIndex);
    });
    return { get, put, cas };
  } finally {
    keepAlive.destroy();
    await agent.stop();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const memory = await throughput([]);
  const dir = await mkdtemp(join(tmpdir(), 'kvx-bench-'));
  try {
    const durable = await throughput(['--data-dir', dir]);
    return {
      connections: CONCURRENCY,
      'GET ops/s (memory)': memory.get,
      'PUT ops/s (memory)': memory.put,
      'CAS round trips/s, each = CAS PUT + GET (memory)': memory.cas,
      'GET ops/s (--data-dir)': durable.get,
      'PUT ops/s (--data-dir, fsync before reply)': durable.put,
      'CAS round trips/s (--data-dir)': durable.cas,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await run());
