/**
 * `kvx demo`: a self-contained tour that needs nothing installed. It starts an embedded dev agent (memory only,
 * a free port), publishes a sample hosts file, starts several delivery watchers in-process (each playing one
 * node, writing into its own temporary directory), changes the file and shows each delivery with its latency
 * and checksum, then shows a stop key holding the fleet (publishing is refused, nothing moves) until `start`
 * lets the next version through. Everything is removed afterwards; SIGINT/SIGTERM end it early and clean up.
 *
 * @module
 */

import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeliverResult, WatchDelivery } from '@kvx/client';
import type { DemoArgs } from '../args.js';
import { guarded } from '../command.js';
import { shutdownSignal, type CommandContext } from '../context.js';
import { oneLineMessage, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

const PREFIX = 'kvx-demo';
const KEY = 'hosts';
/** How long the demo waits for the fleet to converge before it gives up. */
const CONVERGE_TIMEOUT_MS = 8_000;
/** How long the demo watches a stopped fleet to show that nothing moves. */
const HOLD_MS = 700;

/** The sample file: a hosts map that grows by one entry per version. */
function sampleHosts(version: number): string {
  const lines = [`# kvx demo hosts file, version ${version}`, '# delivered by kvx out --watch on every node'];
  for (let i = 1; i <= 10 + version; i++) lines.push(`10.0.${Math.ceil(i / 8)}.${i} web-${String(i).padStart(2, '0')}.demo.internal`);
  return `${lines.join('\n')}\n`;
}

interface Delivery {
  node: string;
  result: DeliverResult;
  at: number;
}

/** Collects the deliveries of every node and waits for the fleet to reach a checksum. */
class Fleet {
  readonly deliveries: Delivery[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly nodes: readonly string[],
    private readonly ctx: CommandContext,
  ) {}

  record(node: string, result: DeliverResult): void {
    this.deliveries.push({ node, result, at: this.ctx.now() });
    for (const wake of this.waiters) wake();
  }

  /** The latest delivery of each node that reached `checksum`. */
  reached(checksum: string): Delivery[] {
    return this.nodes.flatMap((node) => {
      const d = this.deliveries.find((x) => x.node === node && x.result.checksum === checksum);
      return d === undefined ? [] : [d];
    });
  }

  async converge(checksum: string, signal: AbortSignal): Promise<Delivery[]> {
    const deadline = this.ctx.now() + CONVERGE_TIMEOUT_MS;
    while (this.reached(checksum).length < this.nodes.length) {
      if (signal.aborted) throw new UsageError('demo interrupted');
      const left = deadline - this.ctx.now();
      if (left <= 0) {
        throw new Error(`only ${this.reached(checksum).length} of ${this.nodes.length} nodes received ${checksum.slice(0, 12)} in ${CONVERGE_TIMEOUT_MS} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 100));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
      this.waiters.clear();
    }
    return this.reached(checksum);
  }
}

function showDeliveries(out: Output, deliveries: Delivery[], since: number, version: number): void {
  for (const d of deliveries) {
    const latency = Math.max(0, d.at - since);
    out.info(`    ${d.node.padEnd(7)} ${d.result.status.padEnd(9)} v${version}  sha256 ${d.result.checksum.slice(0, 12)}  ${latency.toFixed(1).padStart(6)} ms`);
    out.result({ event: 'delivered', node: d.node, version, status: d.result.status, checksum: d.result.checksum, latencyMs: Math.round(latency * 10) / 10 });
  }
  const latencies = deliveries.map((d) => d.at - since).sort((a, b) => a - b);
  const median = latencies[Math.floor((latencies.length - 1) / 2)] ?? 0;
  out.info(`    -> ${deliveries.length} nodes converged, median latency ${median.toFixed(1)} ms, slowest ${(latencies.at(-1) ?? 0).toFixed(1)} ms`);
}

async function fileChecksum(file: string): Promise<string | undefined> {
  const { sha256Hex } = await import('@kvx/client');
  try {
    return sha256Hex(await readFile(file));
  } catch {
    return undefined;
  }
}

/** Runs `kvx demo`. */
export async function demoCommand(ctx: CommandContext, args: DemoArgs): Promise<number> {
  return guarded(ctx, args, async (out) => {
    const count = args.watchers ?? 5;
    if (count < 1 || count > 50) throw new UsageError('--watchers must be between 1 and 50');
    const [{ startDevAgent }, client] = await Promise.all([import('@kvx/devagent'), import('@kvx/client')]);
    const { publish, stop, start, watchAndDeliver } = client;
    const started = ctx.now();
    const shutdown = shutdownSignal(ctx);
    const signal = shutdown.signal;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-demo-'));
    const agent = await startDevAgent({ httpAddr: '127.0.0.1:0', nodeName: 'kvx-demo' });
    // An empty environment: the demo must not pick up the user's CONSUL_HTTP_TOKEN or TLS settings.
    const consul = await ctx.createConsul({ address: agent.url, env: {} });
    const loops: WatchDelivery[] = [];
    try {
      out.info(`kvx demo: a dev agent, one published file and ${count} nodes delivering it`);
      out.info(`  dev agent listening on ${agent.url} (in memory); node directories under ${dir}`);
      const base = { consul, prefix: PREFIX, key: KEY, signal, minLines: 1 };

      out.info('');
      out.info(`1. kvx in -k ${KEY} -p ${PREFIX}   (publish version 1: data + checksum in one transaction)`);
      const v1 = await publish({ ...base, content: sampleHosts(1), source: 'kvx demo' });
      out.info(`    published ${v1.size} bytes, ${v1.lines} lines, sha256 ${v1.checksum.slice(0, 12)}, index ${v1.index}`);

      const nodes = Array.from({ length: count }, (_, i) => `node-${i + 1}`);
      const fleet = new Fleet(nodes, ctx);
      out.info('');
      out.info(`2. kvx out --watch on ${count} nodes   (blocking queries; each writes its own copy atomically)`);
      const joined = ctx.now();
      for (const node of nodes) {
        loops.push(
          await watchAndDeliver({
            consul,
            prefix: PREFIX,
            hostname: node,
            signal,
            files: [{ key: KEY, file: path.join(dir, node, 'hosts'), mode: 0o644, minLines: 1 }],
            onResult: (result) => fleet.record(node, result),
            onError: (err) => {
              if ((err as { code?: unknown }).code !== 'KVX_STOPPED') out.warn(`${node}: ${oneLineMessage(err)}`);
            },
          }),
        );
      }
      showDeliveries(out, await fleet.converge(v1.checksum, signal), joined, 1);

      out.info('');
      out.info('3. the file changes: kvx in publishes version 2');
      const t2 = ctx.now();
      const v2 = await publish({ ...base, content: sampleHosts(2), source: 'kvx demo' });
      out.info(`    published ${v2.size} bytes, sha256 ${v2.checksum.slice(0, 12)}, index ${v2.index}`);
      showDeliveries(out, await fleet.converge(v2.checksum, signal), t2, 2);

      out.info('');
      const reason = 'demo: holding the fleet during a maintenance window';
      out.info(`4. kvx stop -k ${KEY} -r "${reason}"`);
      const stopped = await stop({ ...base, reason });
      out.info(`    ${stopped.stopKey} is set: every in and out of "${KEY}" now halts (exit 2)`);
      try {
        await publish({ ...base, content: sampleHosts(3), source: 'kvx demo' });
        throw new Error('publishing version 3 succeeded although the stop key is set');
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'KVX_STOPPED') throw err;
        out.info(`    kvx in (version 3) refused: ${oneLineMessage(err)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
      const held = await Promise.all(nodes.map((n) => fileChecksum(path.join(dir, n, 'hosts'))));
      out.info(`    ${held.filter((c) => c === v2.checksum).length} of ${count} nodes still hold version 2 after ${HOLD_MS} ms: the fleet is held`);

      out.info('');
      out.info(`5. kvx start -k ${KEY}, then kvx in publishes version 3`);
      await start(base);
      const t3 = ctx.now();
      const v3 = await publish({ ...base, content: sampleHosts(3), source: 'kvx demo' });
      out.info(`    published ${v3.size} bytes, sha256 ${v3.checksum.slice(0, 12)}, index ${v3.index}`);
      showDeliveries(out, await fleet.converge(v3.checksum, signal), t3, 3);

      out.info('');
      out.info(`done in ${((ctx.now() - started) / 1000).toFixed(1)} s; cleaning up (watchers, agent, ${dir})`);
      return ExitCode.OK;
    } finally {
      await Promise.all(loops.map((l) => l.stop()));
      await consul.close();
      await agent.close();
      await rm(dir, { recursive: true, force: true });
      shutdown.dispose();
    }
  });
}
