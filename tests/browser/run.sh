#!/usr/bin/env bash
# Web console in headless Chromium: starts the switch with a temporary loopback config (SIP,
# HTTP and a fresh API token), runs tests/browser/console.spec.mjs against it with Debian's
# chromium driven by playwright-core, stops everything. Exits non-zero when a test fails.
#
#   tests/browser/run.sh
#
# Env: SWITCHBOARD_BIN (default ${CARGO_TARGET_DIR:-target}/release/switchboard),
#      CHROMIUM (default /usr/bin/chromium), ARTIFACTS (default target/browser-artifacts),
#      RUST_LOG (default info), KEEP_TMP=1; ports: SIP_PORT, HTTP_PORT, CARRIER_PORT, EP1_PORT,
#      EP2_PORT, RTP_PORTS (defaults below; a second checkout runs beside the first with others).
# Builds nothing (`make build` does) and installs nothing: `apt-get install chromium sip-tester`
# and `npm ci` in tests/browser first (`make deps`).
# Artifacts: a screenshot per page (*.png), the switch log, the config used, SIPp logs, the
# exported CSV. Ports (loopback): switch SIP 26060 udp, HTTP 26088, endpoints 2001 26101 and
# 2002 26102, carrier 26080, RTP 28000-28199 — clear of sipp-scenarios/run.sh (250xx, 27xxx).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/browser
S=$ROOT/sipp-scenarios
ART=${ARTIFACTS:-$ROOT/target/browser-artifacts}
BIN=${SWITCHBOARD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/switchboard}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SIP_PORT=${SIP_PORT:-26060} HTTP_PORT=${HTTP_PORT:-26088} CARRIER_PORT=${CARRIER_PORT:-26080}
EP1_PORT=${EP1_PORT:-26101} EP2_PORT=${EP2_PORT:-26102} RTP_PORTS=${RTP_PORTS:-28000-28199}
SW=127.0.0.1:$SIP_PORT
DOMAIN=switchboard.test

