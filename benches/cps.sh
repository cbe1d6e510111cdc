#!/usr/bin/env bash
# SIP calls per second through a middle box: SIPp uac -> (Switchboard | Kamailio) -> SIPp uas.
#
# Ramps the offered rate (default 500 1000 2000 3000 4000 cps), each step a fresh middle box and a
# fresh uas, the uac bounded to rate x STEP calls with 2 s hold (-d 2000) and a `timeout`. The
# same ladder runs through Switchboard (B2BUA, trunk to trunk: the uac 127.0.0.1:25090 is an
# inbound trunk source, calls route to trunk "carrier" = the uas 127.0.0.1:25080, no auth) and
# through Kamailio 5.6 as a stateful record-routing proxy (benches/kamailio-proxy.cfg), side by
# side in one run. Prints a markdown table; raw SIPp screens/CSVs stay in $OUT.
#
#   benches/cps.sh                    # 30 s steps (about 6 minutes for both ladders)
#   benches/cps.sh --quick            # 5 s steps, smoke
#   benches/cps.sh --rates "1000 2000" --step 10 --only kamailio
#
# Env: SWITCHBOARD_BIN (default ${CARGO_TARGET_DIR:-target}/release/switchboard),
#      OUT (default test-artifacts/bench-cps), HOLD_MS (2000).
# Loopback only; every step stops by itself (bounded calls, `timeout`). After a step with more
# than 1 % of the offered calls not successful, the higher rates of that ladder are skipped.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=$ROOT/sipp-scenarios
BIN=${SWITCHBOARD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/switchboard}
OUT=${OUT:-$ROOT/test-artifacts/bench-cps}
RATES="500 1000 2000 3000 4000"
STEP=30
HOLD_MS=${HOLD_MS:-2000}
TARGETS="switchboard kamailio"
UAC_PORT=25090 UAS_PORT=25080 SB_PORT=25060 KAM_PORT=25070
BUFF=4194304

while [ $# -gt 0 ]; do
  case $1 in
    --quick) STEP=5 ;;
    --rates) RATES=$2; shift ;;
    --step) STEP=$2; shift ;;
    --only) TARGETS=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "cps.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/switchboard-cps.XXXXXX)
MID_PID= UAS_PID=
cleanup() {
  [ -n "$UAS_PID" ] && kill "$UAS_PID" 2>/dev/null
  [ -n "$MID_PID" ] && kill "$MID_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- middle boxes --------------------------------------------------------------------------
# shellcheck source=benches/bench-config.sh
. "$ROOT/benches/bench-config.sh"
sb_config() { bench_config "$TMP" "$SB_PORT" "$UAC_PORT" "$UAS_PORT"; }

start_mid() { # $1 target, $2 log file
  case $1 in
    switchboard)
      [ -x "$BIN" ] || { REASON="no binary at $BIN"; return 1; }
      rm -f "$TMP"/bench.db*
      (cd "$TMP" && RUST_LOG=${RUST_LOG:-warn} exec "$BIN" run --config "$TMP/bench.toml") >"$2" 2>&1 &
      MID_PID=$! MID_ADDR=127.0.0.1:$SB_PORT ;;
    kamailio)
      kamailio -f "$ROOT/benches/kamailio-proxy.cfg" -DD -E -m 1024 -M 16 >"$2" 2>&1 &
      MID_PID=$! MID_ADDR=127.0.0.1:$KAM_PORT ;;
  esac
  local deadline=$((SECONDS + 20))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$MID_PID" 2>/dev/null || { REASON="exited: $(tail -1 "$2" | cut -c1-160)"; MID_PID=; return 1; }
    (cd "$TMP" && timeout 4 sipp -sf "$S/options_ping.xml" "$MID_ADDR" -i 127.0.0.1 -p 25199 -m 1 \
       -nostdin >/dev/null 2>&1) && return 0
    sleep 0.3
  done
  REASON="no answer to OPTIONS on $MID_ADDR"; return 1
}
stop_mid() {
  [ -n "$MID_PID" ] || return 0
  kill "$MID_PID" 2>/dev/null
  for _ in $(seq 25); do kill -0 "$MID_PID" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$MID_PID" 2>/dev/null; wait "$MID_PID" 2>/dev/null; MID_PID=
}
# CPU seconds (user+sys) of a process and its children (Kamailio forks its workers)
TCK=$(getconf CLK_TCK)
cpu_s() {
  local p sum=0 v
  for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
    v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) && sum=$((sum + ${v:-0}))
  done
  awk -v t="$sum" -v h="$TCK" 'BEGIN{ printf "%.2f", t/h }'
}
udp_rcvbuf_errors() { awk '/^Udp:/{n++} /^Udp:/&&n==2{print $6}' /proc/net/snmp; }
# "HH:MM:SS:usec" -> seconds
hms() { echo "$1" | awk -F: '{ printf "%.3f", $1*3600+$2*60+$3+$4/1e6 }'; }
col() { # $1 csv, $2 column name, $3 line (default last)
  awk -F';' -v c="$2" -v l="${3:-0}" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} {v[NR]=$k} END{print (l>0 ? v[l] : v[NR])}' "$1"
}

