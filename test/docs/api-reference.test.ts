import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { expect } from 'chai';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Reflection {
  name: string;
  children?: Reflection[];
}

/** The exported names of `pkg` in the reference, and the members of each. */
function exportsOf(project: Reflection, pkg: string): Map<string, string[]> {
  const module = project.children?.find((c) => c.name === pkg);
  expect(module, `${pkg} in the API reference`).not.to.equal(undefined);
  return new Map((module?.children ?? []).map((c) => [c.name, (c.children ?? []).map((m) => m.name)]));
}

describe('API reference (typedoc)', function () {
  // typedoc type-checks all four packages: seconds on an idle machine, more on a loaded CI runner.
  this.timeout(120_000);
  let dir: string;
  let project: Reflection;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-typedoc-'));
    // typedoc.json treats every warning as an error and asks for a comment on everything exported, so a
    // successful run is the check that nothing public is undocumented, unexported or linked wrongly.
    await promisify(execFile)(process.execPath, [path.join(root, 'node_modules/typedoc/bin/typedoc'), '--out', path.join(dir, 'html'), '--json', path.join(dir, 'api.json')], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    project = JSON.parse(await readFile(path.join(dir, 'api.json'), 'utf8')) as Reflection;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('documents the four packages', () => {
    expect(project.children?.map((c) => c.name).sort()).to.deep.equal(['@kvx/cli', '@kvx/client', '@kvx/devagent', '@kvx/lock']);
  });

  it('holds the client, its APIs, watches, lock primitives and errors', () => {
    const client = exportsOf(project, '@kvx/client');
    for (const name of ['Consul', 'ConsulOptions', 'KvApi', 'SessionApi', 'TxnApi', 'EventApi', 'StatusApi', 'AgentApi', 'Watch', 'SessionRenewer']) {
      expect(client.has(name), name).to.equal(true);
    }
    for (const name of ['Lock', 'LockOptions', 'LockHandle', 'Semaphore', 'SemaphoreOptions', 'SemaphoreHandle']) expect(client.has(name), name).to.equal(true);
    for (const name of ['KvxError', 'CircuitOpenError', 'ConnectionError', 'HttpError', 'RateLimitedError', 'TxnConflictError']) expect(client.has(name), name).to.equal(true);
    expect(client.get('Consul')).to.include.members(['kv', 'session', 'txn', 'event', 'status', 'agent', 'watch', 'close']);
  });

  it('holds the file-transport pipeline', () => {
    const client = exportsOf(project, '@kvx/client');
    for (const name of ['publish', 'deliver', 'watchAndDeliver', 'PublishOptions', 'DeliverOptions', 'raw', 'copy', 'stop', 'start', 'pin', 'unpin', 'clean', 'status', 'diffFile']) {
      expect(client.has(name), name).to.equal(true);
    }
  });

  it('holds the lock supervisor and the dev agent', () => {
    expect(exportsOf(project, '@kvx/lock').has('runLocked')).to.equal(true);
    expect(exportsOf(project, '@kvx/devagent').has('startDevAgent')).to.equal(true);
  });
});
