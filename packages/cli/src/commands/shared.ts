/**
 * Small mappings from CLI arguments to transfer-library options, shared by several verbs.
 *
 * @module
 */

import type { ExecFlags } from '../args.js';

/** The exec options of a transfer call, for the flags that were given. */
export function execFields(args: ExecFlags): { exec?: string; shell?: boolean; execTimeout?: number } {
  return {
    ...(args.exec === undefined ? {} : { exec: args.exec }),
    ...(args.shell === undefined ? {} : { shell: args.shell }),
    ...(args.execTimeout === undefined ? {} : { execTimeout: args.execTimeout }),
  };
}
