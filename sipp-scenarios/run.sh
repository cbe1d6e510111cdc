#!/usr/bin/env bash
# SIPp end-to-end suite: starts the switch with sipp-scenarios/switchboard-test.toml on loopback,
# plays every scenario against it with a hard `timeout`, checks SIPp's exit codes and the CDRs
# the switch wrote (sqlite3 on its store), prints `PASS name` / `FAIL name (reason)` and, last,
# exactly one line `N passed, M failed`. Exits non-zero on any failure.
#
#   sipp-scenarios/run.sh                 # all tests against target/release/switchboard
#   sipp-scenarios/run.sh call_busy ...   # only the named tests (see --list)
#   sipp-scenarios/run.sh --standin       # against selftest/kamailio-standin.cfg instead: checks
#                                         # the scenarios themselves (no CDR / B2BUA checks)
#   sipp-scenarios/run.sh --list
#
# Env: SWITCHBOARD_BIN (default ${CARGO_TARGET_DIR:-target}/release/switchboard),
#      ARTIFACTS (default test-artifacts/sipp), RUST_LOG (default info), KEEP_TMP=1.
# Logs (switch log, SIPp -trace_err/-trace_screen/-trace_msg files, the config used and a copy
# of the store) stay under $ARTIFACTS for CI to show. Builds nothing: `make test-sipp` builds.
# Ports: switch 25060 udp+tcp, endpoints 2001..2004 on 25101..25104, carrier 25080, probe 25199.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=$ROOT/sipp-scenarios
ART=${ARTIFACTS:-$ROOT/test-artifacts/sipp}
BIN=${SWITCHBOARD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/switchboard}
SW=127.0.0.1:25060
DOMAIN=switchboard.test
MODE=switchboard

ALL_TESTS=(register_auth register_auth_tcp register_wrong_password register_refresh_unregister
  call_caller_bye call_callee_bye call_cancel call_busy call_noanswer call_hold_unhold
  call_unknown_ext call_trunk call_caller_bye_tcp call_concurrent_50)

TESTS=()
for a in "$@"; do
  case $a in
    --standin) MODE=standin ;;
    --list) printf '%s\n' "${ALL_TESTS[@]}"; exit 0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) TESTS+=("$a") ;;
  esac
done
[ ${#TESTS[@]} -eq 0 ] && TESTS=("${ALL_TESTS[@]}")

rm -rf "$ART" && mkdir -p "$ART"
TMP=$(mktemp -d /tmp/switchboard-sipp.XXXXXX)
DB=$TMP/sb.db
SWITCH_PID=
BG_PIDS=()

cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$SWITCH_PID" ]; then
    kill "$SWITCH_PID" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$SWITCH_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SWITCH_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  [ -f "$DB" ] && cp "$DB" "$ART/sb.db" 2>/dev/null
  [ -z "${KEEP_TMP:-}" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASSED=0 FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1 ($2)"; FAILED=$((FAILED + 1)); }

for tool in sipp timeout; do
  command -v $tool >/dev/null || { echo "run.sh: $tool not installed (make deps)"; exit 2; }
done
if [ $MODE = switchboard ] && ! command -v sqlite3 >/dev/null; then
  echo "run.sh: sqlite3 not installed (make deps)"; exit 2
fi

# ---- SIPp helpers ------------------------------------------------------------------------------
# sipp_fg SECS NAME ROLE ARGS...  runs one SIPp in the foreground, bounded, logs under $ART.
sipp_fg() {
  local secs=$1 name=$2 role=$3; shift 3
  local base=$ART/$name.$role
  (cd "$TMP" && timeout -k 2 "$secs" sipp "$@" -i 127.0.0.1 -nostdin \
      -trace_err -error_file "$base.errors.log" -trace_screen -screen_file "$base.screen" \
      -trace_msg -message_file "$base.messages.log" >"$base.out" 2>&1)
}
# sipp_bg SECS NAME ROLE ARGS...  same in the background; sets BG (the pid to wait for).
sipp_bg() {
  local secs=$1 name=$2 role=$3; shift 3
  local base=$ART/$name.$role
  (cd "$TMP" && exec timeout -k 2 "$secs" sipp "$@" -i 127.0.0.1 -nostdin \
      -trace_err -error_file "$base.errors.log" -trace_screen -screen_file "$base.screen" \
      -trace_msg -message_file "$base.messages.log" >"$base.out" 2>&1) &
  BG=$!
  BG_PIDS+=("$BG")
  sleep 0.3   # let it bind its port
}
# why RC LOGBASE  one-line reason from a SIPp exit code and its error log.
why() {
  local rc=$1 base=$2 msg
  msg=$(grep -v -E 'The following events|Failed to delete FD from epoll' "$base.errors.log" 2>/dev/null \
        | grep -m1 -o -E '[A-Za-z].{0,150}' || true)
  case $rc in
    124|137) echo "timed out${msg:+: $msg}" ;;
    1) echo "SIPp: call failed${msg:+: $msg}" ;;
    *) echo "SIPp exit $rc${msg:+: $msg}" ;;
  esac
}
# first Call-ID in a SIPp message log
call_id_of() { grep -m1 -i '^Call-ID:' "$1" 2>/dev/null | sed 's/^[^:]*: *//; s/\r$//'; }

