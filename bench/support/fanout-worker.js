/**
 * The watcher half of bench/transfer-fanout.ts: WATCHERS_PER_PROCESS watchers (`watchAndDeliver`, each with its
 * own host name and target file, as that many nodes would run it) on the compiled client
 * (packages/client/dist), in plain `node` with no loader, so they are measured as the package ships.
 *
 *   KVX_FANOUT_WORKER='{"address":…,"dir":…,"id":…}' node bench/support/fanout-worker.js   (forked, with IPC)
 *
 * Reports to the parent over IPC: `ready` with its clock offset, `delivered` batches, `error`s, and on request
 * (`counts`) the blocking reads each watcher sent for the data and the pin watch plus this process's CPU time.
 */
import { join } from 'node:path';
import { Consul, watchAndDeliver } from '../../packages/client/dist/index.js';

const WATCHERS_PER_PROCESS = Number(process.env.KVX_BENCH_WATCHERS_PER_PROCESS ?? 250);
const KEY = 'fanout';

/** The clock every process of the bench reads. */
const now = () => performance.timeOrigin + performance.now();
const clockOffset = () => Date.now() - now();
const cpuMs = () => {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1000;
};

const { address, dir, id } = JSON.parse(process.env.KVX_FANOUT_WORKER ?? '{}');
if (address === undefined) throw new Error('fanout-worker.js runs forked by bench/transfer-fanout.ts');
const send = (m) => process.send?.(m);
// Deliveries are reported in batches: one IPC message per delivery would add its own CPU to the watchers'.
let batch = [];
const flush = () => {
  send({ type: 'delivered', batch });
  batch = [];
};
const delivered = (d) => {
  if (batch.length === 0) setTimeout(flush, 50);
  batch.push(d);
};
// One client stands for 250 nodes; each watcher keeps its own connection between changes, as each node's would.
const consul = new Consul({ address, env: {} });
const dataCounts = new Array(WATCHERS_PER_PROCESS).fill(0);
const received = new Array(WATCHERS_PER_PROCESS).fill(0);
const pinCounts = new Array(WATCHERS_PER_PROCESS).fill(0);
const running = [];
for (let w = 0; w < WATCHERS_PER_PROCESS; w++) {
  // Each watcher's own view of the client, counting the blocking reads it sends (the requests go through).
  const kv = new Proxy(consul.kv, {
    get(target, name, receiver) {
      if (name !== 'list') return Reflect.get(target, name, receiver);
      return (prefix, opts) => {
        const pins = prefix.includes('/locks/');
        if (pins) pinCounts[w]++;
        else dataCounts[w]++;
        const reply = target.list(prefix, opts);
        return pins
          ? reply
          : reply.then((result) => {
              received[w] = now();
              return result;
            });
      };
    },
  });
  const counted = new Proxy(consul, { get: (target, prop, receiver) => (prop === 'kv' ? kv : Reflect.get(target, prop, receiver)) });
  running.push(
    await watchAndDeliver({
      consul: counted,
      hostname: `node-${id}-${w}`,
      files: [{ key: KEY, file: join(dir, `${id}-${w}`, 'file'), minLines: 1 }],
      onResult: (r) => delivered({ checksum: r.checksum, received: received[w], at: now() }),
      onError: (e) => send({ type: 'error', message: String(e) }),
    }),
  );
}
send({ type: 'ready', clockOffset: clockOffset() });
process.on('message', (m) => {
  if (m === 'counts') send({ type: 'counts', data: dataCounts, pins: pinCounts, cpuMs: cpuMs() });
  if (m === 'stop') {
    void Promise.all(running.map((r) => r.stop()))
      .then(() => consul.close())
      .then(() => process.exit(0));
  }
});
