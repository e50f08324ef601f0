// Bundles src/extension.ts and vscode-languageclient into out/extension.js
// (the vsix ships no node_modules: `vsce package --no-dependencies`).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/extension.ts'],
  outfile: 'out/extension.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  // vscode-languageclient's `./node` export has only the `node` condition.
  conditions: ['node'],
  sourcemap: false,
  minify: process.argv.includes('--minify'),
  logLevel: 'warning',
});
