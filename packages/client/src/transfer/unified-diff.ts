/**
 * Unified diffs of two versions of a file, for update events and the `diff` verb. Bounded so that a huge or
 * wildly different file cannot stall the process: inputs above `maxInput` bytes are not diffed, the Myers
 * search gives up after `timeout` ms or `maxEditLength` edits, and binary content is never diffed.
 *
 * @module
 */

import { createRequire } from 'node:module';

import type * as Diff from 'diff';

let diffPackage: typeof Diff | undefined;

/**
 * The `diff` package, loaded on first use: most processes never diff (a `kvx out`, a watcher, a publish
 * without diff events), and loading it at start-up would be part of every command's cold start.
 */
function loadDiff(): typeof Diff {
  diffPackage ??= createRequire(import.meta.url)('diff') as typeof Diff;
  return diffPackage;
}

/** Options of {@link unifiedDiff}. */
export interface UnifiedDiffOptions {
  /** Lines of context around each change. Default: `3`. */
  context?: number;
  /** Largest input (each side, bytes) that is diffed. Default: `1048576` (1 MiB). */
  maxInput?: number;
  /** Milliseconds after which the diff is abandoned. Default: `250`. */
  timeout?: number;
  /** Largest edit distance (in lines) that is computed. Default: `10000`. */
  maxEditLength?: number;
}

/** Why no diff was produced. */
export type NoDiffReason = 'binary' | 'too-large' | 'too-costly';

/** A unified diff, or the reason there is none. */
export type DiffOutcome =
  | {
      /** The unified diff with file headers; empty for equal contents. */
      patch: string;
    }
  | {
      /** Why there is no diff. */
      skipped: NoDiffReason;
    };

/** True for content that is not UTF-8 text (a NUL byte in the first 8 KiB, or invalid UTF-8). */
export function isBinary(content: Buffer): boolean {
  if (content.subarray(0, 8192).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(content);
    return false;
  } catch {
    return true;
  }
}

/**
 * The unified diff from `oldContent` (`undefined`: the file does not exist) to `newContent`, with `---`/`+++`
 * headers naming `oldName` and `newName`; empty when the contents are equal.
 */
export function unifiedDiff(
  oldName: string,
  newName: string,
  oldContent: Buffer | undefined,
  newContent: Buffer,
  options: UnifiedDiffOptions = {},
): DiffOutcome {
  const old = oldContent ?? Buffer.alloc(0);
  if (old.equals(newContent)) return { patch: '' };
  const maxInput = options.maxInput ?? 1_048_576;
  if (old.length > maxInput || newContent.length > maxInput) return { skipped: 'too-large' };
  if (isBinary(old) || isBinary(newContent)) return { skipped: 'binary' };
  const patch = loadDiff().createTwoFilesPatch(oldName, newName, old.toString('utf8'), newContent.toString('utf8'), undefined, undefined, {
    context: options.context ?? 3,
    timeout: options.timeout ?? 250,
    maxEditLength: options.maxEditLength ?? 10_000,
    headerOptions: { includeIndex: false, includeUnderline: false, includeFileHeaders: true },
  });
  return patch === undefined ? { skipped: 'too-costly' } : { patch };
}
