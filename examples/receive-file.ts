/**
 * A Node service that receives a file the way `kvx out` delivers it, and keeps it current: the same checks
 * (stop key, pin, minimum lines, checksum), the same atomic write, and a reload hook — here a callback that
 * re-reads the file instead of an external command.
 *
 *   node --import tsx --conditions=kvx-source examples/receive-file.ts <key> <file>
 *
 * The Consul address and token come from `CONSUL_HTTP_ADDR` / `CONSUL_HTTP_TOKEN` (default 127.0.0.1:8500).
 * Publish with `kvx in -k <key> -f <source>`, or from Node with `publish({ consul, key, content })`.
 * Stop with Ctrl-C: the watch ends cleanly.
 */
import { readFile } from 'node:fs/promises';

import { Consul, exitCodeFor, watchAndDeliver, type DeliverResult } from '@kvx/client';

const [key = 'hosts', file = './hosts'] = process.argv.slice(2);
const consul = new Consul();
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());

/** What the service does with each new version: here, count the lines it now serves. */
async function reload(result: DeliverResult): Promise<void> {
  const text = await readFile(result.file, 'utf8');
  console.log(`${result.status} ${result.file} (${result.checksum.slice(0, 12)}…, ${text.split('\n').length - 1} lines)`);
}

const delivery = await watchAndDeliver({
  consul,
  signal: controller.signal,
  files: [{ key, file, mode: 0o644 }],
  onResult: (result) => {
    reload(result).catch((err: unknown) => console.error('reload failed:', err));
  },
  // Stopped, pinned, failed verification: the old file stays; log why (the code says which).
  onError: (err, target) => console.error(`${target.key} → ${target.file}: ${(err as Error).message} (exit code ${exitCodeFor(err)})`),
  logger: (level, message, fields) => {
    if (level !== 'debug') console.log(`[${level}] ${message}`, fields);
  },
});
console.log(`watching ${key} on ${consul.address}; Ctrl-C to stop`);
await delivery.done;
await consul.close();
