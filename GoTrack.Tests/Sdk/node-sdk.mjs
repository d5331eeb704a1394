// Drives the real @segment/analytics-node SDK (pinned in package.json) against a collector.
//
//   HOST=http://127.0.0.1:5000 WRITE_KEY=wk_test MODE=plain node node-sdk.mjs
//   HOST=http://127.0.0.1:5000 WRITE_KEY=wk_test MODE=gzip  node node-sdk.mjs
// (the same settings are accepted as arguments: node node-sdk.mjs HOST=... WRITE_KEY=... MODE=gzip)
//
// What it sends:
//   1. track, page, identify, group, alias and screen (fixed userId/anonymousId, messageId left to the
//      SDK), then flush() -> one POST {HOST}/v1/batch holding those 6 messages
//   2. BULK (500) track events with flushAt = BULK -> one POST {HOST}/v1/batch holding all of them
//   3. closeAndFlush()
//
// stdout: one JSON object per line
//   {"kind":"config",...}
//   ("attempt" numbers every HTTP attempt of the run; "retryCount" is the SDK's X-Retry-Count for that batch)
//   {"kind":"request","attempt":1,"retryCount":0,"url":...,"headers":{...},"contentEncoding":..,"bodyBytes":..,"wireBytes":..,"events":6,"types":[..],"messageIds":[..]}
//   {"kind":"response","attempt":1,"status":200,...}        (one per attempt, so retries are visible)
//   {"kind":"network_error","attempt":2,"error":"..."}        (connection refused/reset/timeout; the SDK retries these)
//   {"kind":"sdk_error","code":"delivery_failure","reason":"[400] Bad Request","messageId":...}
//   {"kind":"summary","ok":true,"sent":506,"delivered":506,"failed":0,"sdkErrors":0,"requests":2,"statuses":{"200":2}}
// Exit code 0 iff every message's callback reported delivery and the SDK emitted no 'error'.
//
// Env (or NAME=value args):
//   HOST          collector base URL (required; the SDK appends PATH)
//   WRITE_KEY     write key (required)
//   MODE          plain (default) | gzip  — gzip wraps the SDK's FetchHTTPClient and gzips the body
//                 (analytics-node 3.1.0 itself never compresses)
//   PATH_         API path, default /v1/batch (SDK default). (PATH_ because PATH is the shell's)
//   BULK          number of bulk track events, default 500
//   FLUSH_AT      SDK flushAt, default max(BULK, 15) (SDK default is 15)
//   MAX_RETRIES   SDK maxRetries; default: SDK default (10). Backoff is 1-2 s, 2-4 s, 4-8 s, ... capped at 60 s.
//   TIMEOUT_MS    closeAndFlush timeout, default 60000 (unfinished batches are aborted and count as failed)
//   HTTP_TIMEOUT_MS  SDK httpRequestTimeout, default SDK default (10000)
//   USER_ID / ANON_ID  override the fixed ids (default sdk-user-1 / sdk-anon-1)
//   PRINT_BODY=1  also print each request body (parsed) in the request line
import zlib from 'node:zlib';
import { Analytics, FetchHTTPClient } from '@segment/analytics-node';

const args = Object.fromEntries(
  process.argv.slice(2).filter((a) => a.includes('=')).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])
);
const cfg = (name, def) => args[name] ?? process.env[name] ?? def;

const host = cfg('HOST');
const writeKey = cfg('WRITE_KEY');
const mode = cfg('MODE', 'plain');
const path = cfg('PATH_');
const bulk = Number(cfg('BULK', 500));
const flushAt = Number(cfg('FLUSH_AT', Math.max(bulk, 15)));
const maxRetries = cfg('MAX_RETRIES') !== undefined ? Number(cfg('MAX_RETRIES')) : undefined;
const timeoutMs = Number(cfg('TIMEOUT_MS', 60000));
const httpTimeout = cfg('HTTP_TIMEOUT_MS') !== undefined ? Number(cfg('HTTP_TIMEOUT_MS')) : undefined;
const userId = cfg('USER_ID', 'sdk-user-1');
const anonymousId = cfg('ANON_ID', 'sdk-anon-1');
const printBody = cfg('PRINT_BODY') === '1';

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

if (!host || !writeKey) {
  console.error('usage: HOST=http://127.0.0.1:5000 WRITE_KEY=key [MODE=plain|gzip] node node-sdk.mjs');
  process.exit(2);
}
if (!['plain', 'gzip'].includes(mode)) {
  console.error(`unknown MODE ${mode} (plain|gzip)`);
  process.exit(2);
}

