/**
 * Bundles the compiled `kvx` executable (dist/main.js, so run `tsc -b` first; the root `npm run build` runs
 * both) into one ES module, dist/kvx.mjs, which the committed shim bin/kvx.js loads.
 *
 * Why: a `kvx out` cold start spent most of its time resolving and loading the ~250 files behind it (the
 * client, axios and its dependencies); the same code as one file starts about 40 % faster
 * (bench/cli-cold-start.ts). Modules reached through `import()` or `require()` stay lazily evaluated inside
 * the bundle, so `kvx out` still runs none of the YAML parser, the progress bar, the diff library, the StatsD
 * client or the other commands.
 *
 * Left out of the bundle, and loaded from node_modules when used:
 * - `@kvx/lock`: its supervisor starts reaper.js next to its own module file, which the bundle does not have;
 * - `@kvx/devagent`: only `kvx agent` and `kvx demo` need it;
 * - `unix-dgram`: hot-shots' optional native module for DogStatsD over a Unix socket.
 *
 * undici comes in as the two modules the client uses (scripts/undici-slim.cjs), not as the whole library.
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const dist = (file) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

/** How the workspace packages load a dependency on first use (see the client's metrics.ts). */
const LAZY_REQUIRE = 'createRequire(import.meta.url)(';

/**
 * Turns the workspace packages' `createRequire(import.meta.url)('pkg')` into `require('pkg')`, which esbuild
 * bundles (still evaluated at the first call). Left as it was, `import.meta.url` would be the bundle's URL,
 * and the package would be looked up from @kvx/cli, which does not depend on it.
 */
const bundleLazyRequires = {
  name: 'kvx-bundle-lazy-requires',
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/][^\\/]+[\\/]dist[\\/].*\.js$/ }, async ({ path }) => ({
      contents: (await readFile(path, 'utf8')).replaceAll(LAZY_REQUIRE, 'require('),
      loader: 'js',
    }));
  },
};

/** The undici exports scripts/undici-slim.cjs provides. */
const SLIM_UNDICI_EXPORTS = ['Client', 'buildConnector'];

/**
 * Points `import … from 'undici'` at scripts/undici-slim.cjs (see there why), after checking that the compiled
 * client imports no other undici export, which the slim module would leave undefined.
 */
const slimUndici = {
  name: 'kvx-bundle-slim-undici',
  setup(b) {
    const slim = fileURLToPath(new URL('./undici-slim.cjs', import.meta.url));
    // The client's undici, the one it pins and was tested with, whatever copy npm hoisted elsewhere.
    const clientPackage = fileURLToPath(new URL('../../client/package.json', import.meta.url));
    const fromClient = createRequire(clientPackage);
    b.onResolve({ filter: /^undici$/ }, () => ({ path: slim }));
    b.onResolve({ filter: /^undici\// }, (args) => ({ path: fromClient.resolve(args.path) }));
    b.onStart(async () => {
      const pinned = JSON.parse(await readFile(clientPackage, 'utf8')).dependencies.undici;
      const found = fromClient('undici/package.json').version;
      if (found !== pinned) throw new Error(`@kvx/client pins undici ${pinned} but resolves ${found}: run npm ci`);
    });
    b.onLoad({ filter: /[\\/]packages[\\/]client[\\/]dist[\\/].*\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const named = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'undici'/g)];
      if (named.length !== source.split(/from\s*'undici'|import\(\s*'undici'\s*\)/).length - 1) {
        throw new Error(`${path} loads undici other than by named imports: extend scripts/undici-slim.cjs and this check`);
      }
      for (const [, names] of named) {
        for (const name of names.split(',').map((n) => n.trim().split(/\s+as\s+/)[0]).filter(Boolean)) {
          if (!SLIM_UNDICI_EXPORTS.includes(name)) throw new Error(`${path} imports ${name} from undici: add it to scripts/undici-slim.cjs`);
        }
      }
      return undefined;
    });
  },
};

await build({
  entryPoints: [dist('main.js')],
  outfile: dist('kvx.mjs'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@kvx/lock', '@kvx/devagent', 'unix-dgram'],
  plugins: [slimUndici, bundleLazyRequires],
  // CommonJS dependencies (axios's follow-redirects, form-data, hot-shots, …) call `require`, which an ES
  // module lacks.
  banner: {
    js: "import { createRequire as __kvxCreateRequire } from 'node:module';\nconst require = __kvxCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// Any other spelling of a lazy require would resolve from the bundle's directory at run time: fail here instead.
if ((await readFile(dist('kvx.mjs'), 'utf8')).includes('createRequire(import.meta.url)')) {
  throw new Error("dist/kvx.mjs resolves modules from its own directory: load lazy dependencies as createRequire(import.meta.url)('name')");
}
