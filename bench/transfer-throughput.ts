/**
 * Throughput of large files through a dev agent in its own process with default limits (512 KiB values,
 * 512 KiB transactions, 128 operations): `publish` and `deliver` of a 50 MB file (plain, incompressible, so
 * 100 chunks), and of a 2 MB text file with brotli (quality 11: compression dominates). Three rounds each;
 * the best round is reported, as MB/s of content.
 *
 * Run alone: `node --import tsx --conditions=kvx-source bench/transfer-throughput.ts`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { Consul, deliver, publish } from '@kvx/client';
import { spawnAgent } from '../test/support/dev-agent.js';

const ROUNDS = 3;
const MB = 1024 * 1024;

function textFile(bytes: number, round: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${round} 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} host-${i}.example.com # ${randomBytes(6).toString('hex')}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n');
}

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent([]);
  const consul = new Consul({ address: agent.url, env: {} });
  const dir = await mkdtemp(join(tmpdir(), 'kvx-bench-throughput-'));
  const best = (times: number[]) => Math.min(...times);
  try {
    const measure = async (name: string, make: (round: number) => Buffer, compress: boolean): Promise<Record<string, unknown>> => {
      const publishMs: number[] = [];
      const deliverMs: number[] = [];
      let chunks = 0;
      let size = 0;
      let stored = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const content = make(round);
        size = content.length;
        let started = performance.now();
        const published = await publish({ consul, key: name, content, compress, minLines: 0 });
        publishMs.push(performance.now() - started);
        chunks = published.chunks;
        stored = published.storedSize;
        started = performance.now();
        await deliver({ consul, key: name, file: join(dir, name), minLines: 0 });
        deliverMs.push(performance.now() - started);
      }
      return {
        [`${name}: size, MB`]: size / MB,
        [`${name}: stored, MB`]: stored / MB,
        [`${name}: chunks`]: chunks,
        [`${name}: publish, ms (best of ${ROUNDS})`]: best(publishMs),
        [`${name}: publish, MB/s`]: size / MB / (best(publishMs) / 1000),
        [`${name}: deliver, ms (best of ${ROUNDS})`]: best(deliverMs),
        [`${name}: deliver, MB/s`]: size / MB / (best(deliverMs) / 1000),
      };
    };
    return {
      ...(await measure('plain-50MB', () => randomBytes(50 * MB), false)),
      ...(await measure('brotli-2MB', (round) => textFile(2 * MB, round), true)),
    };
  } finally {
    await consul.close();
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await run());
