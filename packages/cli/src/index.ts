/**
 * `@kvx/cli`: the `kvx` command as a library. `run(argv, ctx)` runs a command line in-process and returns its
 * exit code; each verb is also exported as a plain async function `(ctx, args) => Promise<exitCode>`.
 *
 * @packageDocumentation
 */
export { run } from './run.js';
export { defaultContext, processSignals, shutdownSignal, type CommandContext, type SignalSource, type ShutdownSignal, type Shutdown } from './context.js';
export type { HostPort } from './parse.js';
export { ExitCode, EXIT_CODE_HELP, exitCodeHelpText, type ExitCodeValue } from './exit-codes.js';
export { UsageError, exitCodeForError, isCliError } from './errors.js';
export { Output, type OutputFlags } from './output.js';
export type { ConsulFlags } from './consul-flags.js';
export { loadConfigFile, parseConfigFile, type ConfigFile, type ConfigFileEntry, type ConfigConnection } from './config-file.js';
export type { ConnectionSettings } from './connection-settings.js';
export type * from './args.js';
export { inCommand } from './commands/in.js';
export { outCommand } from './commands/out.js';
export { outWatchCommand } from './commands/out-watch.js';
export { rawCommand } from './commands/raw.js';
export { copyCommand } from './commands/copy.js';
export { stopCommand } from './commands/stop.js';
export { startCommand } from './commands/start.js';
export { pinCommand } from './commands/pin.js';
export { unpinCommand } from './commands/unpin.js';
export { cleanCommand } from './commands/clean.js';
export { statusCommand } from './commands/status.js';
export { diffCommand } from './commands/diff.js';
export { demoCommand } from './commands/demo.js';
export { agentCommand } from './commands/agent.js';
export { lockCommand } from './commands/lock.js';
