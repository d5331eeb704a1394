// Runs the real @segment/analytics-next (pinned in package.json) in headless Debian Chromium, offline,
// against a collector.
//
//   COLLECTOR=http://127.0.0.1:5000 WRITE_KEY=wk_test node browser-run.mjs
//   COLLECTOR=http://127.0.0.1:5000 WRITE_KEY=wk_test STRATEGY=batching node browser-run.mjs
//
// It serves browser.html and node_modules/@segment/analytics-next/dist/umd/ from a tiny static server
// on 127.0.0.1 (random port), opens the page, waits until the page's analytics.page() and
// analytics.track('Signed Up', {plan:'pro'}) were answered by the collector with a status < 400, and
// prints JSON lines:
//   {"kind":"config",...}
//   {"kind":"request","method":"POST","path":"/v1/p","status":200,"headers":{...all request headers, incl. cookie if any...},"body":{...}}
//   {"kind":"request_failed",...}     a collector request that failed in the browser (e.g. CORS)
//   {"kind":"blocked","url":...}       an attempt to reach any host other than 127.0.0.1 (it was refused)
//   {"kind":"static","path":...}       what the page loaded from the local static server (bundle, chunks)
//   {"kind":"console",...}             the page's console messages (warnings/errors)
//   {"kind":"page_state",...}          window.gotrack as the page saw it
//   {"kind":"cookies",...}             cookies in the browser context after the run
//   {"kind":"summary","ok":true,...}
// Exit code 0 iff both calls (all six with ALL_TYPES=1) were delivered (status < 400), the lazy-chunk
// self-check loaded its chunk from the local server, and the page tried to reach nothing but 127.0.0.1
// (Chromium's own background requests are reported with origin "browser" but do not fail the run).
//
// Env:
//   COLLECTOR   collector base URL (required), e.g. http://127.0.0.1:5000
//   WRITE_KEY   write key (default wk_browser)
//   STRATEGY    standard (default; one POST per call: /v1/p, /v1/t) | batching (POST /v1/b)
//   BLOCK       proxy (default) | route. How non-127.0.0.1 traffic is blocked and reported:
//                 proxy: Chromium gets --proxy-server=<local blackhole>; loopback bypasses proxies by
//                        default, everything else lands in the blackhole, is logged and refused (403).
//                        No request interception, so CORS preflights reach the collector for real.
//                 route: page.route() aborts non-127.0.0.1 URLs. CAUTION: while any route is installed
//                        Playwright answers every CORS preflight (OPTIONS) itself with permissive
//                        headers, so the collector's own OPTIONS/CORS handling is NOT exercised.
//   ALL_TYPES=1 also identify/group/alias/screen (-> /v1/i, /v1/g, /v1/a, /v1/s); all six must be delivered
//   METRICS=1   let analytics-next post its telemetry to <collector>/v1/m (default off)
//   CHUNK=0     skip the lazy-chunk self-check
//   PAGE_PATH   path+query of the page to open (default /), e.g. /pricing?utm_source=news&utm_campaign=spring
//               (it only changes context.page / context.campaign; every path serves browser.html)
//   PROBE_EXTERNAL=1  self-test of the blocking: after delivery the page fetch()es Segment's CDN; the
//               run must then report it as blocked (origin "page") and exit 1
//   TIMEOUT_MS  wait for delivery at most this long (default 20000)
//   CHROMIUM    browser binary (default /usr/bin/chromium; RealSdkTests passes BrowserFixture.ExecutablePath,
//               so GOTRACK_CHROMIUM reaches it)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundleDir = path.join(here, 'node_modules/@segment/analytics-next/dist/umd');
const env = process.env;
const collector = env.COLLECTOR;
const writeKey = env.WRITE_KEY ?? 'wk_browser';
const strategy = env.STRATEGY ?? 'standard';
const block = env.BLOCK ?? 'proxy';
const timeoutMs = Number(env.TIMEOUT_MS ?? 20000);
const executablePath = env.CHROMIUM ?? '/usr/bin/chromium';

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

if (!collector) {
  console.error('usage: COLLECTOR=http://127.0.0.1:5000 [WRITE_KEY=..] [STRATEGY=standard|batching] node browser-run.mjs');
  process.exit(2);
}
const collectorOrigin = new URL(collector).origin;
const isLoopback = (u) => {
  try {
    const h = new URL(u).hostname;
    return /^127\./.test(h) || h === 'localhost' || h === '[::1]'; // what Chromium never sends to a proxy
  } catch {
    return true; // data:, blob:, about: ...
  }
};

