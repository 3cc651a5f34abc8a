/** Runs kvx command lines in-process against a dev agent, each with a fresh test context. */
import { run } from '../../../packages/cli/src/run.js';
import { testContext, type TestContext } from './context.js';

/** What one in-process `kvx` run produced. */
export interface KvxRun {
  code: number;
  stdout: string;
  stderr: string;
  ctx: TestContext;
}

/** A runner bound to an agent address and a working directory. */
export function kvxRunner(cwd: string, agentUrl: () => string, env: Record<string, string> = {}) {
  return async (argv: readonly string[], options: { stdin?: string | Buffer; noAgent?: boolean } = {}): Promise<KvxRun> => {
    const ctx = testContext({ cwd, env, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) });
    const full = options.noAgent ? [...argv] : [...argv, '--http-addr', agentUrl()];
    const code = await run(full, ctx);
    return { code, stdout: ctx.stdout.text, stderr: ctx.stderr.text, ctx };
  };
}
