/**
 * The client CLI (`strongroom kms`, src/cli/kms-commands.ts) run as a child process against a two-region test
 * deployment, with the defaults of its data directory's bootstrap.json: a sample of operations of every group
 * (lifecycle, encryption and data keys, signing, aliases, tags, grants, rotation, replication, quotas, versions), their
 * JSON on stdout and exit code 0; an API error (exit 1, the error body on stderr); usage errors (exit 2, nothing
 * sent); the SDK names; per-operation and overall help from the catalogue; the table view; credentials and endpoint
 * from Huawei's environment variables and flags; an unreachable endpoint; https with --ca / STRONGROOM_CA; and
 * `npx strongroom` writing nothing but the answer on stdout.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KMS_OPERATIONS } from '../src/api/kms/catalogue.js';
import type { Operation } from '../src/api/operation.js';
import { nameOperations, runKms } from '../src/cli/kms-commands.js';
import { freePortRange, startTestDeployment, tokenRequest, type TestDeployment } from './helpers/deployment.js';
import { iamApi } from './helpers/iam.js';

const R1 = 'cn-north-4';
const R2 = 'cn-south-1';
const MAIN = join(process.cwd(), 'src', 'cli', 'main.ts');
let d: TestDeployment;
const scratch = mkdtempSync(join(tmpdir(), 'strongroom-kms-cli-'));

before(async () => {
  d = await startTestDeployment({ regions: [R1, R2] });
});
after(async () => {
  await d?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of the child without any Huawei SDK variable of the machine running the tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HUAWEICLOUD_SDK_') && k !== 'STRONGROOM_CA') env[k] = v;
  return { ...env, ...extra };
}

/** Runs a command in the repository (asynchronously: the deployment answers from this process). */
function runCommand(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: process.cwd(), env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface KmsOptions {
  env?: Record<string, string>;
  /** The --data-dir given (default the deployment's; null: none). */
  dataDir?: string | null;
  /**
   * Runs the same code (runKms) in this process instead of a child: every child pays for loading tsx and the
   * catalogue, so the child runs are a sample of every group and the rest of the calls run here.
   */
  here?: boolean;
}

/** `strongroom kms ARGS --data-dir <the deployment's>`. */
async function kms(args: string[], o: KmsOptions = {}): Promise<Run> {
  const dir = o.dataDir === undefined ? ['--data-dir', d.dir] : o.dataDir === null ? [] : ['--data-dir', o.dataDir];
  if (!o.here) return runCommand(process.execPath, ['--import', 'tsx', MAIN, 'kms', ...args, ...dir], cleanEnv(o.env));
  let stdout = '';
  let stderr = '';
  const code = await runKms([...args, ...dir], { out: (t) => (stdout += t), err: (t) => (stderr += t) }, cleanEnv(o.env));
  return { code, stdout, stderr };
}

const here = { here: true } as const;

/** The JSON answer of a call that must succeed. */
async function ok(args: string[], o?: KmsOptions): Promise<any> {
  const r = await kms(args, o);
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, '');
  return r.stdout === '' ? undefined : JSON.parse(r.stdout);
}

/** A usage error: exit 2, a one-line message on stderr, nothing on stdout, no stack. */
async function usage(args: string[], message: RegExp, o: KmsOptions = here): Promise<void> {
  const r = await kms(args, o);
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stdout} ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

const alias = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

async function newKey(extra: string[] = [], o: KmsOptions = here): Promise<string> {
  const body = await ok(['create-key', '--key-alias', alias('cli'), ...extra], o);
  assert.match(body.key_info.key_id, /^[0-9a-f-]{36}$/);
  return body.key_info.key_id;
}

/** The key's state as the API itself reports it (not through the CLI). */
async function stateOf(keyId: string): Promise<string> {
  const r = await d.kms(R1, 'describe-key', { key_id: keyId });
  assert.equal(r.status, 200);
  return r.body.key_info.key_state;
}

