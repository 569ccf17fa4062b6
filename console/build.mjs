#!/usr/bin/env node
/**
 * Builds the web console (console/src → dist/console/: app.js bundled with esbuild, index.html and app.css
 * copied). Run by `npm install` (postinstall), `npm start` and `npm test`; takes well under a second.
 * `buildConsole()` is exported for the console's test.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Writes dist/console/{index.html,app.js,app.css}; rejects on a build error. */
export async function buildConsole() {
  const out = `${root}dist/console`;
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [`${root}console/src/main.ts`],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    outfile: `${out}/app.js`,
    logLevel: 'warning',
  });
  copyFileSync(`${root}console/src/index.html`, `${out}/index.html`);
  copyFileSync(`${root}console/src/app.css`, `${out}/app.css`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildConsole().catch((err) => {
    console.error(`console build failed: ${err.message}`);
    process.exit(1);
  });
}