// A transparent wrapper around the SDK's own default client (FetchHTTPClient -> globalThis.fetch).
// In plain mode it changes nothing; it exists so that every attempt — including network errors,
// which never reach the SDK's 'http_response' event — is visible. In gzip mode it gzips the body
// and adds Content-Encoding: gzip.
class RecordingClient {
  inner = new FetchHTTPClient();
  attempt = 0;
  statuses = {};
  async makeRequest(options) {
    const attempt = ++this.attempt;
    const parsed = JSON.parse(options.body);
    let request = options;
    let wireBytes = Buffer.byteLength(options.body);
    if (mode === 'gzip') {
      const gz = zlib.gzipSync(Buffer.from(options.body, 'utf8'));
      wireBytes = gz.length;
      request = { ...options, body: gz, headers: { ...options.headers, 'Content-Encoding': 'gzip' } };
    }
    out({
      kind: 'request',
      attempt,
      retryCount: Number(request.headers['X-Retry-Count'] ?? 0),
      method: request.method,
      url: request.url,
      headers: request.headers,
      contentEncoding: mode === 'gzip' ? 'gzip' : null,
      bodyBytes: Buffer.byteLength(options.body),
      wireBytes,
      bodyKeys: Object.keys(parsed),
      events: parsed.batch?.length,
      types: [...new Set((parsed.batch ?? []).map((e) => e.type))],
      messageIds: (parsed.batch ?? []).map((e) => e.messageId),
      ...(printBody ? { body: parsed } : {}),
    });
    try {
      const res = await this.inner.makeRequest(request);
      let text = '';
      try {
        text = await res.clone().text();
      } catch {}
      this.statuses[res.status] = (this.statuses[res.status] ?? 0) + 1;
      out({ kind: 'response', attempt, url: request.url, status: res.status, statusText: res.statusText, body: text.slice(0, 500) });
      return res;
    } catch (e) {
      this.statuses.network_error = (this.statuses.network_error ?? 0) + 1;
      out({ kind: 'network_error', attempt, url: request.url, error: String(e?.cause ?? e) });
      throw e;
    }
  }
}

const client = new RecordingClient();
const analytics = new Analytics({
  writeKey,
  host,
  ...(path ? { path } : {}),
  flushAt,
  ...(maxRetries !== undefined ? { maxRetries } : {}),
  ...(httpTimeout !== undefined ? { httpRequestTimeout: httpTimeout } : {}),
  httpClient: client,
});

out({ kind: 'config', host, path: path ?? '/v1/batch', mode, bulk, flushAt, maxRetries: maxRetries ?? 'sdk-default(10)', sdk: analytics.VERSION, node: process.version });

let sent = 0;
let delivered = 0;
let failed = 0;
let sdkErrors = 0;
analytics.on('error', (err) => {
  sdkErrors++;
  out({ kind: 'sdk_error', code: err.code, reason: String(err.reason?.message ?? err.reason), messageId: err.ctx?.event?.messageId, type: err.ctx?.event?.type });
});
const cb = (err) => {
  if (err) failed++;
  else delivered++;
};
const call = (fn, msg) => {
  sent++;
  fn(msg, cb);
};

// 1. one of each message type (screen too: the SDK has it, and the collector must accept it)
call(analytics.track, { userId, anonymousId, event: 'Order Completed', properties: { orderId: 'o-1', revenue: 42.5, currency: 'USD' } });
call(analytics.page, { userId, anonymousId, category: 'Docs', name: 'Getting Started', properties: { url: 'https://example.test/docs', path: '/docs', title: 'Docs' } });
call(analytics.identify, { userId, anonymousId, traits: { email: 'ada@example.test', name: 'Ada', plan: 'pro' } });
call(analytics.group, { userId, anonymousId, groupId: 'sdk-group-1', traits: { name: 'Acme', employees: 42 } });
call(analytics.alias, { userId, previousId: anonymousId });
call(analytics.screen, { userId, anonymousId, name: 'Home', properties: { variant: 'a' } });
await analytics.flush({ timeout: timeoutMs });

// 2. the bulk: flushAt == bulk (by default), so the SDK sends them as one /v1/batch (as long as it stays < 480 KB)
for (let i = 0; i < bulk; i++) {
  call(analytics.track, { userId, anonymousId, event: 'Bulk Event', properties: { i } });
}

// 3. close
await analytics.closeAndFlush({ timeout: timeoutMs });

const ok = delivered === sent && failed === 0 && sdkErrors === 0;
out({ kind: 'summary', ok, sent, delivered, failed, sdkErrors, requests: client.attempt, statuses: client.statuses });
process.exit(ok ? 0 : 1);
