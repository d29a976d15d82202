// Bundles our pages and the npm libraries they import into ../build, which
// package web/ui embeds. Run by `make ui` (npm ci first).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = new URL('../build/', import.meta.url).pathname;
mkdirSync(out + 'assets', { recursive: true });
await build({
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  outfile: out + 'assets/app.js',
  logLevel: 'warning',
});
copyFileSync('index.html', out + 'index.html');
copyFileSync('favicon.svg', out + 'favicon.svg');
