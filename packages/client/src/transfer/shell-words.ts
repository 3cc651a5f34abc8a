/**
 * Splits a command line into argv the way a POSIX shell tokenises words, without running a shell:
 *
 * - unquoted blanks (space, tab, newline) separate words;
 * - `'…'` is literal; `"…"` is literal except that `\` escapes `$`, `` ` ``, `"`, `\` and newline;
 * - an unquoted `\` escapes the next character (`\` + newline continues the line);
 * - `''` and `""` produce an empty argument.
 *
 * Nothing is expanded. Unquoted shell syntax (`|`, `&`, `;`, `<`, `>`, `` ` ``, `$NAME`, `$(…)`, `${…}`) is
 * refused instead of being passed on as a literal argument — kvexpress split on blanks and users discovered
 * that `reload || true` ran `reload` with the arguments `||` and `true`. Use the `shell` option for those.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';

const BLANK = new Set([' ', '\t', '\n']);
const OPERATORS = new Set(['|', '&', ';', '<', '>', '`']);
const DOUBLE_QUOTE_ESCAPABLE = new Set(['$', '`', '"', '\\', '\n']);

function refuse(command: string, what: string): never {
  throw new InvalidArgumentError(
    `command ${JSON.stringify(command)} uses ${what}, which needs a shell: quote it, or run the command with the shell option`,
  );
}

/** Splits `command` into words; throws {@link InvalidArgumentError} on unbalanced quotes or shell syntax. */
export function splitShellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = command.length;
  while (i < n) {
    const c = command[i] as string;
    if (BLANK.has(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i += 1;
      continue;
    }
    if (c === '\\' && command[i + 1] === '\n') {
      i += 2;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      if (i + 1 >= n) throw new InvalidArgumentError(`command ${JSON.stringify(command)} ends with a lone backslash`);
      word += command[i + 1];
      i += 2;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) throw new InvalidArgumentError(`command ${JSON.stringify(command)} has an unterminated single quote`);
      word += command.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      for (;;) {
        if (i >= n) throw new InvalidArgumentError(`command ${JSON.stringify(command)} has an unterminated double quote`);
        const d = command[i] as string;
        if (d === '"') break;
        if (d === '\\' && i + 1 < n && DOUBLE_QUOTE_ESCAPABLE.has(command[i + 1] as string)) {
          if (command[i + 1] !== '\n') word += command[i + 1];
          i += 2;
        } else if (d === '$' || d === '`') {
          refuse(command, `${d} inside double quotes (an expansion)`);
        } else {
          word += d;
          i += 1;
        }
      }
      i += 1;
    } else if (OPERATORS.has(c)) {
      refuse(command, `"${c}"`);
    } else if (c === '$' && i + 1 < n && /[A-Za-z_({0-9@*#?$!-]/.test(command[i + 1] as string)) {
      const expansion = /^\$(?:\{[^}]*\}?|\(|[A-Za-z_][A-Za-z0-9_]*|.)/.exec(command.slice(i))?.[0] ?? '$';
      refuse(command, `"${expansion}" (an expansion)`);
    } else {
      word += c;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Quotes one argument for `/bin/sh` (single quotes; embedded `'` become `'\''`). */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
