/**
 * Entry point of the `kvx-lock` bin (`bin/kvx-lock.js` imports the compiled form of this file).
 *
 * @module
 */

import { lockMain } from './command.js';

/**
 * A reader that went away (`kvx-lock --help | head -1`) must not crash the supervisor with a stack trace, least
 * of all while it holds a lock: what it would have printed there has no reader anyway, so the write is dropped.
 */
function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

ignoreClosedPipe(process.stdout);
ignoreClosedPipe(process.stderr);
process.exitCode = await lockMain(process.argv.slice(2), { programName: 'kvx-lock' });