# register USER NAME [extra sipp args]  one REGISTER round from the user's port (-m 1).
register() {
  local user=$1 name=$2; shift 2
  sipp_fg 15 "$name" "reg$user" -sf "$S/register_auth.xml" -inf "$S/csv/ep$user.csv" \
    -auth_uri "$DOMAIN" "$SW" -p "$((23100 + user))" -m 1 "$@"
}
# caller NAME SECS SCENARIO NUMBER [extra]  endpoint 2001 places call(s) to NUMBER.
caller() {
  local name=$1 secs=$2 scen=$3 number=$4; shift 4
  sipp_fg "$secs" "$name" caller -sf "$S/$scen" -inf "$S/csv/ep2001.csv" -s "$number" \
    -auth_uri "$number@$DOMAIN" "$SW" -p 25101 "$@"
}
# callee NAME SECS USER SCENARIO [extra]  registers USER, then runs its UAS in the background.
callee() {
  local name=$1 secs=$2 user=$3 scen=$4; shift 4
  register "$user" "$name" || return 1
  sipp_bg "$secs" "$name" "uas$user" -sf "$S/$scen" -inf "$S/csv/ep$user.csv" -p "$((23100 + user))" "$@"
}
# wait_bg PID -> exit code of a background SIPp
wait_bg() { wait "$1"; }

# ---- CDR checks (store schema: src/store/migrations/0001_cdrs.sql) -----------------------------
sql() { sqlite3 -batch -noheader "file:$DB?mode=ro" "$1" 2>&1; }
# cdr_expect CALL_ID STATUS SIDE  polls up to 5 s for the A leg's CDR; prints a reason on mismatch.
cdr_expect() {
  [ $MODE = standin ] && return 0
  local cid=$1 want_status=$2 want_side=$3 row=
  for _ in $(seq 25); do
    row=$(sql "SELECT sip_status || '|' || hangup_side FROM cdrs WHERE call_id = '$cid';")
    [ -n "$row" ] && [[ $row != *Error* ]] && break
    sleep 0.2
  done
  if [ -z "$row" ]; then echo "no CDR for Call-ID $cid"; return 1; fi
  if [[ $row == *Error* ]] || [[ $row == *error* ]]; then echo "CDR query: $row"; return 1; fi
  local n; n=$(printf '%s\n' "$row" | wc -l)
  [ "$n" -ne 1 ] && { echo "$n CDRs for Call-ID $cid"; return 1; }
  [ "$row" != "$want_status|$want_side" ] && { echo "CDR $row, want $want_status|$want_side"; return 1; }
  return 0
}
# b2bua_check NAME USER  the callee must see a Call-ID of its own (new dialog), not the caller's.
b2bua_check() {
  [ $MODE = standin ] && return 0
  local a b
  a=$(call_id_of "$ART/$1.caller.messages.log"); b=$(call_id_of "$ART/$1.uas$2.messages.log")
  [ -z "$b" ] && { echo "callee saw no INVITE"; return 1; }
  [ "$a" = "$b" ] && { echo "B leg reuses the caller's Call-ID $a"; return 1; }
  return 0
}

