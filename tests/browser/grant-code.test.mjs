// grant-code.test.mjs - packaging/grant-code.html in a real headless Chromium.
//
// Serves the page from a loopback HTTP server started here, as an
// administrator would host it at the OAuth client's redirect URI, and loads
// it the way Heroku's redirect does: with a code, with an error, with a code
// and an error description carrying HTML, and with nothing.  Checks what a
// person would see (the text, the copy button, the copied code), that no
// injected markup or script comes alive, that the Content-Security-Policy
// hashes match the page's script and style and nothing is refused, and that
// the page asks for nothing but itself.  One screenshot per case goes to
// $TEST_ARTIFACTS_DIR (default tests/browser/test-artifacts/, git-ignored).
//
// Run through tests/browser/run, which checks the prerequisites first.
// Prints "ok NAME" / "FAIL NAME: why" per case, then "N passed, N failed".

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRCDIR = process.env.abs_top_srcdir || path.resolve(HERE, '..', '..');
const PAGE_FILE = path.join(SRCDIR, 'packaging', 'grant-code.html');
const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR || path.join(HERE, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CALLBACK = '/oauth/callback';

// The flags every Chromium run here gets: headless, no sandbox (CI runs as
// root), nothing that reaches out to the network on its own.
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const CODE = '3c7e0a4b-6f1d-4e2a-9b8c-5d6e7f801234';
const STATE = '5f0e1d2c3b4a59687766554433221100';
const HTML_CODE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>';
const HTML_DESCRIPTION = '<img src=y onerror="window.__pwned=3">denied <i>by</i> the user';

class Failure extends Error {}

function check(cond, why) {
  if (!cond) throw new Failure(why);
}

function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

// ---------------------------------------------------------------------------
// The page's own promises, read from the file.

const pageText = readFileSync(PAGE_FILE, 'utf8');

function cspOf(text) {
  const m = text.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
  return m ? m[1] : null;
}

// ---------------------------------------------------------------------------
// The loopback server: the page at the callback path, 404 elsewhere.

function startServer() {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === CALLBACK) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(pageText);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, requests, origin: `http://127.0.0.1:${server.address().port}` });
    });
  });
}

// ---------------------------------------------------------------------------
// One page load, with everything a case may want to look at.

