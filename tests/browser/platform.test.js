// The platform flow in a real headless browser (Debian's Chromium driven by playwright-core):
// sign-in at gateway A through identity-backend's sign-in page (a wrong password first), single
// sign-on at gateway B, RP-initiated logout at A, and B signed out by back-channel logout.
//
// scripts/browser-test.sh starts the provider and the gateways and sets the environment:
//   IDP_URL, GATEWAY_A_URL, GATEWAY_B_URL   base URLs (no trailing slash)
//   TEST_USERNAME, TEST_PASSWORD            a user registered with the provider CLI
//   THIRD_PARTY_CLIENT_ID, THIRD_PARTY_REDIRECT_URI   optional: a --third-party client (consent page)
//   SCREENSHOT_DIR                          where NN-name.png files go
//   SIGN_IN_IMAGE                           optional: a copy of the sign-in page screenshot
//   CHROMIUM                                the browser binary (default /usr/bin/chromium)

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chromium } from 'playwright-core';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (run scripts/browser-test.sh)`);
  return value.replace(/\/$/, '');
}

const IDP = env('IDP_URL');
const A = env('GATEWAY_A_URL');
const B = env('GATEWAY_B_URL');
const USERNAME = env('TEST_USERNAME');
const PASSWORD = env('TEST_PASSWORD');
const SCREENSHOTS = env('SCREENSHOT_DIR');
const SIGN_IN_IMAGE = process.env.SIGN_IN_IMAGE;
const THIRD_PARTY = process.env.THIRD_PARTY_CLIENT_ID;
const THIRD_PARTY_REDIRECT = process.env.THIRD_PARTY_REDIRECT_URI;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** How long the provider may take to deliver a logout token (it sends at once, retries after 2 s). */
const BACKCHANNEL_WAIT_MS = 15_000;

let browser;
let context;
let page;
let shot = 0;
/** Main-frame navigations (URL and status), for the assertions on redirects. */
let navigations = [];
/** Set when a step fails: the later steps depend on it and are skipped. */
let broken = false;

async function screenshot(name) {
  shot += 1;
  const file = path.join(SCREENSHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A step of the flow: skipped once an earlier one failed. */
function step(name, body) {
  it(name, async (t) => {
    if (broken) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await body(t);
    } catch (error) {
      broken = true;
      await screenshot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`).catch(() => {});
      throw error;
    }
  });
}

async function expectSignInPage() {
  await page.waitForURL((url) => url.href.startsWith(`${IDP}/`));
  await page.locator('#password').waitFor({ state: 'visible' });
  await assertVisible(page.locator('#username'), 'the username field');
}

async function assertVisible(locator, what) {
  assert.ok(await locator.isVisible(), `${what} should be visible at ${page.url()}`);
}