# ---- tests: each returns 0 or prints a reason and returns 1 ----------------------------------
t_register_auth() { register 2001 register_auth || why $? "$ART/register_auth.reg2001"; }

t_register_auth_tcp() {
  sipp_fg 15 register_auth_tcp reg2001 -t t1 -sf "$S/register_auth.xml" -inf "$S/csv/ep2001.csv" \
    -auth_uri "$DOMAIN" "$SW" -p 25111 -m 1 || why $? "$ART/register_auth_tcp.reg2001"
}

t_register_wrong_password() {
  sipp_fg 15 register_wrong_password reg2003 -sf "$S/register_wrong_password.xml" \
    -inf "$S/csv/ep2003_wrong.csv" -auth_uri "$DOMAIN" "$SW" -p 25103 -m 1 \
    || why $? "$ART/register_wrong_password.reg2003"
}

t_register_refresh_unregister() {
  sipp_fg 20 register_refresh_unregister reg2004 -sf "$S/register_refresh_unregister.xml" \
    -inf "$S/csv/ep2004.csv" -auth_uri "$DOMAIN" "$SW" -p 25104 -m 1 \
    || why $? "$ART/register_refresh_unregister.reg2004"
}

# two_party NAME CALLER_SCEN UAS_SCEN STATUS SIDE [caller extra]  one call 2001 -> 2002.
two_party() {
  local name=$1 cscen=$2 uscen=$3 status=$4 side=$5; shift 5
  callee "$name" 60 2002 "$uscen" -m 1 -recv_timeout 50000 || { why $? "$ART/$name.reg2002"; return 1; }
  local upid=$BG
  caller "$name" 60 "$cscen" 2002 -m 1 "$@" || { why $? "$ART/$name.caller"; return 1; }
  wait_bg $upid || { echo "callee: $(why $? "$ART/$name.uas2002")"; return 1; }
  b2bua_check "$name" 2002 || return 1
  cdr_expect "$(call_id_of "$ART/$name.caller.messages.log")" "$status" "$side"
}

t_call_caller_bye() { two_party call_caller_bye call_caller_bye.xml uas_answer.xml 200 caller -d 1000; }
t_call_callee_bye() { two_party call_callee_bye call_callee_bye.xml uas_answer_bye.xml 200 callee; }
t_call_cancel() { two_party call_cancel call_cancel.xml uas_ring_forever.xml 487 caller; }
t_call_busy() { two_party call_busy call_busy.xml uas_busy.xml 486 callee; }
t_call_noanswer() { two_party call_noanswer call_noanswer.xml uas_ring_forever.xml 480 system; }
t_call_hold_unhold() { two_party call_hold_unhold call_hold_unhold.xml uas_hold.xml 200 caller; }

t_call_caller_bye_tcp() {
  two_party call_caller_bye_tcp call_caller_bye.xml uas_answer.xml 200 caller -d 500 -t t1
}

t_call_unknown_ext() {
  caller call_unknown_ext 20 call_unknown_ext.xml 3999 -m 1 || { why $? "$ART/call_unknown_ext.caller"; return 1; }
  [ $MODE = standin ] && return 0
  # a CDR is optional for a call that never routed, but if there is one it must say 404
  local cid row
  cid=$(call_id_of "$ART/call_unknown_ext.caller.messages.log")
  sleep 0.5
  row=$(sql "SELECT sip_status FROM cdrs WHERE call_id = '$cid';")
  [ -n "$row" ] && [ "$row" != 404 ] && { echo "CDR sip_status $row, want 404"; return 1; }
  return 0
}

t_call_trunk() {
  sipp_bg 40 call_trunk carrier -sf "$S/uas_carrier.xml" -p 25080 -m 1 -recv_timeout 30000
  local upid=$BG
  caller call_trunk 30 call_trunk.xml 915551234567 -m 1 -d 500 || { why $? "$ART/call_trunk.caller"; return 1; }
  wait_bg $upid || { echo "carrier: $(why $? "$ART/call_trunk.carrier")"; return 1; }
  cdr_expect "$(call_id_of "$ART/call_trunk.caller.messages.log")" 200 caller
}

