//@ts-check
// Bundles the extension (vscode stays external: the host provides it) and the CLI.
// Type errors come from `tsc --noEmit` (npm run typecheck), which esbuild does not do.
const esbuild = require('esbuild');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
// --outdir=<dir> builds elsewhere than dist/ (the packaging test measures a production build there).
const outdir = process.argv.find((a) => a.startsWith('--outdir='))?.slice('--outdir='.length) ?? 'dist';

/** Prints errors in the `file:line:col: error: message` shape VS Code's $esbuild-watch matcher reads. */
const problemMatcherPlugin = {
  name: 'problem-matcher',
  /** @param {import('esbuild').PluginBuild} build */
  setup(build) {
    build.onStart(() => console.log('[watch] build started'));
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      console.log('[watch] build finished');
    });
  },
};

/**
 * The extension's heavy dependencies live in their own bundles, dist/vendor/<name>.js, evaluated on
 * first use: activation (any YAML file activates the extension) loads dist/extension.js only, and a
 * YAML file that is not a DriftLens document never loads them. esbuild's CommonJS output has no code
 * splitting, so each is a separate entry bundle required at run time.
 *
 * In dist/extension.js an import of one of them (`import { stringify } from 'yaml'`,
 * `await import('ioredis')`, `require('protobufjs')`) gets a stand-in module whose exports are
 * getters: the first one read requires the vendor bundle. The export names are read from the package
 * here, at build time. (A plain `require('./vendor/x.js')` would run at the importing module's top,
 * and esbuild would keep an `import()` of an external file as a real ES module import.)
 */
const VENDOR = ['yaml', 'ajv', 'ioredis', 'nats', 'protobufjs', '@prometheus-io/lezer-promql'];
const vendorFile = (pkg) => `./vendor/${pkg.replace(/^@[^/]+\//, '')}.js`;

/** @type {import('esbuild').Plugin} */
const vendorPlugin = {
  name: 'vendor',
  setup(build) {
    const names = VENDOR.map((pkg) => pkg.replace(/[/.]/g, '\\$&'));
    build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, ({ path }) => ({ path, namespace: 'lazy-vendor' }));
    build.onResolve({ filter: /^\.\/vendor\//, namespace: 'lazy-vendor' }, ({ path }) => ({ path, external: true }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-vendor' }, ({ path }) => {
      const real = require(path);
      const exportNames = Object.keys(real);
      return {
        loader: 'js',
        contents: [
          `// ${path}, evaluated from ${vendorFile(path)} when one of its exports is first read (esbuild.js).`,
          'let real;',
          `const load = () => real || (real = require(${JSON.stringify(vendorFile(path))}));`,
          real.__esModule ? 'Object.defineProperty(exports, "__esModule", { value: true });' : '',
          `for (const name of ${JSON.stringify(exportNames)}) Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });`,
        ].join('\n'),
      };
    });
  },
};

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  plugins: [problemMatcherPlugin],
};

async function main() {
  const contexts = await Promise.all([
    // What VS Code loads on activation: stand-ins only (src/extension/activation.ts).
    esbuild.context({
      ...common,
      entryPoints: ['src/extension/activation.ts'],
      outfile: `${outdir}/extension.js`,
      external: ['vscode', './features.js'],
    }),
    // The features, loaded by dist/extension.js the first time something needs them.
    esbuild.context({
      ...common,
      entryPoints: ['src/extension/extension.ts'],
      outfile: `${outdir}/features.js`,
      external: ['vscode'],
      plugins: [...common.plugins, vendorPlugin],
    }),
    ...VENDOR.map((pkg) =>
      esbuild.context({
        ...common,
        stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: __dirname, sourcefile: `vendor:${pkg}`, loader: 'js' },
        outfile: `${outdir}/${vendorFile(pkg).slice(2)}`,
      }),
    ),
    // Large documents are analysed in this worker thread (src/extension/analysisWorker.ts).
    esbuild.context({
      ...common,
      entryPoints: ['src/extension/analysisWorker.ts'],
      outfile: `${outdir}/analysisWorker.js`,
    }),
    // The reference replica agent, for Node services to embed: require('driftlens/agent').
    esbuild.context({
      ...common,
      entryPoints: ['src/agent/replicaAgent.ts'],
      outfile: `${outdir}/agent.js`,
    }),
    esbuild.context({
      ...common,
      entryPoints: ['src/cli/main.ts'],
      outfile: `${outdir}/cli.js`,
      banner: { js: '#!/usr/bin/env node' },
      define: { DRIFTLENS_VERSION: JSON.stringify(require('./package.json').version) },
    }),
  ]);
  if (watch) {
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