test('every catalogue operation has one CLI name, its SDK name and kebab form resolve to it, and the ambiguous paths take SDK names', () => {
  const named = nameOperations(KMS_OPERATIONS as readonly Operation[]);
  assert.equal(named.length, KMS_OPERATIONS.length);
  const names = named.map((n) => n.name);
  assert.equal(new Set(names).size, names.length);
  const all = [...names, ...named.flatMap((n) => n.aliases)];
  assert.equal(new Set(all).size, all.length, 'a name or alias is shared by two operations');
  const byName = Object.fromEntries(named.map((n) => [n.op.name, n.name]));
  assert.equal(byName.CreateKey, 'create-key');
  assert.equal(byName.ListKeyDetail, 'describe-key');
  assert.equal(byName.DeleteKey, 'schedule-key-deletion');
  assert.equal(byName.ValidateSignature, 'verify');
  assert.equal(byName.CreateAlias, 'create-alias');
  assert.equal(byName.ListAliases, 'list-aliases');
  assert.equal(byName.DeleteAlias, 'delete-alias');
  assert.equal(byName.CreateKmsTag, 'create-kms-tag');
  assert.equal(byName.ShowKmsTags, 'show-kms-tags');
  assert.equal(byName.ListKmsTags, 'list-kms-tags');
  assert.equal(byName.DeleteTag, 'delete-tag');
  assert.equal(byName.ReplicateKey, 'replicate');
  assert.equal(byName.ShowVersions, 'show-versions');
  assert.ok(named.find((n) => n.op.name === 'ReplicateKey')!.aliases.includes('replicate-key'));
});

test('lifecycle: create, describe, list, disable, enable, schedule and cancel deletion, description', async () => {
  const key = await newKey(['--key-description', 'made by the CLI test'], {});
  const described = await ok(['describe-key', '--key-id', key]);
  assert.equal(described.key_info.key_id, key);
  assert.equal(described.key_info.key_state, '2');
  assert.equal(described.key_info.key_description, 'made by the CLI test');
  const listed = await ok(['list-keys', '--limit', '2000'], here);
  assert.ok(listed.keys.includes(key));
  assert.equal((await ok(['disable-key', '--key-id', key], here)).key_info.key_state, '3');
  assert.equal(await stateOf(key), '3');
  assert.equal((await ok(['enable-key', '--key_id', key], here)).key_info.key_state, '2');
  const scheduled = await ok(['schedule-key-deletion', '--key-id', key, '--pending-days', '7'], here);
  assert.equal(scheduled.key_state, '4');
  assert.equal(await stateOf(key), '4');
  assert.equal((await ok(['cancel-key-deletion', '--key-id', key], here)).key_state, '3');
  assert.equal(await stateOf(key), '3');
});

test('the SDK operation names work as well as the API names', async () => {
  const created = await ok(['CreateKey', '--key-alias', alias('sdk'), '--key-spec', 'SM4']);
  const key = created.key_info.key_id;
  const described = await ok(['ListKeyDetail', '--key-id', key], here);
  assert.equal(described.key_info.key_spec, 'SM4');
  assert.equal((await ok(['list-key-detail', '--key-id', key], here)).key_info.key_id, key);
});

test('crypto: encrypt-data and decrypt-data round trip, create-datakey, sign and verify with an EC key', async () => {
  const key = await newKey();
  const encrypted = await ok(['encrypt-data', '--key-id', key, '--plain-text', 'hello from the CLI']);
  assert.equal(encrypted.key_id, key);
  const decrypted = await ok(['decrypt-data', '--cipher-text', encrypted.cipher_text], here);
  assert.equal(decrypted.plain_text, 'hello from the CLI');
  const dataKey = await ok(['create-datakey', '--key-id', key, '--datakey-length', '256']);
  assert.match(dataKey.plain_text, /^[0-9A-F]{64}$/);

  const ec = await newKey(['--key-spec', 'EC_P256', '--key-usage', 'SIGN_VERIFY']);
  const message = Buffer.from('sign me').toString('base64');
  const common = ['--key-id', ec, '--message', message, '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_256'];
  const signed = await ok(['sign', ...common]);
  assert.ok(signed.signature.length > 0);
  assert.equal((await ok(['verify', ...common, '--signature', signed.signature], here)).signature_valid, 'true');
  const other = Buffer.from('something else').toString('base64');
  assert.equal((await ok(['ValidateSignature', '--key-id', ec, '--message', other, '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_256', '--signature', signed.signature], here)).signature_valid, 'false');
});