describe('the platform flow in a browser', { concurrency: false }, () => {
  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    // One context: one cookie jar, as one person's browser. The provider and both gateways are
    // on 127.0.0.1, so they share it by host; only the cookie names keep them apart.
    context = await browser.newContext({ viewport: { width: 960, height: 720 }, locale: 'en-US' });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
        navigations.push({ url: response.url(), status: response.status() });
      }
    });
  });

  after(async () => {
    await browser?.close();
  });

  step('gateway A sends an anonymous visitor to the sign-in page', async () => {
    await page.goto(`${A}/`);
    await expectSignInPage();
    assert.ok(
      new URL(page.url()).pathname === '/authorize' || new URL(page.url()).pathname === '/login',
      `expected the provider's /authorize page, got ${page.url()}`,
    );
    const file = await screenshot('sign-in');
    if (SIGN_IN_IMAGE) {
      await mkdir(path.dirname(SIGN_IN_IMAGE), { recursive: true });
      await copyFile(file, SIGN_IN_IMAGE);
    }
  });

  const focused = () => page.evaluate(() => document.activeElement?.id ?? '');

  step('a wrong password, typed with the keyboard only, shows an error announced to assistive technology', async () => {
    // The cursor starts in the username field; Tab goes to the password; Enter signs in.
    assert.equal(await focused(), 'username', 'the username field has the focus on arrival');
    await page.keyboard.type(USERNAME);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'password', 'Tab leads from the username to the password');
    await page.keyboard.type(`${PASSWORD}-wrong`);
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await alert.waitFor({ state: 'visible' });
    const text = (await alert.innerText()).trim();
    assert.ok(text.length > 0, 'the error message is empty');
    assert.ok(!text.includes(PASSWORD), 'the error must not echo the password');
    const live = await alert.getAttribute('aria-live');
    assert.ok(live === 'assertive' || live === 'polite', `aria-live is ${live}`);
    assert.ok(page.url().startsWith(`${IDP}/`), `still at the provider, not ${page.url()}`);
    // The form is there again, ready for another try: the name kept, the password empty and
    // the cursor in it.
    await assertVisible(page.locator('#password'), 'the password field');
    assert.equal(await page.inputValue('#username'), USERNAME);
    assert.equal(await page.inputValue('#password'), '');
    assert.equal(await focused(), 'password', 'after a failed sign-in the password field has the focus');
    await screenshot('wrong-password');
  });

  step('the right password signs in at gateway A', async () => {
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${A}/`);
    await page.getByText('Signed in as').waitFor();
    assert.equal(await page.locator('h1').innerText(), 'gateway-a');
    await screenshot('gateway-a-signed-in');
  });

  step("gateway A calls the resource server with the user's access token", async () => {
    await page.getByRole('link', { name: /GET \/whoami/ }).click();
    await page.waitForURL(`${A}/resource`);
    const status = await page.locator('p', { hasText: 'Status:' }).innerText();
    assert.match(status, /\b200\b/, `the resource server answered ${status}`);
    await page.goto(`${A}/`);
  });

  step('gateway B signs in without a password (single sign-on)', async () => {
    navigations = [];
    await page.goto(`${B}/`);
    await page.waitForURL(`${B}/`);
    await page.getByText('Signed in as').waitFor();
    assert.equal(await page.locator('h1').innerText(), 'gateway-b');
    const atProvider = navigations.filter((n) => n.url.startsWith(`${IDP}/`));
    assert.ok(atProvider.length > 0, 'the sign-in went through the provider');
    // Every provider response was a redirect: no page (so no password field) was shown.
    for (const n of atProvider) {
      assert.ok(n.status >= 300 && n.status < 400, `the provider showed a page: ${n.status} ${n.url}`);
    }
    await screenshot('gateway-b-signed-in-by-sso');
  });

  step('a third-party client gets the consent page', async (t) => {
    if (!THIRD_PARTY || !THIRD_PARTY_REDIRECT) {
      t.skip('THIRD_PARTY_CLIENT_ID is not set');
      return;
    }
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${IDP}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: THIRD_PARTY,
      redirect_uri: THIRD_PARTY_REDIRECT,
      scope: 'openid profile email',
      state: randomBytes(16).toString('base64url'),
      nonce: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    await page.goto(url.href);
    await page.locator('button[value="allow"]').waitFor();
    await assertVisible(page.locator('button[value="deny"]'), 'the Deny button');
    assert.equal(await page.locator('#password').count(), 0, 'signed in: no password asked');
    await screenshot('consent');
  });

  step('an unknown client_id gets an error page, not a redirect', async () => {
    const url = new URL(`${IDP}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'no-such-client',
      redirect_uri: 'https://attacker.example/callback',
      scope: 'openid',
      state: 's',
    }).toString();
    const response = await page.goto(url.href);
    assert.ok(page.url().startsWith(`${IDP}/`), `redirected away to ${page.url()}`);
    assert.ok(response.status() >= 400 && response.status() < 500, `status ${response.status()}`);
    await page.getByText('is not registered with this sign-in service').waitFor();
    await screenshot('error-unknown-client');
  });

  step('the back-channel endpoint refuses what is not a logout token', async () => {
    const post = async (body) => {
      const response = await fetch(`${B}/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
      });
      return { status: response.status, body: await response.json() };
    };
    for (const body of [{}, { logout_token: 'not-a-jwt' }]) {
      const answer = await post(body);
      assert.equal(answer.status, 400, JSON.stringify(answer));
      assert.equal(answer.body.error, 'invalid_request');
    }
    // A token the provider really signed, for gateway B, but an ID token (dev mode's
    // /test-token): no logout event, so it must not end anything.
    const minted = await (await fetch(`${IDP}/test-token?aud=gateway-b`)).json();
    const answer = await post({ logout_token: minted.id_token });
    assert.equal(answer.status, 400, JSON.stringify(answer));
    // Gateway B still has its session.
    await page.goto(`${B}/`);
    await page.getByText('Signed in as').waitFor();
  });

  step('signing out at gateway A signs out there and at the provider', async () => {
    await page.goto(`${A}/`);
    await page.getByText('Signed in as').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    // With id_token_hint the provider may end the session at once; otherwise it asks.
    await page.waitForURL((url) => url.href.startsWith(`${A}/?`) || url.href.startsWith(`${IDP}/`));
    if (page.url().startsWith(`${IDP}/`)) {
      await page.getByRole('heading', { name: /sign out/i }).waitFor();
      await screenshot('provider-sign-out-confirmation');
      await page.getByRole('button', { name: /sign out/i }).click();
    }
    await page.waitForURL((url) => url.href.startsWith(`${A}/?`));
    await page.getByText('You are signed out').waitFor();
    await screenshot('gateway-a-signed-out');
  });

  step('gateway B is signed out too (back-channel logout)', async () => {
    // The provider delivers logout tokens from a background task: allow it a moment.
    const deadline = Date.now() + BACKCHANNEL_WAIT_MS;
    for (;;) {
      await page.goto(`${B}/`);
      if (page.url().startsWith(`${IDP}/`)) break;
      assert.ok(
        Date.now() < deadline,
        `gateway B still shows ${page.url()} ${BACKCHANNEL_WAIT_MS} ms after the sign-out: no back-channel logout`,
      );
      await page.waitForTimeout(250);
    }
    await expectSignInPage();
    await screenshot('gateway-b-asks-for-password-again');
  });
});
