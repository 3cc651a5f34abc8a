/** What {@link eventually} keeps polling on: no value yet. */
type NotYet = undefined | null | false;

/**
 * Polls `check` every 10 ms until it gives a value other than `undefined`, `null` or `false`, and resolves with
 * that value; fails with "timed out … waiting for `what`" after `timeoutMs`. The default is generous on purpose:
 * a loaded 2-core CI machine is slow, and a passing test never waits for it.
 */
export async function eventually<T>(what: string, check: () => T | NotYet | Promise<T | NotYet>, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