test('aliases (GET with a query, DELETE with a body given as a comma list) and tags (nested --tag.key flags, 204 answers print nothing)', async () => {
  const key = await newKey();
  const name = `alias/${alias('cli')}`;
  assert.equal((await ok(['create-alias', '--key-id', key, '--alias', name], here)).alias, name);
  const listed = await ok(['list-aliases', '--key-id', key]);
  assert.deepEqual(listed.aliases.map((a: { alias: string }) => a.alias), [name]);
  assert.equal(await ok(['delete-alias', '--key-id', key, '--aliases', name]), undefined);
  assert.deepEqual((await ok(['list-aliases', '--key-id', key], here)).aliases, []);

  assert.equal(await ok(['create-kms-tag', '--key-id', key, '--tag.key', 'team', '--tag.value', 'blue']), undefined);
  assert.equal(await ok(['batch-create-kms-tags', '--key-id', key, '--action', 'create', '--tags', '[{"key":"env","value":"dev"}]'], here), undefined);
  assert.deepEqual((await ok(['show-kms-tags', '--key-id', key], here)).tags, [{ key: 'env', value: 'dev' }, { key: 'team', value: 'blue' }]);
  assert.equal(await ok(['delete-tag', '--key-id', key, '--key', 'env']), undefined);
  assert.deepEqual((await ok(['show-kms-tags', '--key-id', key], here)).tags, [{ key: 'team', value: 'blue' }]);
});

test('grants: create with operations as a comma list, list, revoke', async () => {
  const user = await iamApi(d).createUser(alias('grantee'));
  const key = await newKey();
  const { grant_id } = await ok(['create-grant', '--key-id', key, '--grantee-principal', user.id, '--operations', 'describe-key,encrypt-data']);
  const listed = await ok(['list-grants', '--key-id', key], here);
  assert.deepEqual(listed.grants.map((g: { grant_id: string }) => g.grant_id), [grant_id]);
  assert.deepEqual([...listed.grants[0].operations].sort(), ['describe-key', 'encrypt-data']);
  await ok(['revoke-grant', '--key-id', key, '--grant-id', grant_id], here);
  assert.deepEqual((await ok(['list-grants', '--key-id', key], here)).grants, []);
});

test('rotation, quotas, regions and versions', async () => {
  const key = await newKey();
  await ok(['enable-key-rotation', '--key-id', key], here);
  await ok(['update-key-rotation-interval', '--key-id', key, '--rotation-interval', '30'], here);
  const status = await ok(['get-key-rotation-status', '--key-id', key]);
  assert.equal(status.key_rotation_enabled, true);
  assert.equal(status.rotation_interval, 30);
  const quotas = await ok(['user-quotas']);
  assert.ok(quotas.quotas.resources.some((r: { type: string }) => r.type === 'CMK'));
  assert.equal(typeof (await ok(['user-instances'], here)).instance_num, 'number');
  assert.deepEqual((await ok(['regions'], here)).regions, [R2]);
  assert.ok((await ok(['show-versions'], here)).versions.some((v: { id: string }) => v.id === 'v1.0'));
  assert.equal((await ok(['show-version', '--version-id', 'v1.0'], here)).version.id, 'v1.0');
});

test('multi-region: replicate a key to the second region (path parameter and body), then describe it there with --region', async () => {
  const key = await newKey();
  const replicated = await ok(['replicate-key', '--key-id', key, '--replica-region', R2, '--replica-project-id', d.projectId(R2), '--key-alias', alias('replica')]);
  assert.deepEqual(replicated, { key_id: key, domain_id: d.boot.domain_id, region: R2 });
  const there = await ok(['describe-key', '--region', R2, '--key-id', key], here);
  assert.equal(there.key_info.multi_region_key_type, 'REPLICA');
  assert.equal(there.key_info.realm, R2);
});

test('--body gives the whole body and flags override its fields; @FILE reads it from a file', async () => {
  const created = await ok(['create-key', '--body', JSON.stringify({ key_alias: 'overridden', key_spec: 'SM4', key_description: 'from --body' }), '--key-alias', alias('body')], here);
  const info = (await ok(['describe-key', '--body', JSON.stringify({ key_id: created.key_info.key_id })], here)).key_info;
  assert.equal(info.key_spec, 'SM4');
  assert.equal(info.key_description, 'from --body');
  assert.notEqual(info.key_alias, 'overridden');
  const file = join(scratch, 'body.json');
  writeFileSync(file, JSON.stringify({ key_id: created.key_info.key_id }));
  assert.equal((await ok(['describe-key', '--body', `@${file}`], here)).key_info.key_id, created.key_info.key_id);
});

