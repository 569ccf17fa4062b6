/**
 * The web console (README "The web console"), end to end in headless Chromium (playwright-core with the
 * distribution's /usr/bin/chromium, which CI installs: without it this test fails, it does not skip). A deployment of
 * IAM and two regions; the console is signed into through its form and every flow is run through the page, its
 * result checked both on the page and through the signed API. Screenshots of each flow go to
 * test/artifacts/console/ (gitignored). Also: the console's security headers, and what its proxy refuses.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { signedRequest, startTestDeployment, tokenRequest, type TestDeployment } from './helpers/deployment.js';
// @ts-expect-error: a plain ES module without types (the console's build script)
import { buildConsole } from '../console/build.mjs';

const CHROMIUM = process.env.STRONGROOM_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('./artifacts/console/', import.meta.url).pathname;
const N = 'cn-north-4';
const S = 'cn-south-1';
const run = randomBytes(3).toString('hex');

let d: TestDeployment;
let context: BrowserContext;
let page: Page;
let profile: string;
const pageErrors: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`);
  await buildConsole();
  mkdirSync(ARTIFACTS, { recursive: true });
  d = await startTestDeployment({ regions: [N, S] });
  profile = mkdtempSync(join(tmpdir(), 'strongroom-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  // A script error or a Content-Security-Policy violation fails the last test.
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => void (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()) && pageErrors.push(m.text())));
});

after(async () => {
  await context?.close();
  await d?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** A GET with the path exactly as given (no URL normalization), through node:http. */
