/**
 * The `kvx` executable (loaded by the committed shim bin/kvx.js). It only wires the real process into
 * {@link run}; everything else lives in testable modules.
 *
 * @module
 */

import { defaultContext } from './context.js';
import { ExitCode } from './exit-codes.js';
import { run } from './run.js';

/**
 * A reader that went away (`kvx status | head -1`, `kvx help lock | true`) is not an error of kvx: the rest of
 * that stream's output is dropped and the command ends with its own exit code. Without this listener the
 * first write after the pipe closed crashed the process with an unhandled `write EPIPE` and a stack trace.
 */
function ignoreClosedReader(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

ignoreClosedReader(process.stdout);
ignoreClosedReader(process.stderr);
const code = await run(process.argv.slice(2), defaultContext());
// An interrupted command has abandoned its work, but work already handed to a thread (a brotli compression of a
// large file runs for seconds and zlib cannot stop it) would still hold the process: the signal is obeyed now.
if (code === ExitCode.INTERRUPTED || code === ExitCode.TERMINATED) process.exit(code);
process.exitCode = code;