async function load(ctx, query) {
  const page = await ctx.context.newPage();
  const consoleMessages = [];
  const pageErrors = [];
  const requested = [];
  page.on('console', (msg) => consoleMessages.push(`${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('request', (req) => requested.push(req.url()));
  const url = `${ctx.origin}${CALLBACK}${query}`;
  const response = await page.goto(url, { waitUntil: 'load' });
  check(response && response.status() === 200, `GET ${CALLBACK} answered ${response && response.status()}`);
  return { page, consoleMessages, pageErrors, requested };
}

// What every load must show: no refused resource, no error, nothing fetched
// but the page itself, and no injected script having run.
async function expectClean(ctx, view) {
  const csp = view.consoleMessages.filter((m) => /Content Security Policy|Refused to/i.test(m));
  check(csp.length === 0, `CSP refused something: ${csp.join(' | ')}`);
  check(view.pageErrors.length === 0, `page errors: ${view.pageErrors.join(' | ')}`);
  const foreign = view.requested.filter((u) => !u.startsWith(ctx.origin + CALLBACK));
  check(foreign.length === 0, `the page asked for more than itself: ${foreign.join(', ')}`);
  const pwned = await view.page.evaluate(() => window.__pwned);
  check(pwned === undefined, `injected script ran (window.__pwned = ${pwned})`);
  // The query is dropped from the address and the history.
  check(!view.page.url().includes('?'), `the address still holds the query: ${view.page.url()}`);
}

async function screenshot(view, name) {
  const file = path.join(ARTIFACTS, `grant-code-${name}.png`);
  await view.page.screenshot({ path: file, fullPage: true });
  return file;
}

async function visibleText(view, selector) {
  const locator = view.page.locator(selector);
  check(await locator.isVisible(), `${selector} is not visible`);
  return (await locator.innerText()).trim();
}

async function expectHidden(view, selector) {
  check(!(await view.page.locator(selector).isVisible()), `${selector} is visible`);
}

// ---------------------------------------------------------------------------
// Cases.

const cases = {
  async csp_matches_page() {
    const csp = cspOf(pageText);
    check(csp !== null, 'no Content-Security-Policy meta tag');
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name, values]));
    check(directives['default-src']?.join(' ') === "'none'", `default-src is ${directives['default-src']}`);
    for (const [tag, directive] of [['script', 'script-src'], ['style', 'style-src']]) {
      const blocks = [...pageText.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))];
      check(blocks.length === 1, `${blocks.length} <${tag}> blocks`);
      const want = `'sha256-${sha256(blocks[0][1])}'`;
      check(directives[directive]?.length === 1 && directives[directive][0] === want,
        `${directive} is ${directives[directive]}, the ${tag} hashes to ${want}: update the policy`);
    }
    const tokens = csp.split(/[\s;]+/);
    for (const forbidden of ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", 'http:', 'https:', '*', 'data:', 'blob:']) {
      check(!tokens.includes(forbidden), `the policy allows ${forbidden}`);
    }
    check(!/<(script|link|img|iframe)[^>]+(src|href)=/i.test(pageText), 'the page loads an external resource');
    check(!/\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write/.test(pageText),
      'the page writes HTML from script');
  },

  async code_shown_and_copied(ctx) {
    const view = await load(ctx, `?code=${encodeURIComponent(CODE)}&state=${STATE}`);
    const shown = await visibleText(view, '#code');
    check(shown === CODE, `the code shown is ${JSON.stringify(shown)}`);
    const fontSize = await view.page.$eval('#code', (el) => parseFloat(getComputedStyle(el).fontSize));
    check(fontSize >= 24, `the code is not large (font-size ${fontSize}px): is the style refused?`);
    const button = view.page.getByRole('button', { name: 'Copy code' });
    check(await button.isVisible() && await button.isEnabled(), 'no visible "Copy code" button');
    const main = await visibleText(view, 'main');
    check(/Paste this code at the SSH or sudo prompt/.test(main), `no paste instruction in: ${main}`);
    await expectHidden(view, '#error-view');
    await expectHidden(view, '#empty-view');
    await button.click();
    await view.page.waitForFunction(() => document.getElementById('copy-status').textContent !== '',
      null, { timeout: 5000 });
    const status = (await view.page.locator('#copy-status').innerText()).trim();
    check(status === 'Copied.', `after the click the page says ${JSON.stringify(status)}`);
    const clipboard = await view.page.evaluate(() => navigator.clipboard.readText());
    check(clipboard === CODE, `the clipboard holds ${JSON.stringify(clipboard)}`);
    await expectClean(ctx, view);
    await screenshot(view, 'code');
    await view.page.close();
  },

  async error_shown(ctx) {
    const view = await load(ctx,
      `?error=access_denied&error_description=${encodeURIComponent('The user denied access.')}&state=${STATE}`);
    const title = await visibleText(view, '#error-view h1');
    check(title === 'Heroku did not give a grant code', `title ${JSON.stringify(title)}`);
    check(await visibleText(view, '#error') === 'access_denied', 'the error id is not shown');
    check(await visibleText(view, '#error-description') === 'The user denied access.',
      'the error description is not shown');
    await expectHidden(view, '#code-view');
    check(await view.page.getByRole('button').count() === 0, 'a button on the error page');
    const color = await view.page.$eval('#error-view h1', (el) => getComputedStyle(el).color);
    check(color !== 'rgb(0, 0, 0)', `the error title is not styled (${color})`);
    await expectClean(ctx, view);
    await screenshot(view, 'error');
    await view.page.close();
  },

  async error_wins_over_code(ctx) {
    const view = await load(ctx, `?code=${CODE}&error=invalid_request`);
    check(await visibleText(view, '#error') === 'invalid_request', 'the error is not shown');
    await expectHidden(view, '#code-view');
    await expectClean(ctx, view);
    await view.page.close();
  },

  async html_in_code_is_text(ctx) {
    const view = await load(ctx, `?code=${encodeURIComponent(HTML_CODE)}&state=${STATE}`);
    const shown = await visibleText(view, '#code');
    check(shown === HTML_CODE, `shown ${JSON.stringify(shown)}, want the markup as text`);
    const children = await view.page.$eval('#code', (el) => el.children.length);
    check(children === 0, `the code became ${children} element(s)`);
    const injected = await view.page.evaluate(() => document.querySelectorAll('main img, main b, main script').length);
    check(injected === 0, `${injected} injected element(s) in the page`);
    await expectClean(ctx, view);
    check(!ctx.requests.some((u) => u === '/x' || u.startsWith('/x?')), 'the injected <img> was fetched');
    await screenshot(view, 'html-code');
    await view.page.close();
  },

  async html_in_error_is_text(ctx) {
    const view = await load(ctx,
      `?error=${encodeURIComponent('<b>access_denied</b>')}&error_description=${encodeURIComponent(HTML_DESCRIPTION)}`);
    check(await visibleText(view, '#error') === '<b>access_denied</b>', 'the error is not shown as text');
    check(await visibleText(view, '#error-description') === HTML_DESCRIPTION,
      'the description is not shown as text');
    const injected = await view.page.evaluate(() => document.querySelectorAll('main img, main b, main i').length);
    check(injected === 0, `${injected} injected element(s) in the page`);
    await expectClean(ctx, view);
    await screenshot(view, 'html-error');
    await view.page.close();
  },

  async no_code(ctx) {
    const view = await load(ctx, '');
    const title = await visibleText(view, '#empty-view h1');
    check(title === 'No grant code here', `title ${JSON.stringify(title)}`);
    await expectHidden(view, '#code-view');
    await expectHidden(view, '#error-view');
    await expectClean(ctx, view);
    await view.page.close();
  },
};

// ---------------------------------------------------------------------------

async function main() {
  const only = process.argv.slice(2);
  const names = Object.keys(cases).filter((n) => only.length === 0 || only.includes(n));
  let passed = 0;
  let failed = 0;
  let ctx = null;
  let userDataDir = null;
  mkdirSync(ARTIFACTS, { recursive: true });
  try {
    const { server, requests, origin } = await startServer();
    userDataDir = mkdtempSync(path.join(tmpdir(), 'pam_heroku-chromium.'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 900, height: 640 },
      timeout: 60000,
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    // Nothing but the loopback server, whatever the page (or an injection) asks for.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      return url.startsWith(origin + '/') ? route.continue() : route.abort();
    });
    ctx = { server, requests, origin, context };
  } catch (err) {
    console.log(`FAIL setup: ${String(err && err.message || err).split('\n')[0]}`);
    console.log('0 passed, 1 failed');
    if (ctx) await ctx.context.close();
    process.exitCode = 1;
    return;
  }
  for (const name of names) {
    try {
      await cases[name](ctx);
      console.log(`ok ${name}`);
      passed++;
    } catch (err) {
      const why = err instanceof Failure ? err.message : String(err && err.stack || err);
      console.log(`FAIL ${name}: ${why.split('\n').slice(0, 3).join(' ')}`);
      failed++;
    }
  }
  await ctx.context.close();
  ctx.server.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  console.log(`screenshots: ${ARTIFACTS}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

await main();