# ---- one step --------------------------------------------------------------------------------
# run_step TARGET RATE -> appends "target rate calls ok failed achieved retrans setup_ms cpu drops" to $TMP/results
run_step() {
  local t=$1 r=$2 calls=$(($2 * STEP)) tag=$1_$2
  local base=$OUT/$tag
  REASON=
  if ! start_mid "$t" "$base.mid.log"; then
    echo "  $t did not start: $REASON" >&2
    echo "$t $r $calls - - - - - - - did-not-start" >>"$TMP/results"; return 1
  fi
  (cd "$TMP" && exec timeout -k 2 $((STEP + 60)) sipp -sf "$S/bench_uas.xml" -i 127.0.0.1 -p $UAS_PORT \
     -buff_size $BUFF -nostdin -trace_stat -stf "$base.uas.csv" -fd 1 -trace_screen \
     -screen_file "$base.uas.screen" >"$base.uas.out" 2>&1) &
  UAS_PID=$!
  sleep 0.5
  local cpu0 drops0 t0 t1
  cpu0=$(cpu_s "$MID_PID"); drops0=$(udp_rcvbuf_errors); t0=$(date +%s.%N)
  (cd "$TMP" && timeout -k 2 $((STEP + 60)) sipp -sf "$S/bench_uac.xml" "$MID_ADDR" -s 15550000 \
     -i 127.0.0.1 -p $UAC_PORT -r "$r" -rp 1000 -m "$calls" -l $((r * 4)) -d "$HOLD_MS" \
     -buff_size $BUFF -nostdin -trace_stat -stf "$base.uac.csv" -fd 1 -trace_screen \
     -screen_file "$base.uac.screen" >"$base.uac.out" 2>&1)
  local rc=$?
  t1=$(date +%s.%N)
  local cpu1 drops1; cpu1=$(cpu_s "$MID_PID"); drops1=$(udp_rcvbuf_errors)
  kill "$UAS_PID" 2>/dev/null; wait "$UAS_PID" 2>/dev/null; UAS_PID=
  stop_mid
  local csv=$base.uac.csv ok failed retrans created_line el setup achieved cores
  ok=$(col "$csv" 'SuccessfulCall(C)'); failed=$(col "$csv" 'FailedCall(C)')
  retrans=$(( $(col "$csv" 'Retransmissions(C)') + $(col "$base.uas.csv" 'Retransmissions(C)' 2>/dev/null || echo 0) ))
  # time until the last call was created (the sending phase), for the achieved rate
  created_line=$(awk -F';' -v n="$calls" 'NR==1{for(i=1;i<=NF;i++) if($i=="TotalCallCreated") k=i; next} $k>=n{print NR; exit}' "$csv")
  el=$(hms "$(col "$csv" 'ElapsedTime(C)' "${created_line:-0}")")
  achieved=$(awk -v ok="${ok:-0}" -v el="$el" 'BEGIN{ printf "%.0f", (el>0 ? ok/el : 0) }')
  setup=$(awk -v s="$(hms "$(col "$csv" 'ResponseTime1(C)')")" 'BEGIN{ printf "%.1f", s*1000 }')
  cores=$(awk -v c0="$cpu0" -v c1="$cpu1" -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.2f", (c1-c0)/(b-a) }')
  echo "$t $r $calls ${ok:-0} ${failed:-0} $achieved $retrans $setup $cores $((drops1 - drops0)) rc=$rc" >>"$TMP/results"
  echo "  $t $r cps: $ok ok, $failed failed, ~$achieved cps, $retrans retrans, setup $setup ms, $cores cores, rc=$rc" >&2
  # a step "holds" when at least 99 % of the offered calls succeeded
  [ "${ok:-0}" -ge $((calls - calls / 100)) ]
}

# ---- ladder ----------------------------------------------------------------------------------
busy=$(ss -Hlun 2>/dev/null | awk '{print $4}' | grep -E ":($UAC_PORT|$UAS_PORT|$SB_PORT|$KAM_PORT|25199)$")
if [ -n "$busy" ]; then
  echo "cps.sh: UDP port(s) already in use: $(echo $busy) (a leftover switch, Kamailio or SIPp?)" >&2
  exit 2
fi
sb_config
: >"$TMP/results"
echo "cps.sh: rates [$RATES] cps, ${STEP} s per step, hold ${HOLD_MS} ms, targets [$TARGETS]; raw data in $OUT" >&2
for t in $TARGETS; do
  collapsed=
  for r in $RATES; do
    if [ -n "$collapsed" ]; then echo "$t $r $((r * STEP)) - - - - - - - skipped" >>"$TMP/results"; continue; fi
    run_step "$t" "$r" || collapsed=1
    sleep 1
  done
done
cp "$TMP/results" "$OUT/results.txt"

# ---- table -----------------------------------------------------------------------------------
cell() { # target rate -> "ok / failed / retrans / cps / setup ms / cores"
  awk -v t="$1" -v r="$2" '$1==t && $2==r {
    if ($4=="-") { print ($11 ~ /^skipped/ ? "skipped" : ($11 ~ /^did-not-start/ ? "did not start" : $11)); exit }
    printf "%s / %s / %s / %s / %s / %s", $4, $5, $7, $6, $8, $9
    if ($11 != "rc=0") printf " (uac %s%s)", $11, ($11 == "rc=137" || $11 == "rc=124" ? ": hit the time bound" : "")
    exit }' "$TMP/results"
}
echo
echo "Calls: rate x ${STEP} s, hold ${HOLD_MS} ms. Cell: successful / failed / retransmissions / achieved cps / mean INVITE->200 ms / middle box CPU (cores)."
echo
printf '| offered cps | calls |'; for t in $TARGETS; do printf ' %s |' "$t"; done; echo
printf '|---|---|'; for t in $TARGETS; do printf -- '---|'; done; echo
for r in $RATES; do
  printf '| %s | %s |' "$r" $((r * STEP))
  for t in $TARGETS; do printf ' %s |' "$(cell "$t" "$r")"; done
  echo
done
