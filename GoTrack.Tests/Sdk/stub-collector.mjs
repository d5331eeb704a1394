// Throwaway stand-in for GoTrack.Ingest, for developing/debugging the SDK harness
// (node-sdk.mjs, browser-run.mjs) without the real collector.
//
//   node stub-collector.mjs                  # random port; first stdout line: {"listening":"http://127.0.0.1:PORT"}
//   PORT=5055 node stub-collector.mjs
//
// Every request is logged to stdout as one JSON line:
//   {"n":1,"method":"POST","path":"/v1/batch","headers":{...},"bodyBytes":123,"body":{...},"status":200}
// gzip bodies (Content-Encoding: gzip) are decoded before logging.
//
// Env knobs (all optional):
//   PORT=0            listen port (0 = random)
//   FAIL_FIRST=0      answer the first N POSTs with FAIL_STATUS (to see SDK retries)
//   FAIL_STATUS=500   status used by FAIL_FIRST
//   RETRY_AFTER=      if set, add "Retry-After: <value>" to the FAIL_FIRST responses
//   CORS=1            answer CORS preflights and add Access-Control-Allow-* (0 = behave like a server without CORS)
//   ALLOW_HEADERS=    fixed Access-Control-Allow-Headers value (default: echo Access-Control-Request-Headers).
//                     e.g. "Content-Type, Authorization" shows what happens when X-Retry-Count is not allowed
//   EXPOSE=0          1 = also send "Access-Control-Expose-Headers: Retry-After". Without it a browser page cannot
//                     read Retry-After on a cross-origin 429, so analytics-next falls back to its plain backoff.
//   BODY=1            include the parsed body in the log line (0 = only sizes, counts, types)
//   STOP_AFTER_MS=600000  exit by itself after this long (bounded, never left running)
import http from 'node:http';
import zlib from 'node:zlib';

const env = process.env;
const port = Number(env.PORT ?? 0);
const failFirst = Number(env.FAIL_FIRST ?? 0);
const failStatus = Number(env.FAIL_STATUS ?? 500);
const retryAfter = env.RETRY_AFTER;
const cors = env.CORS !== '0';
const expose = env.EXPOSE === '1';
const logBody = env.BODY !== '0';
const stopAfterMs = Number(env.STOP_AFTER_MS ?? 600000);

let n = 0;
let posts = 0;

function corsHeaders(req) {
  if (!cors) return {};
  const origin = req.headers.origin;
  return {
    // echo the origin (not "*") so credentialed requests would work too
    'Access-Control-Allow-Origin': origin ?? '*',
    ...(origin ? { Vary: 'Origin', 'Access-Control-Allow-Credentials': 'true' } : {}),
    'Access-Control-Allow-Methods': 'POST, OPTIONS',
    'Access-Control-Allow-Headers':
      env.ALLOW_HEADERS ?? req.headers['access-control-request-headers'] ?? 'Content-Type, Authorization',
    'Access-Control-Max-Age': '600',
    ...(expose ? { 'Access-Control-Expose-Headers': 'Retry-After' } : {}),
  };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    n++;
    let raw = Buffer.concat(chunks);
    const entry = {
      n,
      ts: new Date().toISOString(),
      method: req.method,
      path: req.url,
      headers: req.headers,
      bodyBytes: raw.length,
    };
    try {
      if ((req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
        raw = zlib.gunzipSync(raw);
        entry.decodedBytes = raw.length;
      }
      if (raw.length) {
        const text = raw.toString('utf8');
        try {
          const json = JSON.parse(text);
          if (Array.isArray(json.batch)) {
            entry.batchCount = json.batch.length;
            entry.types = [...new Set(json.batch.map((e) => e.type))];
          } else if (json.type) {
            entry.types = [json.type];
          }
          if (logBody) entry.body = json;
        } catch {
          entry.bodyText = text.slice(0, 2000);
        }
      }
    } catch (e) {
      entry.decodeError = String(e);
    }

    let status = 200;
    let headers = { 'Content-Type': 'application/json', ...corsHeaders(req) };
    let body = '{"success":true}';
    if (req.method === 'OPTIONS') {
      status = cors ? 204 : 404;
      body = '';
    } else if (req.method === 'POST' && req.url.startsWith('/v1/')) {
      posts++;
      if (posts <= failFirst) {
        status = failStatus;
        body = JSON.stringify({ success: false, stub: `forced ${failStatus} (${posts}/${failFirst})` });
        if (retryAfter !== undefined) headers['Retry-After'] = retryAfter;
      }
    } else {
      status = 404;
      body = '{"success":false}';
    }
    entry.status = status;
    process.stdout.write(JSON.stringify(entry) + '\n');
    res.writeHead(status, headers);
    res.end(body);
  });
});

server.listen(port, '127.0.0.1', () => {
  const { port: p } = server.address();
  process.stdout.write(JSON.stringify({ listening: `http://127.0.0.1:${p}` }) + '\n');
});

const stopTimer = setTimeout(() => {
  server.close();
  process.exit(0);
}, stopAfterMs);
stopTimer.unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