test('an API error exits 1 with the error body on stderr and nothing on stdout', async () => {
  const r = await kms(['describe-key', '--key-id', '00000000-0000-0000-0000-000000000000']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(JSON.parse(r.stderr).error.error_code, 'KMS.0207');
  // A value the schema refuses is the server's to judge: also exit 1, with its code.
  const bad = await kms(['describe-key', '--key-id', 'not-a-key-id'], here);
  assert.equal(bad.code, 1);
  assert.equal(JSON.parse(bad.stderr).error.error_code, 'KMS.0205');
});

test('usage errors exit 2 with a message and send nothing', async () => {
  const before = (await ok(['list-keys', '--limit', '2000'], here)).total;
  const name = alias('never');
  await usage(['create-key', '--key-alias', name, '--no-such-field', 'x'], /unknown option --no-such-field for create-key/, {});
  await usage(['create-key', '--body', '{"key_alias": '], /--body is not valid JSON/, {});
  await usage(['create-key', '--body', '[1]'], /--body must be a JSON object/);
  await usage(['no-such-operation'], /unknown operation no-such-operation/, {});
  await usage(['create-key'], /create-key needs --key-alias/);
  await usage(['schedule-key-deletion', '--key-id', '00000000-0000-0000-0000-000000000000'], /needs --pending-days/);
  await usage(['schedule-key-deletion', '--key-id', '00000000-0000-0000-0000-000000000000', '--pending-days', 'seven'], /--pending-days takes an integer/);
  await usage(['create-rsa-datakey-pair', '--key-id', '00000000-0000-0000-0000-000000000000', '--key-spec', 'RSA_2048', '--with-plain-text', 'maybe'], /takes true or false/);
  await usage(['create-key', '--key-alias'], /--key-alias needs a value/);
  await usage(['list-keys', '--output', 'xml'], /--output takes json or table/);
  await usage(['list-keys', '--region', 'xx-nowhere-1'], /region xx-nowhere-1 is not in .*bootstrap\.json/);
  await usage(['--frobnicate'], /unknown option --frobnicate/);
  await usage(['list-keys', 'extra'], /unexpected argument "extra"/);
  const r = await kms([], here);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Usage: strongroom kms <operation>/);
  const after = await ok(['list-keys', '--limit', '2000'], here);
  assert.equal(after.total, before);
  assert.ok(!after.key_details.some((k: { key_alias: string }) => k.key_alias === name));
});

test('--help of an operation comes from the catalogue: summary, method and path, fields with types, required marks and enums', async () => {
  const r = await kms(['create-key', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^strongroom kms create-key: Create a customer master key/);
  assert.match(r.stdout, /POST \/v1\.0\/\{project_id\}\/kms\/create-key/);
  assert.match(r.stdout, /SDK operation CreateKey/);
  assert.match(r.stdout, /--key-alias \(required\)  string/);
  assert.match(r.stdout, /--key-spec  one of AES_256 \| .*EC_P256/);
  assert.match(r.stdout, /--key-description  string/);
  const tag = await kms(['CreateKmsTag', '--help'], here);
  assert.match(tag.stdout, /Path parameters:\n  --key-id \(required\)/);
  assert.match(tag.stdout, /--tag \(required\)  object \{key, value\}/);
  const schedule = await kms(['schedule-key-deletion', '-h'], here);
  assert.match(schedule.stdout, /--pending-days \(required\)  integer 7–1096/);
});

test('kms --help lists every operation, grouped', async () => {
  const r = await kms(['--help'], { dataDir: null });
  assert.equal(r.code, 0);
  for (const group of ['Key lifecycle:', 'Aliases:', 'Grants:', 'Tags:', 'Multi-region keys:']) assert.ok(r.stdout.includes(group), group);
  for (const n of nameOperations(KMS_OPERATIONS as readonly Operation[])) assert.match(r.stdout, new RegExp(`\\n  ${n.name} +\\[${n.op.name}\\]`));
});

test('--output table: one row per item for a list, field/value rows otherwise', async () => {
  const key = await newKey();
  const list = await kms(['list-keys', '--limit', '2000', '--output', 'table']);
  assert.equal(list.code, 0);
  const lines = list.stdout.split('\n');
  assert.match(lines[0]!, /^KEY_ID +DOMAIN_ID +KEY_ALIAS/);
  assert.ok(lines.some((l) => l.startsWith(key + ' ')));
  assert.match(list.stdout, /\ntotal +\d+\n/);
  const one = await kms(['describe-key', '--key-id', key, '-o', 'table'], here);
  assert.match(one.stdout, /^FIELD +VALUE\n/);
  assert.match(one.stdout, new RegExp(`\\nkey_info\\.key_id +${key}\\n`));
  assert.match(one.stdout, /\nkey_info\.key_state +2\n/);
});

test('credentials, project and endpoint from Huawei\'s environment variables; flags win over them', async () => {
  const empty = mkdtempSync(join(scratch, 'empty-'));
  const env = {
    HUAWEICLOUD_SDK_AK: d.admin.ak, HUAWEICLOUD_SDK_SK: d.admin.sk, HUAWEICLOUD_SDK_PROJECT_ID: d.projectId(R2),
    HUAWEICLOUD_SDK_REGION_ID: R2, HUAWEICLOUD_SDK_REGION_KMS_CN_SOUTH_1: d.endpoint(R2),
  };
  const key = (await ok(['create-key', '--key-alias', alias('env')], { env, dataDir: empty })).key_info;
  assert.equal(key.region_id, R2);
  // With the deployment's bootstrap.json as well, the environment still comes first.
  assert.equal((await ok(['describe-key', '--key-id', key.key_id], { env, here: true })).key_info.realm, R2);
  const wrongSk = await kms(['list-keys', '--ak', d.admin.ak, '--sk', 'not-the-secret-key'], { env, here: true });
  assert.equal(wrongSk.code, 1);
  assert.equal(JSON.parse(wrongSk.stderr).error_code, 'APIGW.0301');
  // No credentials anywhere: a usage error.
  const none = await kms(['list-keys', '--endpoint', d.endpoint(R1), '--project-id', d.projectId(R1)], { dataDir: empty, here: true });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no credentials/);
  // Flags alone, without bootstrap.json or environment.
  const flags = ['--ak', d.admin.ak, '--sk', d.admin.sk, '--endpoint', d.endpoint(R1), '--project-id', d.projectId(R1)];
  assert.equal(typeof (await ok(['user-instances', ...flags], { dataDir: empty, here: true })).instance_num, 'number');
});

