/**
 * `run(argv, ctx)`: parses a `kvx` command line, runs the command and returns its exit code. It never calls
 * `process.exit` and never writes outside `ctx`, so tests run any command line in-process.
 *
 * @module
 */

import { CommanderError } from 'commander';
import { guarded, report } from './command.js';
import type { CommandContext } from './context.js';
import { ExitCode } from './exit-codes.js';
import { Output } from './output.js';
import { buildProgram, PASSTHROUGH_VERBS } from './program.js';

/** Commander outcomes that are not errors. */
const SUCCESS_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Runs one `kvx` command line (without the `node` and script arguments) and returns the exit code. */
export async function run(argv: readonly string[], ctx: CommandContext): Promise<number> {
  // `agent` and `lock` own their flags (and help): hand them the rest of the line untouched.
  const helpFor = argv[0] === 'help' && argv.length === 2 ? argv[1] : undefined;
  const verb = helpFor ?? argv[0];
  if (verb !== undefined && PASSTHROUGH_VERBS.has(verb)) {
    const rest = helpFor === undefined ? argv.slice(1) : ['--help'];
    return guarded(ctx, {}, async () => {
      if (verb === 'agent') return (await import('./commands/agent.js')).agentCommand(ctx, rest);
      return (await import('./commands/lock.js')).lockCommand(ctx, rest);
    });
  }
  let exitCode: number = ExitCode.OK;
  const program = buildProgram(ctx, (code) => {
    exitCode = code;
  });
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.OK;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (through outputError) or the help text.
      return SUCCESS_CODES.has(err.code) ? ExitCode.OK : ExitCode.USAGE;
    }
    // A flag value rejected by one of our parsers, before any command ran.
    return report(new Output(ctx, { json: argv.includes('--json'), verbose: argv.includes('--verbose') }), err);
  }
  return exitCode;
}