// ---- static server: /analytics-next/bundles/* -> dist/umd/*, /gotrack-config.js -> the page's settings,
//      /favicon.ico -> 204, anything else -> browser.html (so PAGE_PATH can be any path and query)
const served = [];
const pageConfig = {
  collector,
  writeKey,
  strategy,
  metrics: env.METRICS === '1',
  chunk: env.CHUNK !== '0',
  allTypes: env.ALL_TYPES === '1',
};
const types = { '.js': 'text/javascript; charset=utf-8', '.html': 'text/html; charset=utf-8', '.map': 'application/json' };
const staticServer = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let file = null;
  if (url.pathname === '/gotrack-config.js') {
    served.push({ path: url.pathname, status: 200 });
    res.writeHead(200, { 'Content-Type': types['.js'], 'Cache-Control': 'no-store' });
    return res.end(`window.gotrackConfigInput = ${JSON.stringify(pageConfig)};\n`);
  }
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204);
    return res.end();
  }
  if (url.pathname.startsWith('/analytics-next/bundles/')) file = path.join(bundleDir, path.basename(url.pathname));
  else file = path.join(here, 'browser.html');
  const ok = file && fs.existsSync(file) && fs.statSync(file).isFile();
  served.push({ path: url.pathname, status: ok ? 200 : 404 });
  if (!ok) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    return res.end('not found');
  }
  res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
  fs.createReadStream(file).pipe(res);
});

// ---- blackhole proxy: every non-loopback request from Chromium ends here and is refused
const blocked = [];
const proxy = http.createServer((req, res) => {
  blocked.push({ via: 'proxy', method: req.method, url: req.url });
  res.writeHead(403, { 'Content-Type': 'text/plain' });
  res.end('blocked by browser-run.mjs (offline harness)');
});
proxy.on('connect', (req, socket) => {
  blocked.push({ via: 'proxy', method: 'CONNECT', url: req.url });
  socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
});
proxy.on('upgrade', (req, socket) => {
  blocked.push({ via: 'proxy', method: 'UPGRADE', url: req.url });
  socket.destroy();
});

const listen = (srv) => new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv.address().port)));
const staticPort = await listen(staticServer);
const proxyPort = await listen(proxy);
const pageUrl = `http://127.0.0.1:${staticPort}${env.PAGE_PATH ?? '/'}`;

out({ kind: 'config', collector, writeKey, strategy, block, page: pageUrl, chromium: executablePath });

const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
if (block === 'proxy') args.push(`--proxy-server=http://127.0.0.1:${proxyPort}`);

