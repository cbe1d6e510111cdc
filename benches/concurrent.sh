#!/usr/bin/env bash
# Concurrent held calls and the switch's memory: SIPp uac -> switch -> SIPp uas on loopback,
# CALLS calls opened at RATE cps and each held HOLD_MS, so about min(CALLS, RATE*HOLD) are up at
# once. Samples the switch's resident memory every 0.5 s and reports the peak (VmHWM) together
# with the peak number of calls SIPp saw open, successes and failures.
#
#   benches/concurrent.sh                        # 10 000 calls at 1 000 cps, 20 s hold
#   CALLS=2000 RATE=500 HOLD_MS=8000 benches/concurrent.sh
#
# Loopback only; bounded by CALLS and by `timeout`. Env: SWITCHBOARD_BIN, OUT.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=$ROOT/sipp-scenarios
BIN=${SWITCHBOARD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/switchboard}
OUT=${OUT:-$ROOT/test-artifacts/bench-concurrent}
CALLS=${CALLS:-10000} RATE=${RATE:-1000} HOLD_MS=${HOLD_MS:-20000}
SB_PORT=25260 UAC_PORT=25290 UAS_PORT=25280
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/switchboard-conc.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=benches/bench-config.sh
. "$ROOT/benches/bench-config.sh"
bench_config "$TMP" "$SB_PORT" "$UAC_PORT" "$UAS_PORT"

(cd "$TMP" && RUST_LOG=warn exec "$BIN" run --config "$TMP/bench.toml") >"$OUT/switch.log" 2>&1 &
SW=$!; PIDS+=("$SW")
sleep 1
kill -0 "$SW" 2>/dev/null || { echo "switch did not start: $(tail -1 "$OUT/switch.log")"; exit 1; }
(cd "$TMP" && exec timeout 300 sipp -sf "$S/bench_uas.xml" -i 127.0.0.1 -p $UAS_PORT -buff_size 4194304 -nostdin) >/dev/null 2>&1 &
PIDS+=("$!")
sleep 0.5
rss_before=$(awk '/VmRSS/{print $2}' /proc/$SW/status)
(cd "$TMP" && exec timeout $(( CALLS / RATE + HOLD_MS / 1000 + 60 )) sipp -sf "$S/bench_uac.xml" 127.0.0.1:$SB_PORT \
   -s 1000 -i 127.0.0.1 -p $UAC_PORT -r "$RATE" -m "$CALLS" -l "$CALLS" -d "$HOLD_MS" \
   -buff_size 4194304 -nostdin -trace_stat -stf "$OUT/uac.csv" -fd 1 \
   -trace_screen -screen_file "$OUT/uac.screen") >/dev/null 2>&1 &
UAC=$!; PIDS+=("$UAC")
peak_rss=0
while kill -0 "$UAC" 2>/dev/null; do
  r=$(awk '/VmRSS/{print $2}' /proc/$SW/status 2>/dev/null || echo 0)
  [ "${r:-0}" -gt "$peak_rss" ] && peak_rss=$r
  sleep 0.5
done
wait "$UAC"; rc=$?
hwm=$(awk '/VmHWM/{print $2}' /proc/$SW/status)
col() { awk -F';' -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} {v=$k; if (v+0>m) m=v+0} END{print m+0}' "$OUT/uac.csv"; }
ok=$(grep -E "Successful call" "$OUT/uac.screen" | awk -F'|' '{gsub(/ /,"",$3); print $3}')
failed=$(grep -E "Failed call" "$OUT/uac.screen" | awk -F'|' '{gsub(/ /,"",$3); print $3}')
echo "| calls | rate | hold | peak concurrent (SIPp) | successful | failed | switch RSS before | peak RSS | VmHWM | sipp exit |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| $CALLS | $RATE cps | $((HOLD_MS/1000)) s | $(col CurrentCall) | ${ok:-?} | ${failed:-?} | $((rss_before/1024)) MiB | $((peak_rss/1024)) MiB | $((hwm/1024)) MiB | $rc |"
