#!/usr/bin/env node
/**
 * Strongroom through Huawei's official signer: creates an SM4 key, encrypts a text with it and decrypts it again,
 * each request sent by `@huaweicloud/huaweicloud-sdk-core` (HcClient, signed with the access key: SDK-HMAC-SHA256),
 * the way every Huawei SDK client does. The SDK core is a devDependency of this repository: `npm ci` installs it.
 *
 *   node examples/official-sdk.mjs [--data-dir DIR] [--region REGION] [--text TEXT] [--verbose]
 *
 * The endpoints, the project and the access key come from DIR/bootstrap.json (DIR: `./data` by default, relative to
 * the current directory), which `npm start` writes. Prints the key id, the ciphertext and the decrypted text; exits
 * 0 on success, 1 when the deployment answers an error or cannot be reached, 2 on a usage error. `--verbose` lets
 * the SDK's own log of failed exchanges through (on stdout).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

// Output piped into a command that stops reading (`| head -1`) ends the script quietly.
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));

const USAGE = 'usage: node examples/official-sdk.mjs [--data-dir DIR] [--region REGION] [--text TEXT] [--verbose]';

function fail(message, code) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

let args;
try {
  args = parseArgs({
    options: {
      'data-dir': { type: 'string', default: './data' },
      region: { type: 'string' },
      text: { type: 'string', default: 'hello from the official SDK' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${err.message}\n${USAGE}`, 2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const dataDir = resolve(process.cwd(), args['data-dir']);
const bootstrapFile = resolve(dataDir, 'bootstrap.json');
if (!existsSync(bootstrapFile)) {
  fail(`No bootstrap.json in ${dataDir}: start a deployment first (\`npm start\` in the Strongroom repository writes\n`
    + './data/bootstrap.json there), or give the data directory of a running one with --data-dir DIR (a relative DIR\n'
    + 'is taken from the current directory).', 1);
}
let boot;
try {
  boot = JSON.parse(readFileSync(bootstrapFile, 'utf8'));
} catch (err) {
  fail(`Cannot read ${bootstrapFile}: ${err.message}`, 1);
}
const region = args.region === undefined ? boot.regions?.[0] : boot.regions?.find((r) => r.id === args.region);
if (!region) {
  fail(`No region ${args.region ?? ''} in ${bootstrapFile} (it has: ${(boot.regions ?? []).map((r) => r.id).join(', ')})`, 2);
}

// The SDK core is CommonJS.
const require = createRequire(import.meta.url);
let sdk;
try {
  sdk = {
    BasicCredentials: require('@huaweicloud/huaweicloud-sdk-core').BasicCredentials,
    ClientBuilder: require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder').ClientBuilder,
    log: require('@huaweicloud/huaweicloud-sdk-core/logger/log4jLogger').Logger4jInstance,
  };
} catch {
  fail('@huaweicloud/huaweicloud-sdk-core is not installed: run `npm ci` in the repository first.', 1);
}
// The SDK logs every failed exchange on stdout (request headers included); this script says what failed itself.
if (!args.verbose) sdk.log.level = 'off';

const client = new sdk.ClientBuilder((hc) => hc)
  .withCredential(new sdk.BasicCredentials().withAk(boot.access_key).withSk(boot.secret_key).withProjectId(region.project_id))
  .withEndpoint(region.endpoint)
  .build();

/** One KMS call through the SDK's HcClient; the answer's JSON fields, or exits 1 with the error. */
async function send(operation, data) {
  try {
    return await client.sendRequest({
      method: 'POST', url: `/v1.0/{project_id}/kms/${operation}`, contentType: 'application/json;charset=UTF-8',
      queryParams: {}, pathParams: {}, headers: {}, data,
    });
  } catch (err) {
    if (err?.httpStatusCode) {
      fail(`${operation}: ${err.httpStatusCode} ${err.errorCode ?? ''} ${err.errorMsg ?? err.message ?? ''}`.trim(), 1);
    }
    fail(`${operation}: cannot reach ${region.endpoint} (${err?.message ?? err}). Is the deployment of ${dataDir} running?`, 1);
  }
}

// A new alias each run (aliases are unique in an account and region), so the script can be run again and again.
const alias = `official-sdk-${Date.now()}-${randomBytes(3).toString('hex')}`;
const { key_info: keyInfo } = await send('create-key', { key_alias: alias, key_spec: 'SM4' });
console.log(`create-key    ${region.id}  key_id ${keyInfo.key_id}  alias ${alias}`);
const { cipher_text: cipherText } = await send('encrypt-data', { key_id: keyInfo.key_id, plain_text: args.text });
console.log(`encrypt-data  cipher_text ${cipherText}`);
const { plain_text: plainText } = await send('decrypt-data', { cipher_text: cipherText });
console.log(`decrypt-data  plain_text ${plainText}`);
if (plainText !== args.text) fail('decrypt-data answered another text than the one encrypted', 1);
