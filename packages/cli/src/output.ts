/**
 * How a command talks to the user. Three modes:
 * - human (default): short result lines on stdout, warnings and errors on stderr;
 * - `--verbose`: also timestamped debug lines on stderr;
 * - `--json`: exactly one JSON document per result on stdout, no human lines.
 *
 * Every line goes through {@link Output.redact}: secrets registered with {@link Output.addSecret} (the ACL
 * token) are replaced before anything is written, so not even a debug line or an error echoing a request
 * can leak them.
 *
 * @module
 */

import type { CommandContext } from './context.js';
import { oneLineMessage } from './errors.js';

/** Output mode flags every command accepts. */
export interface OutputFlags {
  /** Print debug lines (with a UTC timestamp) on stderr, and stack traces of internal errors. Default: `false`. */
  verbose?: boolean;
  /** Print results as JSON on stdout, and nothing else there. Default: `false`. */
  json?: boolean;
}

/** Serialises bigint (Consul indexes, flags) as decimal strings so JSON output never loses precision. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** The writer a command prints through. */
export class Output {
  /** `--json`: results go to stdout as JSON documents and human result lines are suppressed. Default: `false`. */
  readonly json: boolean;
  /** `--verbose`: debug lines and stack traces of internal errors go to stderr. Default: `false`. */
  readonly verbose: boolean;
  private readonly secrets = new Set<string>();

  constructor(
    private readonly ctx: CommandContext,
    flags: OutputFlags,
  ) {
    this.json = flags.json ?? false;
    this.verbose = flags.verbose ?? false;
  }

  /** Never print `secret` (an ACL token), whatever the mode. Secrets shorter than 4 characters are ignored. */
  addSecret(secret: string | undefined): void {
    if (secret !== undefined && secret.length >= 4) this.secrets.add(secret);
  }

  /** `text` with every registered secret replaced by `<redacted>`. */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('<redacted>');
    return out;
  }

  /** A human result line on stdout (suppressed with `--json`). */
  info(line: string): void {
    if (!this.json) this.ctx.stdout.write(`${this.redact(line)}\n`);
  }

  /** A warning on stderr, in every mode. */
  warn(line: string): void {
    this.ctx.stderr.write(`kvx: warning: ${this.redact(line)}\n`);
  }

  /** A status line on stderr (`kvx: <line>`), in every mode: not a result, not a problem. */
  notice(line: string): void {
    this.ctx.stderr.write(`kvx: ${this.redact(line)}\n`);
  }

  /** A debug line on stderr, only with `--verbose`. */
  debug(line: string): void {
    if (this.verbose) this.ctx.stderr.write(`${new Date().toISOString()} ${this.redact(line)}\n`);
  }

  /** A result document on stdout, only with `--json`. */
  result(doc: unknown): void {
    if (this.json) this.ctx.stdout.write(`${this.redact(JSON.stringify(doc, jsonReplacer))}\n`);
  }

  /**
   * The one-line error report: `kvx: <message>` on stderr. With `--verbose` and `stack`, the stack trace
   * follows (internal errors only: expected failures never need one).
   */
  error(err: unknown, stack = false): void {
    this.ctx.stderr.write(`kvx: ${this.redact(oneLineMessage(err))}\n`);
    if (stack && this.verbose && err instanceof Error && err.stack) {
      this.ctx.stderr.write(`${this.redact(err.stack)}\n`);
    }
  }
}