test('temporary credentials: the security token from HUAWEICLOUD_SDK_SECURITY_TOKEN or --security-token is signed and sent', async () => {
  const r = await tokenRequest(d.iamUrl, await d.token(R1), 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', { auth: { identity: { methods: ['token'], token: { duration_seconds: 900 } } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const c = r.body.credential as { access: string; secret: string; securitytoken: string };
  const env = { HUAWEICLOUD_SDK_AK: c.access, HUAWEICLOUD_SDK_SK: c.secret, HUAWEICLOUD_SDK_SECURITY_TOKEN: c.securitytoken };
  assert.equal(typeof (await ok(['user-instances'], { env })).instance_num, 'number');
  const flags = ['--ak', c.access, '--sk', c.secret];
  assert.equal(typeof (await ok(['user-instances', ...flags, '--security-token', c.securitytoken], here)).instance_num, 'number');
  // Without its token a temporary key is refused: exit 1 with the gateway's error.
  const without = await kms(['user-instances', ...flags], here);
  assert.equal(without.code, 1);
  assert.equal(JSON.parse(without.stderr).error_code, 'APIGW.0301');
});

test('an unreachable endpoint exits 1 with a clear message and no stack', async () => {
  const port = await freePortRange(1);
  const r = await kms(['list-keys', '--endpoint', `http://127.0.0.1:${port}`, '--project-id', d.projectId(R1)]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}.*connection refused`));
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('https: a signed call through a TLS endpoint trusted with --ca or STRONGROOM_CA; untrusted, exit 1', { skip: !hasOpenssl && 'the openssl command is not installed' }, async () => {
  const dir = mkdtempSync(join(scratch, 'tls-'));
  const cert = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  // A TLS front for the region: forwards each request as received (the Host header the client signed included).
  const target = new URL(d.endpoint(R1));
  const server: Server = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(keyFile) }, (req, res) => {
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  const port = await freePortRange(1);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    const endpoint = `https://127.0.0.1:${port}`;
    const flags = ['--endpoint', endpoint, '--project-id', d.projectId(R1)];
    const key = (await ok(['create-key', '--key-alias', alias('tls'), ...flags, '--ca', cert])).key_info.key_id;
    assert.equal(await stateOf(key), '2');
    assert.equal((await ok(['describe-key', '--key-id', key, ...flags], { env: { STRONGROOM_CA: cert }, here: true })).key_info.key_id, key);
    const untrusted = await kms(['describe-key', '--key-id', key, ...flags], here);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, new RegExp(`cannot reach ${endpoint}`));
    assert.doesNotMatch(untrusted.stderr, /\n\s+at /);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('npx strongroom kms writes only the JSON answer on stdout', async () => {
  const r = await runCommand('npx', ['--no-install', 'strongroom', 'kms', 'list-keys', '--limit', '1', '--data-dir', d.dir], cleanEnv());
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.equal(typeof body.total, 'number');
});
