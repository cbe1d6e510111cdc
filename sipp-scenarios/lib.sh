#!/usr/bin/env bash
# Shared helpers of the end-to-end scripts in sipp-scenarios/ (run.sh, ivr_queue.sh,
# campaign_e2e.sh, campaign_selftest.sh, durability.sh, baresip.sh). SOURCED, not executed:
#
#   SB_NAME=ivr_queue                      # the script's name, for its messages
#   . "$(dirname "$0")/lib.sh"             # sets ROOT and the default BIN
#   ART=${ARTIFACTS:-$ROOT/test-artifacts/ivr-queue}
#   require_tools sipp timeout sqlite3 ss  # exit 2 when one is missing
#   setup_tmp ivr-queue                    # ART emptied, TMP, DB, SWITCH_PID, BG_PIDS, traps
#
# What each script owns stays in the script: its config, its scenario steps and its checks.
# Here: the temp dir and cleanup (background pids, the switch stopped with TERM then KILL, the
# store backed up into $ART, TMP removed unless KEEP_TMP), PASS/FAIL counting (pass, fail,
# check, finish, abort), the ports-in-use check, starting the switch and waiting until it answers
# OPTIONS, bounded SIPp runs (sipp_fg, sipp_bg, signal_sipp, stop_sipp, why), sql, call_id_of,
# wait_for, kill_wait.
#
# Variables the scripts may set: SWITCH_GRACE (s of SIGTERM before SIGKILL, default 2),
# BG_GRACE (the same for each of BG_PIDS; default none: a plain SIGTERM), SIPP_BG_SETTLE (s to
# sleep after sipp_bg, default 0), SIPP_BG_DIRECT=1 (sipp_bg runs SIPp itself, no `timeout`
# wrapper, so SIGUSR1 reaches it; a watchdog kills it after SECS).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SWITCHBOARD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/switchboard}
SB_NAME=${SB_NAME:-$(basename "$0" .sh)}

# ---- tools, temp dir, cleanup ---------------------------------------------------------------------
# require_tools TOOL...  exits 2 with "NAME: TOOL not installed (make deps)" when one is missing.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$SB_NAME: $tool not installed (make deps)"; exit 2; }
  done
}

