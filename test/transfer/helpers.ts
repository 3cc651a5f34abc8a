/** Shared helpers of the transfer tests: fixtures, temp dirs, an agent + client pair, kvexpress-style raw HTTP. */
import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Consul, KvxError, type ConsulOptions } from '@kvx/client';
import { startTestAgent, type DevAgent, type DevAgentOptions } from '../support/dev-agent.js';

/** The shared kvexpress fixtures (`../shared/fixtures/kvexpress` relative to the repository root). */
export const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/kvexpress/', import.meta.url));

/** Reads a fixture byte for byte. */
export function fixture(name: string): Promise<Buffer> {
  return readFile(join(FIXTURES, name));
}

/** kvexpress's `URL_CHECKSUM`: sha256 of url-gistfile1.txt. */
export const URL_CHECKSUM = '307b198c768b7a174b11e00c70bb1bd7b32597a86790279f763c4544dc12d1ff';

/** `n` lines of text, each ending in a newline. */
export function textLines(n: number, tag = 'line'): string {
  return Array.from({ length: n }, (_, i) => `${tag} ${i}`).join('\n') + '\n';
}

/** A fresh temp directory, removed by {@link removeDir}. */
export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kvx-transfer-'));
}

/** Removes a temp directory. */
export function removeDir(dir: string | undefined): Promise<void> {
  return dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true });
}

/** The names in a directory, sorted. */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** A dev agent and a client for it. */
export interface Harness {
  agent: DevAgent;
  consul: Consul;
  close(): Promise<void>;
}

/** Starts an in-process dev agent and a client with short timeouts (no retries beyond the defaults). */
export async function startHarness(agentOptions: Partial<DevAgentOptions> = {}, consulOptions: ConsulOptions = {}): Promise<Harness> {
  const agent = await startTestAgent(agentOptions);
  const consul = new Consul({ address: agent.url, env: {}, ...consulOptions });
  return {
    agent,
    consul,
    close: async () => {
      await consul.close();
      await agent.close();
    },
  };
}

/** A raw Consul KV entry, as kvexpress (or `consul kv get -detailed`) sees it. */
export interface RawEntry {
  value: Buffer;
  flags: bigint;
}

/** kvexpress-style PUT (`?flags=N` only when non-zero), straight over HTTP. */
export async function rawPut(base: string, key: string, value: Buffer | string, flags = 0n): Promise<void> {
  const query = flags === 0n ? '' : `?flags=${flags}`;
  const res = await fetch(`${base}/v1/kv/${key}${query}`, { method: 'PUT', body: value });
  expect(res.status, await res.clone().text()).to.equal(200);
}

/** kvexpress-style GET of one key over HTTP: value bytes and flags; `undefined` for 404. */
export async function rawGet(base: string, key: string): Promise<RawEntry | undefined> {
  const res = await fetch(`${base}/v1/kv/${key}`);
  if (res.status === 404) return undefined;
  expect(res.status).to.equal(200);
  const text = await res.text();
  const flags = /"Flags":\s*(\d+)/.exec(text)?.[1] ?? '0';
  const [entry] = JSON.parse(text) as { Value: string | null }[];
  return { value: Buffer.from(entry?.Value ?? '', 'base64'), flags: BigInt(flags) };
}

/** Awaits `p`, expects a {@link KvxError} with `code`, and returns it. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<KvxError> {
  try {
    await p;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(KvxError);
    expect((err as KvxError).code, (err as Error).message).to.equal(code);
    return err as KvxError;
  }
  throw new Error(`expected a rejection with ${code}`);
}


/** A suite's dev agent and client, and the running test's temp dir; see {@link useHarness}. */
export interface SuiteFixture {
  /** The suite's dev agent, started before its first test. */
  readonly agent: DevAgent;
  /** A client of that agent. */
  readonly consul: Consul;
  /** A fresh temp dir for the running test, removed after it. */
  readonly dir: string;
}

/** Registers a suite's hooks: one harness for the whole suite, a fresh temp dir for each test. */
export function useHarness(): SuiteFixture {
  let harness: Harness | undefined;
  let current: string | undefined;
  before(async () => {
    harness = await startHarness();
  });
  after(() => harness?.close());
  beforeEach(async () => {
    current = await tempDir();
  });
  afterEach(() => removeDir(current));
  const started = (): Harness => {
    if (harness === undefined) throw new Error('the harness starts in a before hook: use it inside a test');
    return harness;
  };
  return {
    get agent(): DevAgent {
      return started().agent;
    },
    get consul(): Consul {
      return started().consul;
    },
    get dir(): string {
      if (current === undefined) throw new Error('the temp dir is made in a beforeEach hook: use it inside a test');
      return current;
    },
  };
}
