/**
 * The structured log callback of the transfer functions (the CLI's `--verbose` prints it). Fields hold keys,
 * paths, sizes, checksums, indexes and command outcomes — never a token, and never file content.
 *
 * @module
 */

/** Severity of a log record. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Receives one log record. */
export type TransferLogger = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

/** A logger that drops everything. */
export const SILENT: TransferLogger = () => undefined;
