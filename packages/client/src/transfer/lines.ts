/**
 * kvexpress's text rules, reproduced byte for byte so both tools accept and produce the same content:
 * the line count behind `--length` and the `--sorted` transformation. Content is handled as bytes (a Go
 * string), so binary and non-UTF-8 files behave exactly as in kvexpress.
 *
 * @module
 */

const NEWLINE = 0x0a;

/**
 * kvexpress `LineCount`: the number of `\n` bytes, except that content without any `\n` counts as **1** (the
 * empty content too). A 10-line file without a trailing newline therefore counts 9.
 */
export function lineCount(content: Buffer): number {
  let count = 0;
  let at = content.indexOf(NEWLINE);
  while (at !== -1) {
    count += 1;
    at = content.indexOf(NEWLINE, at + 1);
  }
  return count === 0 ? 1 : count;
}

/**
 * kvexpress `LengthCheck`: passes when {@link lineCount} is at least `minLines`. Counting stops at `minLines`, so
 * checking a large file against the usual small minimum costs a few searches, not one per line.
 */
export function longEnough(content: Buffer, minLines: number): boolean {
  // Every content counts at least 1 line.
  if (minLines <= 1) return true;
  let count = 0;
  for (let at = content.indexOf(NEWLINE); at !== -1; at = content.indexOf(NEWLINE, at + 1)) {
    if (++count >= minLines) return true;
  }
  return false;
}

/**
 * kvexpress `--sorted`: split on `\n`, drop the elements that are exactly empty (whitespace-only lines and
 * `\r` are kept), sort in byte order (Go `sort.Strings`), join with `\n`. The result has no trailing newline
 * and keeps duplicates.
 */
export function sortLines(content: Buffer): Buffer {
  const lines: Buffer[] = [];
  let start = 0;
  for (let at = content.indexOf(NEWLINE); at !== -1; at = content.indexOf(NEWLINE, start)) {
    if (at > start) lines.push(content.subarray(start, at));
    start = at + 1;
  }
  if (start < content.length) lines.push(content.subarray(start));
  lines.sort((a, b) => Buffer.compare(a, b));
  const parts: Buffer[] = [];
  lines.forEach((line, i) => {
    if (i > 0) parts.push(Buffer.from('\n'));
    parts.push(line);
  });
  return Buffer.concat(parts);
}
