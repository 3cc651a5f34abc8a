/**
 * The `kvx` executable (loaded by the committed shim bin/kvx.js). It only wires the real process into
 * {@link run}; everything else lives in testable modules.
 *
 * @module
 */

import { defaultContext } from './context.js';
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2), defaultContext());