die() { echo "browser tests: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no switch binary at $BIN (build it or set SWITCHBOARD_BIN)"
[ -x "$CHROMIUM" ] || die "no chromium at $CHROMIUM (apt-get install chromium)"
command -v node >/dev/null || die "node not installed (apt-get install nodejs npm)"
command -v sipp >/dev/null || die "sipp not installed (apt-get install sip-tester)"
command -v curl >/dev/null || die "curl not installed"
[ -f "$HERE/node_modules/playwright-core/package.json" ] || die "run 'npm ci' in tests/browser first"

busy=$(ss -Hltun 2>/dev/null | awk '{print $5}' | grep -E ":($SIP_PORT|$HTTP_PORT|$CARRIER_PORT|$EP1_PORT|$EP2_PORT)\$" | sort -u)
[ -n "$busy" ] && die "port(s) already in use: $(echo $busy) (a leftover switch or SIPp?)"

rm -rf "$ART" && mkdir -p "$ART"
TMP=$(mktemp -d /tmp/switchboard-browser.XXXXXX)
SWITCH_PID=
cleanup() {
  if [ -n "$SWITCH_PID" ]; then
    kill "$SWITCH_PID" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$SWITCH_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SWITCH_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  [ -z "${KEEP_TMP:-}" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- config: the SIPp suite's, moved to our ports, plus [http] and a fresh token ----------
TOKEN="browser-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
AGENT_TOKEN="agent-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
sed -e "s|127\.0\.0\.1:25060|$SW|g" \
    -e "s|127\.0\.0\.1:25080|127.0.0.1:$CARRIER_PORT|g" \
    -e "s|^rtp_ports = .*|rtp_ports = \"$RTP_PORTS\"|" \
    -e "s|^url = \"sqlite://.*\"|url = \"sqlite://$TMP/sb.db\"|" \
    -e "s|^dir = \"sipp-scenarios/dialplans\"|dir = \"$S/dialplans\"|" \
    "$S/switchboard-test.toml" >"$TMP/switchboard.toml"
cat >>"$TMP/switchboard.toml" <<EOF

[http]
listen = "127.0.0.1:$HTTP_PORT"

[[api_token]]
token = "$TOKEN"
role = "admin"
name = "browser test"

[[api_token]]
token = "$AGENT_TOKEN"
role = "agent"
agent = "2002"
name = "browser agent"

# The campaign the test creates takes its agents from this queue (agent 2002, the agent
# token's, logged out: the dialer runs the campaign and reports its figures, and places no
# call).
[[queue]]
name = "sales"

[[agent]]
id = "2002"
endpoint = "2002"
queues = [{ queue = "sales" }]
EOF
sed -e "s|$TOKEN|<redacted>|" -e "s|$AGENT_TOKEN|<redacted>|" "$TMP/switchboard.toml" >"$ART/switchboard.toml"

# ---- the call the spec places: 2002 registers and answers, 2001 calls it, holds, hangs up ---
cat >"$TMP/call.sh" <<EOF
#!/usr/bin/env bash
# call.sh HOLD_MS: one SIPp call 2001 -> 2002 through the switch, answered, held HOLD_MS.
# (timeout --foreground keeps every SIPp in this script's process group: the spec stops it all at once)
set -u
hold=\${1:-6000}
cd "$TMP"
sipp_args() { echo -i 127.0.0.1 -nostdin -trace_err -trace_msg; }
timeout --foreground -k 2 15 sipp \$(sipp_args) -error_file "$ART/reg2002.errors.log" -message_file "$ART/reg2002.messages.log" \\
  -sf "$S/register_auth.xml" -inf "$S/csv/ep2002.csv" -auth_uri "$DOMAIN" "$SW" -p $EP2_PORT -m 1 \\
  >"$ART/reg2002.out" 2>&1 || { echo "call.sh: 2002 did not register"; exit 1; }
timeout --foreground -k 2 \$((hold / 1000 + 30)) sipp \$(sipp_args) -error_file "$ART/uas2002.errors.log" -message_file "$ART/uas2002.messages.log" \\
  -sf "$S/uas_answer.xml" -inf "$S/csv/ep2002.csv" -p $EP2_PORT -m 1 -recv_timeout 30000 \\
  >"$ART/uas2002.out" 2>&1 &
uas=\$!
sleep 0.3
timeout --foreground -k 2 \$((hold / 1000 + 25)) sipp \$(sipp_args) -error_file "$ART/caller.errors.log" -message_file "$ART/caller.messages.log" \\
  -sf "$S/call_caller_bye.xml" -inf "$S/csv/ep2001.csv" -s 2002 -auth_uri "2002@$DOMAIN" "$SW" \\
  -p $EP1_PORT -m 1 -d "\$hold" >"$ART/caller.out" 2>&1
rc=\$?
wait \$uas; urc=\$?
[ \$rc -eq 0 ] || { echo "call.sh: caller SIPp exit \$rc"; exit 1; }
[ \$urc -eq 0 ] || { echo "call.sh: callee SIPp exit \$urc"; exit 1; }
EOF
chmod +x "$TMP/call.sh"

# ---- start the switch and wait for /api/v1/health ----------------------------------------
(cd "$TMP" && RUST_LOG=${RUST_LOG:-info} exec "$BIN" run --config "$TMP/switchboard.toml") \
  >"$ART/switchboard.log" 2>&1 &
SWITCH_PID=$!
BASE=http://127.0.0.1:$HTTP_PORT
up=
for _ in $(seq 100); do
  kill -0 "$SWITCH_PID" 2>/dev/null || { SWITCH_PID=; break; }
  curl -sf -m 1 "$BASE/api/v1/health" >/dev/null && { up=1; break; }
  sleep 0.2
done
if [ -z "$up" ]; then
  echo "browser tests: the switch did not come up on $BASE (log: $ART/switchboard.log)"
  tail -5 "$ART/switchboard.log"
  exit 1
fi

# ---- run the spec ---------------------------------------------------------------------------
BASE_URL=$BASE API_TOKEN=$TOKEN AGENT_TOKEN=$AGENT_TOKEN CALL_SCRIPT=$TMP/call.sh ARTIFACTS=$ART CHROMIUM=$CHROMIUM \
  USER_DATA_DIR=$TMP/chromium-profile \
  node --test --test-concurrency=1 --test-reporter=spec "$HERE/unit.spec.mjs" "$HERE/console.spec.mjs"
rc=$?
kill -0 "$SWITCH_PID" 2>/dev/null || { echo "browser tests: the switch died (log: $ART/switchboard.log)"; rc=1; }
echo "browser tests: $([ $rc -eq 0 ] && echo PASS || echo FAIL) (artifacts: $ART)"
exit $rc
