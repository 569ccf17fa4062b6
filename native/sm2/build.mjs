// Builds native/sm2 (`npm run build:native`) with node-gyp against the headers of the node that runs this script,
// which include node's own OpenSSL headers. Nothing is downloaded: if npm's `nodedir` is not set, the install
// prefix of this node (where include/node/ lives) is passed instead. node-gyp is npm's bundled copy.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// `--if-needed`: nothing to do when the addon is newer than its source (npm start runs this every time).
const built = join(here, 'build', 'Release', 'sm2.node');
if (process.argv.includes('--if-needed') && existsSync(built) && statSync(built).mtimeMs > statSync(join(here, 'sm2.c')).mtimeMs) process.exit(0);
const nodedir = process.env.npm_config_nodedir || resolve(process.execPath, '..', '..');
const headers = join(nodedir, 'include', 'node');
if (!existsSync(join(headers, 'node_api.h')) || !existsSync(join(headers, 'openssl', 'evp.h'))) {
  console.error(`build:native: no node headers with OpenSSL under ${nodedir}/include/node (set npm's nodedir)`);
  process.exit(1);
}
// npm sets npm_config_node_gyp for scripts; run directly, use the copy bundled with this node's npm.
const bundled = join(nodedir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const result = spawnSync(cmd, [...args, 'rebuild', '-C', here, `--nodedir=${nodedir}`], { stdio: 'inherit' });
if (result.error) console.error(`build:native: ${result.error.message}`);
process.exit(result.status ?? 1);
