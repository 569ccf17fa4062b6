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
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestDeployment, tokenRequest, type TestDeployment } from './helpers/deployment.js';
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
});

after(async () => {
  await context?.close();
  await d?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

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
