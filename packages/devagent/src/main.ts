/**
 * Runs the dev agent directly:
 * `node --import tsx --conditions=kvx-source packages/devagent/src/main.ts --dev --http-addr 127.0.0.1:0`.
 *
 * @module
 */
import { agentMain } from './cli.js';

process.exitCode = await agentMain(process.argv.slice(2));