function rawGet(path: string, token: string): Promise<{ status: number; body: string }> {
  const url = new URL(d.iamUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers: { 'X-Auth-Token': token } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

const kmsCall = async (region: string, op: string, body: object) => d.kms(region, op, body);

describe('the console is served by IAM with its security headers', () => {
  it('GET /console/ answers the page with a Content-Security-Policy and X-Frame-Options DENY', async () => {
    const res = await fetch(`${d.iamUrl}/console/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.match(res.headers.get('content-security-policy')!, /script-src 'self';/);
    assert.match(res.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/console\/app.js"><\/script>/);
    assert.doesNotMatch(html, /<script>/, 'no inline script');
    const js = await fetch(`${d.iamUrl}/console/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /^text\/javascript/);
    assert.equal((await fetch(`${d.iamUrl}/console/nothing.js`)).status, 404);
    const redirect = await fetch(`${d.iamUrl}/console`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), '/console/');
  });
});

describe('the console proxy', () => {
  it('forwards a KMS call with the caller\'s token, status and body as the region answers', async () => {
    const token = await d.token(N);
    const ok = await tokenRequest(d.iamUrl, token, 'POST', `/console/api/regions/${N}/v1.0/${d.projectId(N)}/kms/list-keys`, { key_spec: 'ALL' });
    assert.equal(ok.status, 200);
    assert.equal(typeof ok.body.total, 'number');
    const regions = await tokenRequest(d.iamUrl, token, 'GET', `/console/api/regions/${N}/v2/${d.projectId(N)}/kms/regions`);
    assert.equal(regions.status, 200);
    assert.deepEqual(regions.body, { regions: [S] });
  });

  it('adds no credentials of its own: without a token the region refuses (401)', async () => {
    const r = await tokenRequest(d.iamUrl, undefined, 'POST', `/console/api/regions/${N}/v1.0/${d.projectId(N)}/kms/list-keys`, {});
    assert.equal(r.status, 401);
    assert.equal(r.body.error_code, 'APIGW.0301');
    // The region's request id comes back (the one its audit trail records), not IAM's own.
    assert.equal(r.headers.get('x-request-id'), r.body.request_id);
  });

  it('a token of another region\'s project is refused by the region, not by the proxy', async () => {
    const r = await tokenRequest(d.iamUrl, await d.token(S), 'POST', `/console/api/regions/${N}/v1.0/${d.projectId(N)}/kms/list-keys`, {});
    assert.equal(r.status, 403);
    assert.equal(r.body.error.error_code, 'KMS.0321');
  });

  it('refuses an unknown region with 404', async () => {
    const r = await tokenRequest(d.iamUrl, await d.token(N), 'POST', `/console/api/regions/xx-nowhere-1/v1.0/${d.projectId(N)}/kms/list-keys`, {});
    assert.equal(r.status, 404);
    assert.equal(r.body.error_code, 'APIGW.0101');
  });

  it('refuses a path that is not a KMS API path with 404 (internal, dot segments, root)', async () => {
    const token = await d.token(N);
    for (const path of ['internal/v1/token-key', 'v1.0/../internal/x', 'v2/%2e%2e/internal', 'openapi.json', '', 'v3/users']) {
      const r = await tokenRequest(d.iamUrl, token, 'GET', `/console/api/regions/${N}/${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error_code, 'APIGW.0101', path);
    }
    // Sent as they are (fetch would resolve the dot segments before sending): refused too, never resolved onwards.
    for (const path of [`v2/%2e%2e/%2e%2e/internal/v1/transport-key`, `v2/%2E%2E/%2E%2E/openapi.json`, `v2/${d.projectId(N)}/kms/..%2f..%2finternal`, 'v1.0/./x', 'v1.0/a/../../internal/x']) {
      const answer = await rawGet(`/console/api/regions/${N}/${path}`, token);
      assert.equal(answer.status, 404, path);
      assert.equal(JSON.parse(answer.body).error_code, 'APIGW.0101', path);
    }
  });
});

describe('sign-in', () => {
  it('a wrong password shows an error and no session', async () => {
    await page.goto(`${d.iamUrl}/console/`);
    await page.getByLabel('Account name').fill(d.boot.domain_name);
    await page.getByLabel('User name').fill(d.boot.user_name);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /^IAM\.\d{4}: /);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
    await shot('00-wrong-password');
  });

  it('the right password signs in; the regions are offered', async () => {
    await page.getByLabel('Password').fill(d.boot.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.deepEqual(await page.getByLabel('Region').locator('option').allInnerTexts(), [N, S]);
    await page.getByRole('heading', { name: `Keys in ${N}` }).waitFor();
    await shot('01-signed-in');
  });
});

const SPECS = ['AES_256', 'SM4', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_P256', 'EC_P384', 'SECP256K1', 'SM2', 'ED25519', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'HMAC_SM3'];
const aliasOf = (spec: string) => `console-${run}-${spec.toLowerCase()}`;
/** Key ids by spec, read back through the signed API. */
const ids = new Map<string, string>();

/** The message bar (an <output> elsewhere has the status role too). */
const status = () => page.locator('main > div[role=status]');
/** Waits until the message bar says `text` (a success), failing at once on an error. */
async function expectStatus(text: string | RegExp): Promise<void> {
  await page.waitForFunction(
    ([src, flags]) => {
      const el = (globalThis as any).document.querySelector('[role=status], [role=alert]');
      return el !== null && (el.getAttribute('role') === 'alert' || new RegExp(src!, flags).test(el.textContent ?? ''));
    },
    typeof text === 'string' ? [text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), ''] : [text.source, text.flags],
  );
  assert.equal(await page.getByRole('alert').count(), 0, `error shown: ${await page.getByRole('alert').allInnerTexts()}`);
  assert.match(await status().innerText(), typeof text === 'string' ? new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : text);
}

describe('keys', () => {
  it('creates a key of every spec', async () => {
    const form = page.getByRole('form', { name: 'Create a key' });
    for (const spec of SPECS) {
      await form.getByLabel('Alias', { exact: true }).fill(aliasOf(spec));
      await form.getByLabel('Key spec').selectOption(spec);
      if (spec === 'SM2') await form.getByLabel('Key usage').selectOption('ENCRYPT_DECRYPT');
      await form.getByRole('button', { name: 'Create key' }).click();
      await expectStatus(`Created key ${aliasOf(spec)}`);
    }
    const listed = await kmsCall(N, 'list-keys', { key_spec: 'ALL' });
    assert.equal(listed.status, 200);
    for (const spec of SPECS) {
      const k = listed.body.key_details.find((x: { key_alias: string }) => x.key_alias === aliasOf(spec));
      assert.ok(k, `${spec} key listed by the API`);
      assert.equal(k.key_spec, spec);
      assert.equal(k.key_state, '2');
      if (spec === 'SM2') assert.equal(k.key_usage, 'ENCRYPT_DECRYPT');
      ids.set(spec, k.key_id);
    }
    await shot('02-created-every-spec');
  });

  it('lists keys by pages and filters them by spec, state and alias', async () => {
    const table = page.getByRole('table', { name: 'Keys' });
    const rows = () => table.locator('tbody tr');
    await page.getByLabel('Page size').selectOption('5');
    await page.getByText(`Page 1: 5 shown of ${SPECS.length} keys`).waitFor();
    assert.equal(await rows().count(), 5);
    // Newest first: the last spec created heads the first page.
    assert.equal(await rows().first().locator('td').first().innerText(), aliasOf(SPECS.at(-1)!));
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText(`Page 2: 5 shown of ${SPECS.length} keys`).waitFor();
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText(`Page 3: ${SPECS.length - 10} shown of ${SPECS.length} keys`).waitFor();
    assert.equal(await rows().last().locator('td').first().innerText(), aliasOf(SPECS[0]!));
    assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
    await shot('03-list-page-3');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText(`Page 2: 5 shown of ${SPECS.length} keys`).waitFor();
    await page.getByRole('group', { name: 'Filters' }).getByLabel('Spec').selectOption('HMAC_384');
    await page.getByText('Page 1: 1 shown of 1 keys').waitFor();
    assert.equal(await rows().first().locator('td').first().innerText(), aliasOf('HMAC_384'));
    await page.getByRole('group', { name: 'Filters' }).getByLabel('Spec').selectOption('ALL');
    await page.getByLabel('Page size').selectOption('50');
    await page.getByLabel('Alias contains').fill('-rsa_');
    await page.getByText(`Page 1: 3 shown of ${SPECS.length} keys`).waitFor();
    await page.getByLabel('Alias contains').fill('');
    await page.getByLabel('State').selectOption('3');
    await page.getByText('Page 1: 0 shown of 0 keys').waitFor();
    await page.getByLabel('State').selectOption('');
    await page.getByText(`Page 1: ${SPECS.length} shown of ${SPECS.length} keys`).waitFor();
    await shot('04-list-filtered');
  });

  const describeKey = async (region: string, spec: string) => (await kmsCall(region, 'describe-key', { key_id: ids.get(spec)! })).body.key_info;
  const state = () => page.getByTestId('key-state');

  it('disables, enables, schedules and cancels deletion of a key', async () => {
    await page.getByRole('button', { name: `Open ${aliasOf('AES_256')}` }).click();
    await page.getByRole('heading', { name: `Key ${aliasOf('AES_256')}` }).waitFor();
    await page.getByRole('button', { name: 'Disable key' }).click();
    await expectStatus('Key disabled.');
    assert.equal(await state().innerText(), 'Disabled');
    assert.equal((await describeKey(N, 'AES_256')).key_state, '3');
    await page.getByRole('button', { name: 'Enable key' }).click();
    await expectStatus('Key enabled.');
    assert.equal(await state().innerText(), 'Enabled');
    assert.equal((await describeKey(N, 'AES_256')).key_state, '2');
    await page.getByLabel('Days before deletion').fill('9');
    await page.getByRole('button', { name: 'Schedule deletion' }).click();
    await expectStatus('Deletion scheduled in 9 days.');
    assert.equal(await state().innerText(), 'Pending deletion');
    const pending = await describeKey(N, 'AES_256');
    assert.equal(pending.key_state, '4');
    assert.equal(pending.pending_days, '9');
    await shot('05-pending-deletion');
    await page.getByRole('button', { name: 'Cancel deletion' }).click();
    await expectStatus('Deletion cancelled');
    assert.equal(await state().innerText(), 'Disabled');
    assert.equal((await describeKey(N, 'AES_256')).key_state, '3');
    await page.getByRole('button', { name: 'Enable key' }).click();
    await expectStatus('Key enabled.');
    assert.equal((await describeKey(N, 'AES_256')).key_state, '2');
  });

  it('encrypts and decrypts a short text', async () => {
    const text = `hello console ${run} ✓`;
    await page.getByLabel('Plaintext', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Encrypt', exact: true }).click();
    await expectStatus('Encrypted.');
    const cipher = await page.getByLabel('Ciphertext').inputValue();
    assert.ok(cipher.length > 40);
    // The ciphertext the page shows is the API's: the signed API decrypts it.
    const back = await kmsCall(N, 'decrypt-data', { cipher_text: cipher });
    assert.equal(back.status, 200);
    assert.equal(back.body.plain_text, text);
    await page.getByRole('button', { name: 'Decrypt', exact: true }).click();
    await expectStatus('Decrypted.');
    assert.equal(await page.getByLabel('Decrypted text').innerText(), text);
    await shot('06-encrypt-decrypt');
  });

  it('changes the alias and description and sets and removes tags', async () => {
    const renamed = `${aliasOf('AES_256')}-renamed`;
    await page.getByLabel('New alias').fill(renamed);
    await page.getByRole('button', { name: 'Change alias' }).click();
    await expectStatus(`Alias changed to ${renamed}.`);
    await page.getByRole('heading', { name: `Key ${renamed}` }).waitFor();
    assert.equal((await describeKey(N, 'AES_256')).key_alias, renamed);
    await page.getByLabel('New description').fill('payments, from the console');
    await page.getByRole('button', { name: 'Change description' }).click();
    await expectStatus('Description changed.');
    assert.equal(await page.getByTestId('key-description').innerText(), 'payments, from the console');
    assert.equal((await describeKey(N, 'AES_256')).key_description, 'payments, from the console');
    for (const [k, v] of [['team', 'payments'], ['env', 'test']] as const) {
      await page.getByLabel('Tag key').fill(k);
      await page.getByLabel('Tag value').fill(v);
      await page.getByRole('button', { name: 'Add tag' }).click();
      await expectStatus(`Tag ${k} set.`);
    }
    const tagsOf = async () => {
      const r = await signedRequest(d.endpoint(N), d.admin, d.projectId(N), 'GET', `/v1.0/${d.projectId(N)}/kms/${ids.get('AES_256')}/tags`);
      return (r.body.tags as { key: string; value: string }[]).map((t) => `${t.key}=${t.value}`).sort();
    };
    assert.deepEqual(await tagsOf(), ['env=test', 'team=payments']);
    assert.equal(await page.getByRole('table', { name: 'Tags' }).locator('tr').count(), 2);
    await shot('07-alias-description-tags');
    await page.getByRole('button', { name: 'Remove tag env' }).click();
    await expectStatus('Tag env removed.');
    assert.deepEqual(await tagsOf(), ['team=payments']);
    assert.equal(await page.getByRole('table', { name: 'Tags' }).locator('tr').count(), 1);
  });

  it('turns rotation on, sets its interval and off again', async () => {
    await page.getByRole('button', { name: 'Enable rotation' }).click();
    await expectStatus('Rotation enabled.');
    await page.getByLabel('Rotation interval (days)').fill('90');
    await page.getByRole('button', { name: 'Set interval' }).click();
    await expectStatus('Rotation interval set to 90 days.');
    assert.match(await page.getByTestId('rotation-status').innerText(), /^Rotation enabled, every 90 days; 0 rotations/);
    let r = await kmsCall(N, 'get-key-rotation-status', { key_id: ids.get('AES_256')! });
    assert.equal(r.body.key_rotation_enabled, true);
    assert.equal(r.body.rotation_interval, 90);
    await page.getByRole('button', { name: 'Rotate now' }).click();
    await expectStatus('Key rotated.');
    assert.match(await page.getByTestId('rotation-status').innerText(), /1 rotations, last \d{4}-/);
    await shot('08-rotation');
    await page.getByRole('button', { name: 'Disable rotation' }).click();
    await expectStatus('Rotation disabled.');
    r = await kmsCall(N, 'get-key-rotation-status', { key_id: ids.get('AES_256')! });
    assert.equal(r.body.key_rotation_enabled, false);
    assert.equal(r.body.number_of_rotations, 1);
  });

  it('replicates the key to the other region and moves its primary there', async () => {
    assert.deepEqual(await page.getByLabel('Replica region').locator('option').allInnerTexts(), [S]);
    await page.getByLabel('Replica alias').fill(`${aliasOf('AES_256')}-south`);
    await page.getByRole('button', { name: 'Replicate' }).click();
    await expectStatus(`Replicated to ${S}.`);
    await page.getByTestId('key-regions').getByText(`${N} (PRIMARY), ${S} (REPLICA)`).waitFor();
    assert.equal((await describeKey(S, 'AES_256')).multi_region_key_type, 'REPLICA');
    assert.equal((await describeKey(N, 'AES_256')).multi_region_key_type, 'PRIMARY');
    await shot('09-replicated');
    await page.getByLabel('New primary region').selectOption(S);
    await page.getByRole('button', { name: 'Make primary' }).click();
    await expectStatus(`${S} is now the primary region.`);
    await page.getByTestId('key-regions').getByText(`${N} (REPLICA), ${S} (PRIMARY)`).waitFor();
    assert.equal((await describeKey(S, 'AES_256')).multi_region_key_type, 'PRIMARY');
    assert.equal((await describeKey(N, 'AES_256')).multi_region_key_type, 'REPLICA');
    await page.getByText(`This is a replica: replicate and move the primary from the primary's region (${S}).`).waitFor();
    await shot('10-primary-moved');
  });

  it('shows the key\'s audit trail in the region', async () => {
    await page.getByRole('button', { name: 'Show audit trail' }).click();
    const table = page.getByRole('table', { name: 'Audit trail' });
    await table.waitFor();
    // Newest first, reads hidden: the changes of the flows above, from the primary move back.
    const changes = ['UpdatePrimaryRegion', 'ReplicateKey', 'DisableKeyRotation', 'RotateOnDemand', 'UpdateKeyRotationInterval', 'EnableKeyRotation',
      'DeleteTag', 'CreateKmsTag', 'CreateKmsTag', 'UpdateKeyDescription', 'UpdateKeyAlias', 'DecryptData', 'DecryptData', 'EncryptData',
      'EnableKey', 'CancelKeyDeletion', 'DeleteKey', 'EnableKey', 'DisableKey'];
    // Calls from the other region (`internal:…`, such as the sync after the primary moved) come when they come.
    const own = (ops: string[]) => ops.filter((o) => !o.startsWith('internal:'));
    assert.deepEqual(own(await table.locator('tbody tr td:nth-child(2)').allInnerTexts()), changes);
    const callers = new Set(await table.locator('tbody tr td:nth-child(3)').allInnerTexts());
    callers.delete(`region ${S}`);
    assert.deepEqual(callers, new Set([`${d.boot.user_name} (token)`, `${d.boot.user_name} (access-key)`]));
    // What the page shows is the API's answer (the signed call sees the console's own reads as well).
    const apiOps: string[] = [];
    let marker = '';
    do {
      const r = await signedRequest(d.endpoint(N), d.admin, d.projectId(N), 'GET', `/v2/${d.projectId(N)}/kms/keys/${ids.get('AES_256')}/audit-trail`, undefined, { limit: '100', ...(marker ? { marker } : {}) });
      assert.equal(r.status, 200);
      apiOps.push(...(r.body.records as { operation: string }[]).map((x) => x.operation));
      marker = r.body.next_marker;
    } while (marker);
    const apiChanges = apiOps.filter((o) => !/^(List|Show)/.test(o)).reverse();
    assert.deepEqual(own(apiChanges), changes);
    await page.getByLabel('Show reads too').check();
    assert.ok((await table.locator('tbody tr td:nth-child(2)').allInnerTexts()).includes('ListKeyDetail'));
    await shot('11-audit-trail');
  });
});

const iamGet = async (path: string) => tokenRequest(d.iamUrl, await d.token(N), 'GET', path);
let userId = '';

describe('users and groups', () => {
  const userName = `console-user-${run}`;
  const groupName = `console-group-${run}`;

  it('creates a user and a group, adds the user to it and grants the group a permission in a region', async () => {
    await page.getByRole('button', { name: 'Users and groups' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByLabel('New user name').fill(userName);
    await page.getByLabel('New user password').fill(`Console-${run}-pw!`);
    await page.getByRole('button', { name: 'Create user' }).click();
    await expectStatus(`User ${userName} created`);
    const users = await iamGet(`/v3/users?name=${userName}`);
    assert.equal(users.status, 200);
    assert.equal(users.body.users.length, 1);
    userId = users.body.users[0].id;
    await page.getByRole('table', { name: 'Users' }).getByText(userId).waitFor();

    await page.getByLabel('New group name').fill(groupName);
    await page.getByLabel('Group description').fill('made in the console');
    await page.getByRole('button', { name: 'Create group' }).click();
    await expectStatus(`Group ${groupName} created.`);
    const groups = await iamGet(`/v3/groups?name=${groupName}`);
    assert.equal(groups.body.groups.length, 1);
    const groupId = groups.body.groups[0].id;

    await page.getByRole('button', { name: `Open group ${groupName}` }).click();
    await page.getByRole('heading', { name: `Members of ${groupName}` }).waitFor();
    await page.getByLabel('User to add').selectOption({ label: userName });
    await page.getByRole('button', { name: 'Add to group' }).click();
    await expectStatus(`User added to ${groupName}.`);
    await page.getByRole('table', { name: 'Members' }).getByText(userName).waitFor();
    const members = await iamGet(`/v3/groups/${groupId}/users`);
    assert.deepEqual(members.body.users.map((u: { id: string }) => u.id), [userId]);

    await page.getByRole('form', { name: 'Grant a permission' }).getByLabel('Permission').selectOption({ label: 'KMS CMKFullAccess' });
    await page.getByLabel('In region').selectOption(N);
    await page.getByRole('button', { name: 'Grant permission' }).click();
    await expectStatus(`Permission granted in ${N}.`);
    await page.getByRole('button', { name: `Remove KMS CMKFullAccess in ${N}` }).waitFor();
    const roles = await iamGet(`/v3/projects/${d.projectId(N)}/groups/${groupId}/roles`);
    assert.deepEqual(roles.body.roles.map((r: { display_name: string }) => r.display_name), ['KMS CMKFullAccess']);
    const south = await iamGet(`/v3/projects/${d.projectId(S)}/groups/${groupId}/roles`);
    assert.deepEqual(south.body.roles, []);
    await shot('12-users-groups');
  });
});

describe('grants', () => {
  it('grants a user operations on a key and revokes the grant', async () => {
    assert.ok(userId, 'the user of the previous flow');
    await page.getByRole('button', { name: 'Keys' }).click();
    await page.getByLabel('Page size').selectOption('50');
    await page.getByRole('button', { name: `Open ${aliasOf('SM4')}` }).click();
    await page.getByRole('heading', { name: `Key ${aliasOf('SM4')}` }).waitFor();
    const form = page.getByRole('form', { name: 'Create a grant' });
    await form.getByLabel('Grantee user ID').fill(userId);
    await form.getByLabel('encrypt-data', { exact: true }).check();
    await form.getByLabel('decrypt-data', { exact: true }).check();
    await form.getByRole('button', { name: 'Create grant' }).click();
    await expectStatus(/^Grant [0-9a-f]{64} created\.$/);
    const grants = await kmsCall(N, 'list-grants', { key_id: ids.get('SM4')! });
    assert.equal(grants.body.grants.length, 1);
    const g = grants.body.grants[0];
    assert.equal(g.grantee_principal, userId);
    assert.deepEqual([...g.operations].sort(), ['decrypt-data', 'encrypt-data']);
    const table = page.getByRole('table', { name: 'Grants' });
    await table.getByText(userId).waitFor();
    await shot('13-grant');
    await table.getByRole('button', { name: `Revoke grant ${g.grant_id.slice(0, 8)}` }).click();
    await expectStatus('Grant revoked.');
    assert.equal(await table.getByText(userId).count(), 0);
    assert.deepEqual((await kmsCall(N, 'list-grants', { key_id: ids.get('SM4')! })).body.grants, []);
  });
});

describe('sign-out', () => {
  it('revokes the session\'s tokens and shows the sign-in form again', async () => {
    const token = await page.evaluate(() => JSON.parse((globalThis as any).sessionStorage.getItem('strongroom.console.session')!).regions[0].token as string);
    assert.equal((await tokenRequest(d.iamUrl, token, 'POST', `/console/api/regions/${N}/v1.0/${d.projectId(N)}/kms/list-keys`, {})).status, 200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('strongroom.console.session')), null);
    // IAM refuses the token at once; the regions learn of it from IAM's revocation feed.
    const checked = await tokenRequest(d.iamUrl, token, 'GET', '/v3/auth/tokens', undefined, { 'X-Subject-Token': token });
    assert.equal(checked.status, 401);
    let status = 0;
    for (let i = 0; i < 100 && status !== 401; i++) {
      status = (await tokenRequest(d.iamUrl, token, 'POST', `/console/api/regions/${N}/v1.0/${d.projectId(N)}/kms/list-keys`, {})).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 401);
  });
});

describe('a region that does not answer', () => {
  it('the proxy answers 502 KMS.0103; the page showed no script error or CSP violation all along', async () => {
    const token = await d.token(S);
    await d.stopRegion(S);
    const r = await tokenRequest(d.iamUrl, token, 'POST', `/console/api/regions/${S}/v1.0/${d.projectId(S)}/kms/list-keys`, {});
    assert.equal(r.status, 502);
    assert.equal(r.body.error.error_code, 'KMS.0103');
    assert.deepEqual(pageErrors, []);
  });
});
