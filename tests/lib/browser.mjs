// A real browser for tests: Debian's chromium (deploy/install-deps.sh installs it), headless,
// driven by playwright-core (tests/package.json). openFile() opens one local file the way a
// person double-clicks it, takes a screenshot, and says what the page shows and what it asked
// for: a self-contained page asks for nothing but itself.
//
//   import { browserSkip, openFile } from '../../lib/browser.mjs';
//   test('…', { skip: browserSkip() }, async () => {
//     const page = await openFile('/tmp/report.html');
//     assert.deepEqual(page.outside, []);          // no request for anything but the file
//     assert.ok(page.screenshot.variance > 0);      // not a blank page
//     assert.match(page.text, /CC6\.1/);
//   });
//
// Every request the page makes is recorded; any request other than the file itself is
// aborted (the page is offline too) and listed in `outside`, so a test fails on it instead of
// the page quietly loading something from the network.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

export const CHROMIUM = process.env.HUBGATE_CHROMIUM || '/usr/bin/chromium';

// The switches a headless chromium needs as root in a container, and the ones that keep it
// from calling home (updates, sync, field trials) while a test runs.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--no-default-browser-check',
];

function loadPlaywright() {
  try {
    return createRequire(import.meta.url)('playwright-core');
  } catch {
    return null;
  }
}

// Why a browser test cannot run here (a string for node:test's `skip`), or false.
// HUBGATE_SANITIZED=1 (ctest's environment for the ASan+UBSan build): the browser is no code of
// ours, and the same test runs whole against the normal build.
export function browserSkip() {
  if (process.env.HUBGATE_SANITIZED === '1') return 'the browser is not driven in the sanitizer build (HUBGATE_SANITIZED=1)';
  if (!fs.existsSync(CHROMIUM)) return `no browser at ${CHROMIUM} (deploy/install-deps.sh installs chromium)`;
  if (!loadPlaywright()) return 'playwright-core is not installed (tests/package.json; ./tests/run.sh installs it)';
  return false;
}

// ---- PNG → pixels (8-bit RGB or RGBA, not interlaced: what chromium writes) ----------------

function paeth(a, b, c) {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8;
  let width = 0, height = 0, depth = 0, type = 0, interlace = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const kind = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      type = data[9];
      interlace = data[12];
    } else if (kind === 'IDAT') {
      idat.push(data);
    } else if (kind === 'IEND') {
      break;
    }
    off += 12 + len;
  }
  if (depth !== 8 || (type !== 2 && type !== 6) || interlace !== 0)
    throw new Error(`PNG of depth ${depth}, color type ${type}, interlace ${interlace}: only 8-bit RGB(A) is decoded`);
  const bpp = type === 6 ? 4 : 3;
  const stride = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = px.subarray(y * stride, (y + 1) * stride);
    const prev = y ? px.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[x - bpp] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= bpp ? prev[x - bpp] : 0;
      const v = line[x];
      out[x] = (filter === 0 ? v : filter === 1 ? v + a : filter === 2 ? v + b
        : filter === 3 ? v + ((a + b) >> 1) : filter === 4 ? v + paeth(a, b, c) : NaN) & 0xff;
      if (filter > 4) throw new Error(`PNG filter ${filter}`);
    }
  }
  return { width, height, bpp, pixels: px };
}

// Luminance statistics of a screenshot: a blank page (one colour) has variance 0 and one
// distinct value.
export function pixelStats(png) {
  const { width, height, bpp, pixels } = decodePng(png);
  let sum = 0, sum2 = 0;
  const distinct = new Set();
  const n = width * height;
  for (let i = 0; i < n; i++) {
    const o = i * bpp;
    const l = 0.2126 * pixels[o] + 0.7152 * pixels[o + 1] + 0.0722 * pixels[o + 2];
    sum += l;
    sum2 += l * l;
    if (distinct.size < 4096) distinct.add((pixels[o] << 16) | (pixels[o + 1] << 8) | pixels[o + 2]);
  }
  const mean = sum / n;
  return { width, height, mean, variance: sum2 / n - mean * mean, distinct: distinct.size };
}

// Opens `file` (a path) in headless chromium. Resolves
//   { url, title, text, headings, requests, outside, screenshot: {png, width, height, mean,
//     variance, distinct}, console }
// text: the DOM's text (document.body.innerText); headings: the text of each h1–h6 in order;
// requests: every URL the page asked for, the file included; outside: those that were not the
// file (each aborted). Writes the screenshot to `screenshotPath` when given.
export async function openFile(file, { width = 1280, height = 1600, fullPage = true, screenshotPath, timeoutMs = 60000 } = {}) {
  const pw = loadPlaywright();
  if (!pw) throw new Error(browserSkip() || 'playwright-core is missing');
  const url = pathToFileURL(path.resolve(file)).href;
  const requests = [];
  const outside = [];
  const console = [];
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hubgate-chromium-'));
  let context;
  try {
    // A profile of its own (--user-data-dir), removed afterwards.
    context = await pw.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      env: { ...process.env, HOME: profile },
      timeout: timeoutMs,
      viewport: { width, height },
      offline: true,
      serviceWorkers: 'block',
    });
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u === url) return route.continue();
      outside.push(u);
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('websocket', (ws) => outside.push(ws.url()));
    page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
    // networkidle: until nothing is in flight (every outside request is aborted at once).
    const response = await page.goto(url, { waitUntil: 'networkidle', timeout: timeoutMs });
    if (response && !response.ok() && url.startsWith('http')) throw new Error(`${url}: ${response.status()}`);
    const title = await page.title();
    const text = await page.evaluate(() => document.body ? document.body.innerText : '');
    const headings = await page.$$eval('h1, h2, h3, h4, h5, h6', (hs) => hs.map((h) => h.textContent.trim()));
    const png = await page.screenshot({ fullPage, type: 'png', timeout: timeoutMs });
    if (screenshotPath) fs.writeFileSync(screenshotPath, png);
    return { url, title, text, headings, requests, outside: [...new Set(outside)], console, screenshot: { png, ...pixelStats(png) } };
  } finally {
    await context?.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// A browser for pages served over http (hubgate's own, the IdP's): a context with a profile of
// its own, removed by close(). Resolves { context, page, close() }.
export async function browserContext({ width = 1100, height = 900, timeoutMs = 60000 } = {}) {
  const pw = loadPlaywright();
  if (!pw) throw new Error(browserSkip() || 'playwright-core is missing');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hubgate-chromium-'));
  const context = await pw.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, HOME: profile },
    timeout: timeoutMs,
    viewport: { width, height },
    serviceWorkers: 'block',
  });
  context.setDefaultTimeout(timeoutMs);
  const page = context.pages()[0] || await context.newPage();
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