t_call_concurrent_50() {
  local name=call_concurrent_50
  callee $name 60 2002 uas_answer.xml -m 50 -recv_timeout 30000 || { why $? "$ART/$name.reg2002"; return 1; }
  local upid=$BG
  caller $name 60 call_caller_bye.xml 2002 -m 50 -l 50 -r 50 -d 3000 || { why $? "$ART/$name.caller"; return 1; }
  wait_bg $upid || { echo "callee: $(why $? "$ART/$name.uas2002")"; return 1; }
  [ $MODE = standin ] && return 0
  local pid n
  pid=$(call_id_of "$ART/$name.caller.messages.log" | sed -n 's/^[0-9]*-\([0-9]*\)@.*/\1/p')
  for _ in $(seq 25); do
    n=$(sql "SELECT count(*) FROM cdrs WHERE call_id LIKE '%-$pid@127.0.0.1' AND sip_status = 200 AND hangup_side = 'caller';")
    [ "$n" = 50 ] && return 0
    sleep 0.2
  done
  echo "$n of 50 CDRs with 200/caller"; return 1
}

# ---- start the switch ------------------------------------------------------------------------
start_switchboard() {
  [ -x "$BIN" ] || { REASON="no binary at $BIN (build it or set SWITCHBOARD_BIN)"; return 1; }
  sed -e "s|^url = \"sqlite://.*\"|url = \"sqlite://$DB\"|" \
      -e "s|^dir = \"sipp-scenarios/dialplans\"|dir = \"$S/dialplans\"|" \
      "$S/switchboard-test.toml" >"$TMP/switchboard-test.toml"
  cp "$TMP/switchboard-test.toml" "$ART/switchboard-test.toml"
  (cd "$TMP" && RUST_LOG=${RUST_LOG:-info} exec "$BIN" run --config "$TMP/switchboard-test.toml") \
    >"$ART/switchboard.log" 2>&1 &
  SWITCH_PID=$!
}
start_standin() {
  command -v kamailio >/dev/null || { REASON="kamailio not installed"; return 1; }
  kamailio -f "$S/selftest/kamailio-standin.cfg" -DD -E -m 64 -M 8 >"$ART/kamailio-standin.log" 2>&1 &
  SWITCH_PID=$!
}

# wait_up SECS: the switch answers OPTIONS (any final response) within SECS, and is still
# running. Sets REASON when it does not.
wait_up() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$SWITCH_PID" 2>/dev/null; then
      wait "$SWITCH_PID"; local rc=$?
      SWITCH_PID=
      REASON="exited with status $rc: $(cat "$ART"/switchboard.log "$ART"/kamailio-standin.log 2>/dev/null | grep -v '^[[:space:]]*$' | tail -1 | cut -c1-200)"
      return 1
    fi
    (cd "$TMP" && timeout 4 sipp -sf "$S/options_ping.xml" "$SW" -i 127.0.0.1 -p 25199 -m 1 \
        -nostdin >/dev/null 2>&1) && return 0
    sleep 0.3
  done
  REASON="no answer to OPTIONS on $SW within $1 s"
  return 1
}

REASON=
if [ $MODE = standin ]; then start_standin; else start_switchboard; fi || REASON=${REASON:-cannot start}
[ -z "$REASON" ] && wait_up 20
if [ -n "$REASON" ]; then
  echo "switch did not start: $REASON (logs: $ART/)"
  for t in "${TESTS[@]}"; do fail "$t" "switch did not start"; done
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

# ---- run -------------------------------------------------------------------------------------
for t in "${TESTS[@]}"; do
  if ! declare -F "t_$t" >/dev/null; then fail "$t" "no such test"; continue; fi
  "t_$t" >"$TMP/reason" 2>&1; rc=$?
  # stop this test's background SIPps before the next one reuses their ports
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  BG_PIDS=()
  if [ $rc -eq 0 ]; then pass "$t"; else fail "$t" "$(grep -v '^[[:space:]]*$' "$TMP/reason" | tail -1)"; fi
  if ! kill -0 "$SWITCH_PID" 2>/dev/null; then
    echo "the switch died during $t (see $ART/)"
    SWITCH_PID=
    break
  fi
done

ran=$((PASSED + FAILED))
if [ $ran -lt ${#TESTS[@]} ]; then
  for t in "${TESTS[@]:$ran}"; do fail "$t" "switch died earlier"; done
fi
echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
