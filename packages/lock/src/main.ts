/**
 * Entry point of the `kvx-lock` bin (`bin/kvx-lock.js` imports the compiled form of this file).
 *
 * @module
 */

import { lockMain } from './command.js';

process.exitCode = await lockMain(process.argv.slice(2));
