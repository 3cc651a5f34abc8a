/**
 * The @kvx/client basics from packages/client/README.md, runnable against any agent:
 *
 *   node --import tsx --conditions=kvx-source examples/client-basics.ts
 *
 * (start one with `npm run dev-agent` or point CONSUL_HTTP_ADDR at a real Consul). It writes `example/flag`,
 * watches it until it changes twice, and does one piece of work under a Consul-compatible lock.
 */
import { Consul, Lock } from '@kvx/client';

const consul = new Consul();
await consul.kv.put('example/flag', 'on', { flags: 42n });
const { value: pair, index } = await consul.kv.get('example/flag');
console.log(`example/flag = ${pair?.value.toString() ?? '(missing)'} flags=${pair?.flags ?? 0n} index=${index}`);

const stop = new AbortController();
setTimeout(() => void consul.kv.put('example/flag', 'off'), 200);
let seen = 0;
for await (const { value } of consul.watch((o) => consul.kv.get('example/flag', o), { signal: stop.signal })) {
  console.log('watch:', value?.value.toString());
  if (++seen === 2) stop.abort();
}

const lock = new Lock(consul, { key: 'example/leader/.lock' });
const held = await lock.acquire();
if (held) {
  try {
    console.log(`holding the lock, fencing token ${held.fencingToken}`);
  } finally {
    await held.release();
  }
}
await consul.close();