let browser;
let exitCode = 1;
const hardStop = setTimeout(() => {
  out({ kind: 'summary', ok: false, error: 'hard timeout' });
  process.exit(3);
}, timeoutMs + 30000);
try {
  browser = await chromium.launch({ executablePath, headless: true, args });
  const context = await browser.newContext();
  const page = await context.newPage();

  if (block === 'route') {
    await page.route((u) => !isLoopback(u.href), (route) => {
      blocked.push({ via: 'route', method: route.request().method(), url: route.request().url() });
      return route.abort('blockedbyclient');
    });
  }

  const collectorReqs = [];
  const consoleMsgs = [];
  const external = [];
  page.on('console', (m) => consoleMsgs.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => consoleMsgs.push({ type: 'pageerror', text: String(e) }));
  page.on('request', (req) => {
    if (!isLoopback(req.url())) external.push({ method: req.method(), url: req.url() });
    if (!req.url().startsWith(collectorOrigin + '/')) return;
    const rec = { method: req.method(), url: req.url(), path: new URL(req.url()).pathname, status: null, headers: null, body: null };
    collectorReqs.push(rec);
    rec.headersPromise = req.allHeaders().then((h) => (rec.headers = h)).catch(() => {});
    const raw = req.postData();
    try {
      rec.body = raw ? JSON.parse(raw) : null;
    } catch {
      rec.body = raw;
    }
    rec.req = req;
  });
  page.on('response', (res) => {
    const rec = collectorReqs.find((r) => r.req === res.request());
    if (rec) {
      rec.status = res.status();
      rec.responseHeaders = res.headers();
    }
  });
  page.on('requestfailed', (req) => {
    const rec = collectorReqs.find((r) => r.req === req);
    if (rec) rec.failure = req.failure()?.errorText ?? 'failed';
  });

  await page.goto(pageUrl, { waitUntil: 'load' });
  let delivered = false;
  try {
    await page.waitForFunction(() => window.gotrack && (window.gotrack.state === 'delivered' || window.gotrack.state === 'failed'), null, { timeout: timeoutMs, polling: 50 });
    delivered = await page.evaluate(() => window.gotrack.expected.every((t) => window.gotrack.delivered[t]));
  } catch (e) {
    consoleMsgs.push({ type: 'harness', text: `timed out after ${timeoutMs} ms waiting for delivery` });
  }
  // let the page finish (contexts, chunk self-check) without waiting for retries
  await page.waitForFunction(() => window.gotrack.chunkLoaded || window.gotrack.errors.length || !window.gotrackConfig.chunk, null, { timeout: 5000 }).catch(() => {});
  if (env.PROBE_EXTERNAL === '1') {
    const probe = await page.evaluate(() =>
      fetch('https://cdn.segment.com/v1/projects/probe/settings').then((r) => `status ${r.status}`, (e) => String(e)));
    consoleMsgs.push({ type: 'harness', text: `PROBE_EXTERNAL fetch result in page: ${probe}` });
  }
  if (env.METRICS === '1') await page.waitForTimeout(2500);
  await page.waitForTimeout(200);

  const pageState = await page.evaluate(() => {
    const { done, ...rest } = window.gotrack;
    return JSON.parse(JSON.stringify({ ...rest, documentCookie: document.cookie, userAgent: navigator.userAgent }));
  });
  const cookies = await context.cookies();

  for (const r of collectorReqs) {
    await r.headersPromise;
    out({ kind: r.failure ? 'request_failed' : 'request', method: r.method, path: r.path, url: r.url, status: r.status, failure: r.failure, headers: r.headers, responseHeaders: r.responseHeaders, body: r.body });
  }
  // Attribute blocked traffic: what the page asked for shows up in page 'request' events; what only the
  // proxy saw is Chromium's own background traffic (Debian's Chromium still phones update.googleapis.com /
  // accounts.google.com despite the flags), which has nothing to do with the SDK.
  const hostOf = (u) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(u) ? new URL(u).hostname : u.split(':')[0]); // CONNECT gives host:port
  const pageHosts = new Set(external.map((e) => hostOf(e.url)));
  const blockedOut = blocked.map((b) => ({ ...b, origin: pageHosts.has(hostOf(b.url)) ? 'page' : 'browser' }));
  for (const e of external) if (!blocked.some((b) => b.url === e.url)) blockedOut.push({ via: 'page-event', origin: 'page', ...e });
  for (const b of blockedOut) out({ kind: 'blocked', ...b });
  for (const s of served) out({ kind: 'static', ...s });
  for (const m of consoleMsgs) out({ kind: 'console', ...m });
  out({ kind: 'page_state', ...pageState });
  out({ kind: 'cookies', cookies: cookies.map((c) => ({ name: c.name, value: c.value, domain: c.domain, path: c.path })) });

  const pageBlocked = blockedOut.filter((b) => b.origin === 'page').length;
  const chunkOk = !pageConfig.chunk || pageState.chunkLoaded === true;
  const ok = delivered && pageBlocked === 0 && chunkOk;
  out({
    kind: 'summary',
    ok,
    delivered,
    collectorRequests: collectorReqs.length,
    statuses: collectorReqs.map((r) => `${r.method} ${r.path}:${r.status ?? r.failure}`),
    blockedFromPage: pageBlocked,
    blockedFromBrowserItself: blockedOut.length - pageBlocked,
    chunkSelfCheck: pageConfig.chunk ? (chunkOk ? 'loaded from local server' : 'FAILED') : 'skipped',
    chunksFromLocalServer: served.filter((s) => /\.bundle\./.test(s.path)).map((s) => s.path),
  });
  exitCode = ok ? 0 : 1;
} catch (e) {
  out({ kind: 'summary', ok: false, error: String(e?.stack ?? e) });
  exitCode = 1;
} finally {
  await browser?.close().catch(() => {});
  staticServer.close();
  proxy.close();
  clearTimeout(hardStop);
}
process.exit(exitCode);
