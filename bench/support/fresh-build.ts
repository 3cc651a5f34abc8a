/**
 * Benchmarks that measure the code as it ships run the compiled `dist/` of a package, in plain `node`: tsx's
 * loader would transform that JavaScript too (its name-keeping helper adds a call and an allocation to every
 * closure) and tax what is measured. This check refuses a build older than its sources, which would measure
 * old code (`npm run bench` builds first).
 */
import { readdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Throws unless `packages/<name>/dist` was built after every TypeScript source of the package.
 *
 * @param names package folders under `packages/`, e.g. `client`.
 */
export async function assertFreshBuild(...names: string[]): Promise<void> {
  for (const name of names) {
    const src = fileURLToPath(new URL(`../../packages/${name}/src/`, import.meta.url));
    let built: number;
    try {
      built = (await stat(new URL(`../../packages/${name}/dist/.tsbuildinfo`, import.meta.url))).mtimeMs;
    } catch {
      throw new Error(`packages/${name} is not built: run \`npx tsc -b\` (or \`npm run bench\`, which builds first)`);
    }
    // Only TypeScript sources are compiled: a newer README or other file says nothing about the build.
    for (const f of (await readdir(src, { recursive: true })).filter((file) => file.endsWith('.ts'))) {
      if ((await stat(`${src}${f}`)).mtimeMs > built) {
        throw new Error(`packages/${name}/dist is older than packages/${name}/src/${f}: run \`npx tsc -b\` before this benchmark`);
      }
    }
  }
}

/** The environment for a plain `node` child: the parent's, without NODE_OPTIONS (which may load tsx). */
export function plainNodeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env['NODE_OPTIONS'];
  return env;
}
