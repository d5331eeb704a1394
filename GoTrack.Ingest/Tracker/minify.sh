#!/bin/sh
# Rebuilds tracker.min.js (the file GoTrack.Ingest embeds and serves) from tracker.js, and records the
# source's hash so that a test notices a tracker.js edited without this step. Needs Node and npm; the
# build and the tests do not.
set -eu
cd "$(dirname "$0")"
npx --yes terser@5.51.4 tracker.js --compress --mangle --output tracker.min.js
sha256sum tracker.js | cut -d' ' -f1 > tracker.js.sha256
wc -c tracker.min.js