# setup_tmp PREFIX  empties $ART, makes TMP=/tmp/switchboard-PREFIX.XXXXXX and DB=$TMP/sb.db,
# clears SWITCH_PID and BG_PIDS and sets the traps (cleanup on exit, exit 130 on INT/TERM).
setup_tmp() {
  rm -rf "$ART" && mkdir -p "$ART"
  TMP=$(mktemp -d "/tmp/switchboard-$1.XXXXXX")
  DB=$TMP/sb.db
  SWITCH_PID=
  BG_PIDS=()
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

# kill_wait PID SECS  SIGTERM, up to SECS of grace, then SIGKILL; reaps it quietly.
kill_wait() {
  local i
  kill "$1" 2>/dev/null || return 0
  for ((i = 0; i < $2 * 5; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# cleanup  (the EXIT trap) stops BG_PIDS, then the switch; keeps a copy of the store in $ART.
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do
    if [ -n "${BG_GRACE:-}" ]; then kill_wait "$p" "$BG_GRACE"; else kill "$p" 2>/dev/null; fi
  done
  [ -n "${SWITCH_PID:-}" ] && kill_wait "$SWITCH_PID" "${SWITCH_GRACE:-2}"
  wait 2>/dev/null
  # .backup folds in the WAL (a plain cp of sb.db can miss the last commits)
  [ -f "${DB:-}" ] && { sqlite3 "$DB" ".backup '$ART/sb.db'" 2>/dev/null || cp "$DB"* "$ART/" 2>/dev/null; }
  [ -z "${KEEP_TMP:-}" ] && rm -rf "$TMP"
}

# ---- PASS / FAIL ----------------------------------------------------------------------------------
PASSED=0 FAILED=0
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1 ($2)"; FAILED=$((FAILED + 1)); }
# check NAME COMMAND...  runs COMMAND; PASS, or FAIL with its last non-empty output line
check() {
  local name=$1; shift
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then pass "$name"; else fail "$name" "$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -1)"; fi
  return $rc
}
# finish  the summary line `NAME: N passed, M failed (logs: ART/)`; exits non-zero on a failure
finish() {
  echo "$SB_NAME: $PASSED passed, $FAILED failed (logs: $ART/)"
  [ $FAILED -eq 0 ]
  exit
}
# abort CHECK REASON  a step the rest depends on failed
abort() {
  fail "$1" "$2"
  finish
}

# ---- the switch -----------------------------------------------------------------------------------
# ports_in_use REGEX  prints "port(s) already in use: ..." and returns 0 when a TCP or UDP
# listener has a port matching ^(REGEX)$; returns 1 when all are free.
ports_in_use() {
  local busy
  busy=$(ss -Hltun 2>/dev/null | awk '{print $5}' | grep -E ":($1)\$" | sort -u)
  [ -n "$busy" ] || return 1
  echo "port(s) already in use: $(echo $busy) (a leftover switch or SIPp?)"
}

# config_head COMMENT RTP_PORTS  the switch config's common head for SIPp on loopback: [sip] on
# udp:$SW in $DOMAIN with MD5 digest only (SIPp 3.6.1), short timers, [registrar], [store] at
# $DB, [media] relay on RTP_PORTS (the script appends the rest of [media] and its own sections).
config_head() {
  cat <<EOF
# $1
[sip]
listen = ["udp:$SW"]
domain = "$DOMAIN"
# SIPp 3.6.1 only answers MD5 challenges
digest_algorithms = ["MD5"]

[sip.timers]
t1_ms = 500
t2_ms = 4000
t4_ms = 5000

[registrar]
min_expires = 60
max_expires = 3600
default_expires = 3600

[store]
url = "sqlite://$DB"

[media]
mode = "relay"
rtp_ports = "$2"
EOF
}

# switch_bg CONFIG LOG  runs "$BIN run --config CONFIG" in $TMP in the background, output to LOG;
# BG is its pid (the caller keeps it in SWITCH_PID or BG_PIDS).
switch_bg() {
  (cd "$TMP" && RUST_LOG=${RUST_LOG:-info} exec "$BIN" run --config "$1") >"$2" 2>&1 &
  BG=$!
}

# options_ok ADDR PROBE_PORT  one OPTIONS to ADDR from PROBE_PORT gets a final response.
options_ok() {
  (cd "$TMP" && timeout 4 sipp -sf "$ROOT/sipp-scenarios/options_ping.xml" "$1" -i 127.0.0.1 \
      -p "$2" -m 1 -nostdin >/dev/null 2>&1)
}

# wait_up PID SECS ADDR PROBE_PORT LOG [COMMAND...]  waits until the switch PID answers OPTIONS
# on ADDR (and COMMAND, if given, succeeds) within SECS. Otherwise sets REASON and returns 1:
# "exited with status N: <LOG's last line>" (PID reaped) or "no answer to OPTIONS on ADDR
# within SECS s".
wait_up() {
  local pid=$1 secs=$2 addr=$3 probe=$4 log=$5; shift 5
  local deadline=$((SECONDS + secs)) rc
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"; rc=$?
      REASON="exited with status $rc: $(grep -v '^[[:space:]]*$' "$log" 2>/dev/null | tail -1 | cut -c1-200)"
      return 1
    fi
    options_ok "$addr" "$probe" && { [ $# -eq 0 ] || "$@"; } && return 0
    sleep 0.2
  done
  REASON="no answer to OPTIONS on $addr within $secs s"
  return 1
}

# ---- SIPp -----------------------------------------------------------------------------------------
# sipp_fg SECS NAME ARGS...  one SIPp in the foreground (in $TMP), bounded by `timeout`; logs
# $ART/NAME.{errors.log,screen,messages.log,out}.
sipp_fg() {
  local secs=$1 base=$ART/$2; shift 2
  (cd "$TMP" && timeout -k 2 "$secs" sipp "$@" -i 127.0.0.1 -nostdin \
      -trace_err -error_file "$base.errors.log" -trace_screen -screen_file "$base.screen" \
      -trace_msg -message_file "$base.messages.log" >"$base.out" 2>&1)
}
# sipp_bg SECS NAME ARGS...  the same in the background; BG is the pid to wait for (added to
# BG_PIDS). With SIPP_BG_DIRECT=1 BG is SIPp itself and a watchdog SIGKILLs it after SECS.
sipp_bg() {
  local secs=$1 base=$ART/$2; shift 2
  local wrap=(timeout -k 2 "$secs")
  [ -n "${SIPP_BG_DIRECT:-}" ] && wrap=()
  (cd "$TMP" && exec "${wrap[@]}" sipp "$@" -i 127.0.0.1 -nostdin \
      -trace_err -error_file "$base.errors.log" -trace_screen -screen_file "$base.screen" \
      -trace_msg -message_file "$base.messages.log" >"$base.out" 2>&1) &
  BG=$!
  BG_PIDS+=("$BG")
  if [ -n "${SIPP_BG_DIRECT:-}" ]; then
    ( sleep "$secs"; kill -9 "$BG" 2>/dev/null ) >/dev/null 2>&1 &
    BG_PIDS+=("$!")
  fi
  [ "${SIPP_BG_SETTLE:-0}" = 0 ] || sleep "$SIPP_BG_SETTLE"   # let it bind its port
}
# signal_sipp PID  SIGUSR1 to the SIPp of sipp_bg's PID (SIPp itself, or the child of its
# `timeout`, which does not pass USR1 on): SIPp ends its calls and exits, 0 if none failed.
signal_sipp() {
  if [ "$(ps -o comm= -p "$1" 2>/dev/null)" = sipp ]; then
    kill -USR1 "$1" 2>/dev/null
  else
    pkill -USR1 -P "$1" -x sipp 2>/dev/null
  fi
}
# stop_sipp PID  signal_sipp, then wait: returns SIPp's exit code
stop_sipp() {
  signal_sipp "$1"
  wait "$1"
}
# sipp_error BASE  the first error SIPp logged in BASE.errors.log (one line, the noise left out)
sipp_error() {
  # SIPp writes its error entries without newlines between them: split them first
  sed 's/\(20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]	\)/\n\1/g' "$1.errors.log" 2>/dev/null \
    | sed -n 's/^[0-9-]*	[0-9:.]*	[0-9.]*: //p' \
    | grep -v 'Failed to delete FD from epoll\|receive timeout on message .*jumping to label\|prefers looking for pcap' \
    | head -1 | cut -c1-160
}
# why RC NAME  prints "NAME: timed out|SIPp exit RC[: first error]" for the sipp_fg/sipp_bg run
# NAME; returns 1, so `... || why $? NAME` fails like the SIPp did.
why() {
  local msg
  msg=$(sipp_error "$ART/$2")
  case $1 in
    124|137) echo "$2: timed out${msg:+: $msg}" ;;
    *) echo "$2: SIPp exit $1${msg:+: $msg}" ;;
  esac
  return 1
}
# call_id_of LOG  the first Call-ID in a SIPp message log
call_id_of() { grep -m1 -i '^Call-ID:' "$1" 2>/dev/null | sed 's/^[^:]*: *//; s/\r$//'; }

# ---- store, polling -------------------------------------------------------------------------------
# sql QUERY  one read-only query on the switch's store $DB (errors on stdout)
sql() { sqlite3 -batch -noheader "file:$DB?mode=ro" "$1" 2>&1; }

# wait_for SECS CMD...  polls CMD every 0.2 s until it succeeds (0), gives up (2) or SECS pass;
# then CMD's last status.
wait_for() {
  local deadline=$((SECONDS + $1)) rc; shift
  while [ $SECONDS -lt $deadline ]; do
    "$@"; rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 2 ] && return $rc
    sleep 0.2
  done
  "$@"
}
