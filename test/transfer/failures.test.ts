import { expect } from 'chai';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

import { Consul, deliver, exitCodeFor, publish, watchAndDeliver, type KvxError } from '@kvx/client';
import { listDir, rejectsWith, removeDir, startHarness, tempDir, textLines, type Harness } from './helpers.js';

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('transfer: failures', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => removeDir(dir));

  describe('Consul unreachable', () => {
    let consul: Consul;
    before(async () => {
      consul = new Consul({ address: `127.0.0.1:${await closedPort()}`, env: {} });
    });
    after(() => consul.close());

    it('publish fails in bounded time with exit code 5, writing no side files', async () => {
      const started = performance.now();
      const err = await publish({ consul, key: 'k', content: textLines(12), sideFiles: join(dir, 'f') }).catch((e: unknown) => e as KvxError);
      expect(['KVX_CONNECTION', 'KVX_CIRCUIT_OPEN']).to.include((err as KvxError).code);
      expect(exitCodeFor(err)).to.equal(5);
      expect(performance.now() - started).to.be.lessThan(10_000);
      expect(await listDir(dir)).to.deep.equal([]);
    });

    it('deliver fails in bounded time with exit code 5, leaving the directory untouched', async () => {
      const started = performance.now();
      const err = await deliver({ consul, key: 'k', file: join(dir, 'f') }).catch((e: unknown) => e);
      expect(exitCodeFor(err)).to.equal(5);
      expect(performance.now() - started).to.be.lessThan(10_000);
      expect(await listDir(dir)).to.deep.equal([]);
    });
  });

  describe('ACL denials (HTTP 403)', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({
        acl: {
          default_policy: 'deny',
          tokens: {
            reader: { key_prefix: { 'kvexpress/': 'read' } },
            writer: { key_prefix: { 'kvexpress/': 'write' } },
          },
        },
      });
    });
    after(() => h.close());

    const client = (token: string) => new Consul({ address: h.agent.url, token, env: {} });

    it('publish with a read-only token is refused with KVX_PERMISSION_DENIED (exit 6)', async () => {
      const reader = client('reader');
      try {
        const err = await rejectsWith(publish({ consul: reader, key: 'acl', content: textLines(12) }), 'KVX_PERMISSION_DENIED');
        expect(exitCodeFor(err)).to.equal(6);
        expect(err.message).to.not.include('reader');
      } finally {
        await reader.close();
      }
    });

    it('deliver with a token that may not read is refused with KVX_PERMISSION_DENIED, writing nothing', async () => {
      const [writer, nobody, reader] = [client('writer'), client('nobody'), client('reader')];
      try {
        await publish({ consul: writer, key: 'acl', content: textLines(12) });
        await rejectsWith(deliver({ consul: nobody, key: 'acl', file: join(dir, 'f') }), 'KVX_PERMISSION_DENIED');
        expect(await listDir(dir)).to.deep.equal([]);
        await deliver({ consul: reader, key: 'acl', file: join(dir, 'f') });
        expect(await listDir(dir)).to.deep.equal(['f']);
      } finally {
        await Promise.all([writer.close(), nobody.close(), reader.close()]);
      }
    });
  });

  describe('option errors', () => {
    it('watchAndDeliver refuses an empty file list and duplicate targets eagerly', async () => {
      const consul = new Consul({ address: '127.0.0.1:1', env: {} });
      try {
        await rejectsWith(watchAndDeliver({ consul, files: [] }), 'KVX_INVALID_ARGUMENT');
        const file = join(dir, 'f');
        await rejectsWith(watchAndDeliver({ consul, files: [{ key: 'a', file }, { key: 'b', file }] }), 'KVX_INVALID_ARGUMENT');
      } finally {
        await consul.close();
      }
    });
  });
});
