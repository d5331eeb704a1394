/*
 * GoTrack's first-party tracker (README, "The tracker"). GoTrack.Ingest serves tracker.min.js, which
 * minify.sh builds from this file. At start the server writes its own values over the three "%%...%%"
 * strings: the collect and pixel paths the tracker sends to (the first COLLECT_PATHS / PIXEL_PATHS alias,
 * or /collect and /px.gif), and the opt-outs it drops ("d" for DNT, "g" for GPC; empty under
 * PRIVACY_MODE=anonymize, which needs the event and reads the opt-out from the request's headers).
 */
(function (w, d, n, h, L, C, P, O) {
  var g = w.gotrack;
  if (g && g.v) return; // a second copy of the script on the page
  var q = (g && g.q) || [];
  var s = d.currentScript;
  var attr = function (k) { return s && s.getAttribute("data-" + k); };
  // An opted-out browser sends nothing at all: under PRIVACY_MODE=drop the server would record nothing.
  var off = (O.indexOf("d") >= 0 && (n.doNotTrack == "1" || w.doNotTrack == "1")) ||
    (O.indexOf("g") >= 0 && !!n.globalPrivacyControl);
  var api = w.gotrack = function (c, a, p) {
    if (off) return;
    if (c == "event" && a) send(String(a), p);
    else if (c == "pageview") send("pageview", a);
  };
  api.v = 1;
  if (off) return;

  // The collector: data-endpoint (a base URL, absolute or relative to the page), else the origin the script came from.
  var end = attr("endpoint");
  var base = (end ? new URL(end, L.href).href : s && s.src ? new URL(s.src).origin : "").replace(/\/+$/, "");
  // data-key: the write key (WRITE_KEYS), sent as ?write_key= with every request; the server never stores it.
  var key = attr("key");
  var auto = attr("auto") != "false";
  // The page view's url and ref: document.referrer on load ("" on a direct visit means "no referrer"),
  // the previous in-app URL after a single-page-app navigation.
  var cur = L.href, ref = d.referrer;

  function send(e, p) {
    var ev = { e: e, url: L.href, ref: ref };
    if (p && typeof p == "object") ev.props = p;
    var b = JSON.stringify(ev);
    // text/plain: a CORS "simple" request, no preflight; sendBeacon survives the page being left.
    var to = base + C + (key ? "?write_key=" + encodeURIComponent(key) : "");
    try { if (n.sendBeacon(to, b)) return; } catch (x) { /* no sendBeacon */ }
    // no-cors: the answer is opaque but the request is sent; a rejection is a network error, not a CORS one,
    // so the pixel below never sends an event twice.
    try {
      fetch(to, { method: "POST", body: b, keepalive: true, mode: "no-cors", credentials: "include" }).catch(pixel);
    } catch (x) { pixel(); }
    function pixel() {
      var u = new URLSearchParams({ e: e, url: ev.url, ref: ev.ref }), k, v;
      if (key) u.append("write_key", key);
      for (k in ev.props) {
        v = ev.props[k];
        u.append(k, typeof v == "object" ? JSON.stringify(v) : v);
      }
      new Image().src = base + P + "?" + u;
    }
  }

  var page = function (u) { return u.split("#")[0]; };
  function nav() {
    var u = L.href, moved = page(u) != page(cur);
    if (moved) ref = cur;
    cur = u;
    if (moved && auto) send("pageview");
  }
  var push = h.pushState;
  h.pushState = function () {
    var r = push.apply(this, arguments);
    nav();
    return r;
  };
  w.addEventListener("popstate", nav);

  function click(ev) {
    var a = ev.target.closest && ev.target.closest("a[href]");
    if (a && ev.button < 2 && /^https?:$/.test(a.protocol) && a.host != L.host) send("outbound", { href: a.href });
  }
  if (attr("outbound") != "false") {
    d.addEventListener("click", click, true);
    d.addEventListener("auxclick", click, true);
  }

  if (auto) send("pageview");
  for (var i = 0; i < q.length; i++) api.apply(w, q[i]);
})(window, document, navigator, history, location, "%%COLLECT%%", "%%PIXEL%%", "%%OPTOUT%%");
