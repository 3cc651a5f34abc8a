/**
 * Small mappings from CLI arguments to transfer-library options, shared by several verbs.
 *
 * @module
 */

import type { ExecFlags, FileModeFlags, LengthFlags } from '../args.js';

/** The exec options of a transfer call, for the flags that were given. */
export function execFields(args: ExecFlags): { exec?: string; shell?: boolean; execTimeout?: number } {
  return {
    ...(args.exec === undefined ? {} : { exec: args.exec }),
    ...(args.shell === undefined ? {} : { shell: args.shell }),
    ...(args.execTimeout === undefined ? {} : { execTimeout: args.execTimeout }),
  };
}

/** The minimum-content options of a transfer call (`--length`, `--min-bytes`), for the flags that were given. */
export function lengthFields(args: LengthFlags): { minLines?: number; minBytes?: number } {
  return {
    ...(args.length === undefined ? {} : { minLines: args.length }),
    ...(args.minBytes === undefined ? {} : { minBytes: args.minBytes }),
  };
}

/** The written file's attributes (`--chmod`, `--owner`), for the flags that were given. */
export function fileModeFields(args: FileModeFlags): { mode?: number; owner?: string } {
  return {
    ...(args.chmod === undefined ? {} : { mode: args.chmod }),
    ...(args.owner === undefined ? {} : { owner: args.owner }),
  };
}
