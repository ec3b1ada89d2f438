//@ts-check
// Bundles the extension (vscode stays external: the host provides it) and the CLI.
// Type errors come from `tsc --noEmit` (npm run typecheck), which esbuild does not do.
const esbuild = require('esbuild');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

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
    esbuild.context({
      ...common,
      entryPoints: ['src/extension/extension.ts'],
      outfile: 'dist/extension.js',
      external: ['vscode'],
    }),
    // Large documents are analysed in this worker thread (src/extension/analysisWorker.ts).
    esbuild.context({
      ...common,
      entryPoints: ['src/extension/analysisWorker.ts'],
      outfile: 'dist/analysisWorker.js',
    }),
    // The reference replica agent, for Node services to embed: require('driftlens/agent').
    esbuild.context({
      ...common,
      entryPoints: ['src/agent/replicaAgent.ts'],
      outfile: 'dist/agent.js',
    }),
    esbuild.context({
      ...common,
      entryPoints: ['src/cli/main.ts'],
      outfile: 'dist/cli.js',
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
