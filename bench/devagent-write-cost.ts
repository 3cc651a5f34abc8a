/**
 * Cost of one KV write inside the dev agent as a function of how many blocking queries wait on OTHER keys:
 * commits through the real store (KV transaction, commit, waiter notification) with 0, 10,000 key waiters and
 * 10,000 prefix waiters registered elsewhere. A write looks up only its own key and the prefixes of its key at
 * registered prefix lengths, so the figures should be flat (they grow only with the number of distinct prefix
 * lengths registered, which a key's own length bounds).
 */
import { pathToFileURL } from 'node:url';

import { applyKvOp, KvTransaction } from '../packages/devagent/src/state/kv-txn.js';
import { Store } from '../packages/devagent/src/state/store.js';
import type { Unwatch } from '../packages/devagent/src/state/waiters.js';

const WRITES = 200_000;
const OTHERS = 10_000;

function writeCostNs(store: Store): number {
  const value = Buffer.from('value');
  const once = (n: number): void => {
    const tx = new KvTransaction(store, store.nextIndex);
    applyKvOp(tx, { verb: 'set', key: `hot/key-${n % 100}`, value, flags: BigInt(n), index: 0, session: '' });
    store.commit(tx.mutations);
  };
  for (let i = 0; i < 20_000; i++) once(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < WRITES; i++) once(i);
  return Number(process.hrtime.bigint() - started) / WRITES;
}

function withWaiters(register: (store: Store, i: number) => Unwatch): { ns: number; woken: number } {
  const store = new Store();
  const unwatch: Unwatch[] = [];
  for (let i = 0; i < OTHERS; i++) unwatch.push(register(store, i));
  const registered = store.waiters.watchedNames;
  const ns = writeCostNs(store);
  const woken = registered - store.waiters.watchedNames;
  for (const u of unwatch) u();
  return { ns, woken };
}

export async function run(): Promise<Record<string, unknown>> {
  const none = writeCostNs(new Store());
  const keys = withWaiters((store, i) => store.waiters.watchKey(`other/key-${i}`, { wake: () => undefined }));
  const prefixes = withWaiters((store, i) =>
    store.waiters.watchPrefix(`other/${String(i).padStart(5, '0')}/`, { wake: () => undefined }),
  );
  const mixedLengths = withWaiters((store, i) => store.waiters.watchPrefix(`o/${'x'.repeat(i % 40)}${i}`, { wake: () => undefined }));
  return {
    'writes measured': WRITES,
    'ns per write, no waiters': none,
    'ns per write, 10k key waiters on other keys': keys.ns,
    'ns per write, 10k prefix waiters on other prefixes': prefixes.ns,
    'ns per write, 10k prefix waiters of ~40 distinct lengths': mixedLengths.ns,
    'waiters on other keys woken (should be 0)': keys.woken + prefixes.woken + mixedLengths.woken,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await run());
