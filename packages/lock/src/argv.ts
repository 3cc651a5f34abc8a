/**
 * Go-flag compatibility for `kvx lock`: `consul lock` users write `-timeout=5s`, `-n 2`, `-shell=false`.
 * This rewrites such arguments into the GNU spelling commander parses (`--timeout=5s`, `--limit=2`, `--no-shell`),
 * up to the first positional argument: everything from the key prefix on belongs to the child and is never
 * touched.
 *
 * @module
 */

/** Long options that take a value (the next argument, or `=value`). */
export const VALUE_FLAGS: ReadonlySet<string> = new Set([
  'limit',
  'name',
  'timeout',
  'try',
  'monitor-retry',
  'session-ttl',
  'lock-delay',
  'kill-grace',
  'fence-margin',
  'http-addr',
  'token',
  'token-file',
  'datacenter',
  'ca-file',
  'ca-path',
  'client-cert',
  'client-key',
  'tls-server-name',
  'dogstatsd',
]);

/** Long options that are switches, with their defaults; Go spells them `-flag`, `-flag=true`, `-flag=false`. */
export const BOOLEAN_FLAGS: ReadonlyMap<string, boolean> = new Map([
  ['shell', true],
  ['pass-stdin', false],
  ['child-exit-code', false],
  ['verbose', false],
  ['stale', false],
  ['consistent', false],
  ['tls-skip-verify', false],
]);

const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/**
 * Rewrites Go-style flags into commander's syntax. Unknown flags are passed on unchanged so commander
 * reports them; a boolean given a value that is not a Go boolean is passed on as `--flag=value`, which
 * commander rejects.
 */
export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--' || arg === '-' || !arg.startsWith('-')) break;
    i++;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === 'n' || VALUE_FLAGS.has(name)) {
      const long = name === 'n' ? 'limit' : name;
      // The `=` form keeps commander from reading a value that starts with a dash as another flag.
      if (value !== undefined) out.push(`--${long}=${value}`);
      else if (i < argv.length) out.push(`--${long}=${argv[i++]!}`);
      else out.push(`--${long}`);
    } else if (BOOLEAN_FLAGS.has(name)) {
      if (value === undefined || TRUE.has(value)) out.push(`--${name}`);
      // `-flag=false` on a flag that is off by default just restates the default.
      else if (FALSE.has(value)) {
        if (BOOLEAN_FLAGS.get(name) === true) out.push(`--no-${name}`);
      } else out.push(`--${name}=${value}`);
    } else {
      out.push(arg.startsWith('--') || arg.length === 2 ? arg : `-${arg}`);
    }
  }
  return [...out, ...argv.slice(i)];
}
