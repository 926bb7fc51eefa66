#!/usr/bin/env bash
# End-to-end test of "s2segment serve" with Segment's official Node.js library.
#
# Builds s2segment, starts "serve" on its embedded Data API emulator, sends
# identify/page/track/group/alias events with @segment/analytics-node to
# /v1/batch, sends the same events again (a redelivery: same messageIds),
# reads the rows back from the emulator and checks that every event landed
# exactly once. Then it stops serve with SIGTERM and checks its exit status
# and that its logs hold no write key.
#
# Needs Go and Node.js 18+ (npm installs the pinned library from the
# registry, or from npm's cache; no install scripts run). Usage:
#   bash scripts/e2e-analytics-node/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/s2segment-e2e-node.XXXXXX")
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "e2e: FAILED: $*" >&2
	for f in serve.out serve.log; do
		[ -s "$work/$f" ] && { echo "--- $f" >&2; tail -n 40 "$work/$f" >&2; }
	done
	exit 1
}

command -v node >/dev/null 2>&1 || fail "node (18 or later) is required"
command -v npm >/dev/null 2>&1 || fail "npm is required"

cd "$here"
echo "e2e: installing @segment/analytics-node $(node -p "require('./package.json').dependencies['@segment/analytics-node']") (npm ci)"
npm ci --ignore-scripts --no-audit --no-fund --prefer-offline >"$work/npm.log" 2>&1 || { cat "$work/npm.log" >&2; fail "npm ci"; }

echo "e2e: building s2segment"
(cd "$root" && go build -o "$work/s2segment" ./cmd/s2segment) || fail "go build"

key="e2e-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
run="e2e-$(date +%s)-$$"
S2_WRITE_KEY="$key" "$work/s2segment" serve --addr 127.0.0.1:0 --actions=false >"$work/serve.out" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 300); do
	grep -q 'listening on' "$work/serve.out" && break
	kill -0 "$pid" 2>/dev/null || fail "serve exited at start"
	sleep 0.1
done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve.out" | head -n 1)
emu=$(sed -n 's/.*embedded Data API emulator at \(http[^ ]*\) .*/\1/p' "$work/serve.out" | head -n 1)
[ -n "$url" ] && [ -n "$emu" ] || fail "serve did not say where it listens"
echo "e2e: serve at $url, emulator at $emu"

node send.mjs --host "$url" --write-key "$key" --run "$run" >"$work/sent.ndjson" || fail "sending"
node send.mjs --host "$url" --write-key "$key" --run "$run" >/dev/null || fail "sending again"
node verify.mjs --data-api "$emu" --database s2segment --table segment_data --run "$run" <"$work/sent.ndjson" || fail "verifying"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "serve exited with status $status after SIGTERM"
grep 'written, ' "$work/serve.out" | sed 's/^/e2e: /'
if grep -qF "$key" "$work/serve.log"; then fail "the write key appears in the logs"; fi
echo "e2e: ok"
