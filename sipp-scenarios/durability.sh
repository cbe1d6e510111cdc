#!/usr/bin/env bash
# Durability under SIGKILL (issue 6): the switch is killed with SIGKILL in the middle of a SIPp
# load, restarted on the same SQLite database, and the store is checked with sqlite3:
#   1. no row is left in calls_in_flight;
#   2. the calls in flight at the kill were closed with hangup_cause 'restart' (> 0 of them, and
#      exactly the in-flight rows the killed process left behind);
#   3. every call SIPp saw completed (the 200 to its BYE arrived, logged "DONE <Call-ID>" by
#      durability_uac.xml) has a normal_clearing CDR by Call-ID — the switch sends that 200 only
#      after the CDR is committed, so `restart` is a failure here — with its A and B legs (same
#      transaction); every call SIPp saw answered has a CDR (the answer leaves only after the
#      call's in-flight row is committed): normal_clearing, or restart if it was still up;
#   4. no Call-ID has two CDRs;
#   5. the restarted switch takes a new call normally (200 / caller / normal_clearing CDR).
#   (6. leads: no lead lost or double-dialled — placeholder until the dialer lands, see
#      check_leads below.)
# Prints one summary line `durability: PASS ...` or `durability: FAIL <reason> ...`; exits
# non-zero on failure. Kills only what it started (trap), loopback only, bounded by timeouts.
#
#   sipp-scenarios/durability.sh     # both profiles below, one after the other (about 50 s)
#   HOLD=0-20 RATE=200 CALLS=1000 KILL_AFTER=3 sipp-scenarios/durability.sh   # one run
#
# Without any of RATE, CALLS, KILL_AFTER, HOLD set, the script runs itself twice: "held" calls
# (the defaults below, under $ARTIFACTS/held) and "short" calls (HOLD=0-20 RATE=200 CALLS=1000
# KILL_AFTER=3, under $ARTIFACTS/short: calls that start and end within one commit of the store
# writer), and passes only if both pass.
#
# Env: SWITCHBOARD_BIN (default ${CARGO_TARGET_DIR:-target}/release/switchboard; copied to the
#      temp dir first, so a rebuild during the run cannot swap it), ARTIFACTS (default
#      test-artifacts/durability), RUST_LOG (default info), KEEP_TMP=1,
#      RATE (calls/s, default 40), CALLS (SIPp -m, default 320 = 8 s of load),
#      KILL_AFTER (seconds after the load starts, default 5), HOLD (ms a call is held, uniform
#      MIN-MAX, default 2000-4000; e.g. HOLD=0-20 RATE=200 probes calls that start and end
#      within one commit of the store writer).
# Ports: switch 25360 udp | caller 2001 25301 (SIPp media 25310) | callee 2002 25302
#        (SIPp media 25320) | OPTIONS probe 25399 | RTP relay 30000-32699 (675 calls).
set -uo pipefail

SB_NAME=durability
. "$(dirname "$0")/lib.sh"
S=$ROOT/sipp-scenarios
ART=${ARTIFACTS:-$ROOT/test-artifacts/durability}

if [ -z "${RATE:-}${CALLS:-}${KILL_AFTER:-}${HOLD:-}" ]; then
  rc=0
  RATE=40 CALLS=320 KILL_AFTER=5 HOLD=2000-4000 ARTIFACTS=$ART/held bash "$0" || rc=1
  RATE=200 CALLS=1000 KILL_AFTER=3 HOLD=0-20 ARTIFACTS=$ART/short bash "$0" || rc=1
  exit $rc
fi
SRC_BIN=$BIN
RATE=${RATE:-40}
CALLS=${CALLS:-320}
KILL_AFTER=${KILL_AFTER:-5}
HOLD=${HOLD:-2000-4000}
SW=127.0.0.1:25360
DOMAIN=switchboard.test

case "$RATE$CALLS$KILL_AFTER" in *[!0-9]*) echo "durability: RATE, CALLS, KILL_AFTER must be integers"; exit 2 ;; esac
[[ $HOLD =~ ^([0-9]+)-([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -le "${BASH_REMATCH[2]}" ] \
  || { echo "durability: HOLD must be MIN-MAX in ms, MIN <= MAX"; exit 2; }
HOLD_MIN=${BASH_REMATCH[1]} HOLD_MAX=${BASH_REMATCH[2]}
require_tools sipp sqlite3 timeout ss
[ -x "$SRC_BIN" ] || { echo "durability: no binary at $SRC_BIN (build it or set SWITCHBOARD_BIN)"; exit 2; }
reason=$(ports_in_use '25360|25301|25302|25310|25320|25399') && { echo "durability: $reason"; exit 2; }

setup_tmp durability
BIN=$TMP/switchboard
cp "$SRC_BIN" "$BIN" || { echo "durability: cannot copy $SRC_BIN"; exit 2; }

# Counters for the summary line.
PLACED=0 ANSWERED=0 DONE=0 DONE_NORMAL=0 DONE_RESTART=0 INFLIGHT_AT_KILL=0 RESTART_CDRS=0
ANSWERED_OPEN=0 ANSWERED_OPEN_RESTART=0 UNSEEN=0 DUPLICATES=0 POST_CALL=no
summary() {
  echo "placed=$PLACED answered=$ANSWERED completed=$DONE (cdr normal_clearing=$DONE_NORMAL" \
    "restart=$DONE_RESTART) hold=${HOLD}ms rate=$RATE/s in_flight_rows_at_kill=$INFLIGHT_AT_KILL restart_cdrs=$RESTART_CDRS" \
    "answered_not_completed=$ANSWERED_OPEN (restart cdr=$ANSWERED_OPEN_RESTART)" \
    "normal_cdrs_not_logged_done=$UNSEEN duplicate_cdrs=$DUPLICATES call_after_restart=$POST_CALL"
}
fail() {
  echo "durability: FAIL $1 (logs: $ART/)"
  echo "  $(summary)"
  exit 1
}

# ---- helpers (sipp_fg, sipp_bg, call_id_of, sql, switch_bg, wait_up: lib.sh) ----------------
# stop_bg PID  ends a background SIPp (SIGTERM to its `timeout`, which passes it on) and reaps it.
stop_bg() {
  kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  local p keep=()
  for p in "${BG_PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
  BG_PIDS=("${keep[@]}")
}
register_2002() {
  sipp_fg 15 "$1" -sf "$S/register_auth.xml" -inf "$S/csv/ep2002.csv" -auth_uri "$DOMAIN" "$SW" \
    -p 25302 -mp 25320 -m 1
}
now_ms() { date +%s%3N; }
clock() { date -u -d "@$(($1 / 1000)).$(printf %03d $(($1 % 1000)))" +%T.%3N; }   # ms -> UTC HH:MM:SS.mmm

start_switch() {   # start_switch N  -> switch.N.log; the switch answers OPTIONS within 20 s
  switch_bg "$TMP/switchboard.toml" "$ART/switch.$1.log"
  SWITCH_PID=$BG
  wait_up "$SWITCH_PID" 20 "$SW" 25399 "$ART/switch.$1.log" && return 0
  SWITCH_PID=
  case $REASON in
    exited*) fail "the switch ${REASON%%:*} at start-up:${REASON#*:}" ;;
    *) fail "the switch did not answer OPTIONS on $SW within 20 s" ;;
  esac
}

# ---- configuration: the SIPp suite's plan and endpoints on this test's ports ----------------
cat >"$TMP/switchboard.toml" <<EOF
# Written by sipp-scenarios/durability.sh.
[sip]
listen = ["udp:$SW"]
domain = "$DOMAIN"
max_calls = 2000
digest_algorithms = ["MD5"]

[sip.timers]
t1_ms = 500
t2_ms = 4000
t4_ms = 5000

[store]
url = "sqlite://$DB"

[media]
mode = "relay"
rtp_ports = "30000-32699"

[dialplan]
dir = "$S/dialplans"

[[endpoint]]
user = "2001"
password = "secret-2001"
caller_id = "Test 2001"
context = "internal"

[[endpoint]]
user = "2002"
password = "secret-2002"
caller_id = "Test 2002"
context = "internal"
EOF
cp "$TMP/switchboard.toml" "$ART/switchboard.toml"
# the caller's scenario with this run's hold time
sed "s/<pause distribution=\"uniform\" min=\"2000\" max=\"4000\"\/>/<pause distribution=\"uniform\" min=\"$HOLD_MIN\" max=\"$HOLD_MAX\"\/>/" \
  "$S/durability_uac.xml" >"$TMP/durability_uac.xml"
grep -q "min=\"$HOLD_MIN\" max=\"$HOLD_MAX\"" "$TMP/durability_uac.xml" \
  || { echo "durability: cannot set the hold time in durability_uac.xml"; exit 2; }

# ---- 1st run: load, then SIGKILL mid-load ---------------------------------------------------
start_switch 1
register_2002 reg2002 || fail "callee 2002 could not register"
sipp_bg 120 uas -sf "$S/uas_answer.xml" -inf "$S/csv/ep2002.csv" -p 25302 -mp 25320
UAS=$BG
sleep 0.3   # let it bind
LOAD_START=$(now_ms)
sipp_bg 120 uac -sf "$TMP/durability_uac.xml" -inf "$S/csv/ep2001.csv" -s 2002 \
  -auth_uri "2002@$DOMAIN" "$SW" -p 25301 -mp 25310 -r "$RATE" -m "$CALLS" -l 2000 \
  -trace_logs -log_file "$ART/uac.calls.log"
UAC=$BG
sleep "$KILL_AFTER"
kill -0 "$SWITCH_PID" 2>/dev/null || fail "the switch died before the kill"
kill -0 "$UAC" 2>/dev/null || fail "the SIPp caller ended before the kill (load too short?)"
KILL_AT=$(now_ms)
{ kill -KILL "$SWITCH_PID"; wait "$SWITCH_PID"; } 2>/dev/null   # (bash's "Killed" notice too)
DEAD_AT=$(now_ms)   # the process is gone: no call can start after this (one may between KILL_AT and it)
SWITCH_PID=
sleep 0.5   # let SIPp log anything that arrived before the kill
stop_bg "$UAC"
stop_bg "$UAS"
echo "durability: killed the switch $((KILL_AT - LOAD_START)) ms into the load"

# What the killed process left on disk (read-only; sqlite3 replays the WAL like the switch will).
INFLIGHT_AT_KILL=$(sql "SELECT count(*) FROM calls_in_flight;")
CDRS_AT_KILL=$(sql "SELECT count(*) FROM cdrs;")
[[ $INFLIGHT_AT_KILL =~ ^[0-9]+$ ]] || fail "cannot read the store after the kill: $INFLIGHT_AT_KILL"
sql "SELECT call_id FROM calls_in_flight ORDER BY call_id;" >"$TMP/inflight_at_kill"

LOG=$ART/uac.calls.log
[ -f "$LOG" ] || fail "SIPp wrote no call log ($LOG)"
PLACED=$(awk 'tolower($1) == "call-id:" {print $2}' "$ART/uac.messages.log" | tr -d '\r' | sort -u | wc -l)
sed -n 's/^ANSWERED \([^ ]*\).*/\1/p' "$LOG" | tr -d '\r' | sort -u >"$TMP/answered"
sed -n 's/^DONE \([^ ]*\).*/\1/p' "$LOG" | tr -d '\r' | sort -u >"$TMP/done"
ANSWERED=$(wc -l <"$TMP/answered")
DONE=$(wc -l <"$TMP/done")
[ "$DONE" -gt 0 ] || fail "no call completed before the kill (raise KILL_AFTER)"
comm -23 "$TMP/answered" "$TMP/done" >"$TMP/answered_open"
ANSWERED_OPEN=$(wc -l <"$TMP/answered_open")

# ---- 2nd run: restart on the same database ---------------------------------------------------
start_switch 2   # close_in_flight runs before the switch listens

# A private copy to join SIPp's Call-IDs against (the switch's file is only ever read).
CHECK=$TMP/check.db
sqlite3 "$DB" ".backup '$CHECK'" || fail "cannot copy the store for checking"
{
  echo "CREATE TABLE done (call_id TEXT PRIMARY KEY);"
  echo "CREATE TABLE answered_open (call_id TEXT PRIMARY KEY);"
  echo "CREATE TABLE inflight_at_kill (call_id TEXT);"
  sed "s/'/''/g; s/.*/INSERT INTO done VALUES ('&');/" "$TMP/done"
  sed "s/'/''/g; s/.*/INSERT INTO answered_open VALUES ('&');/" "$TMP/answered_open"
  sed "s/'/''/g; s/.*/INSERT INTO inflight_at_kill VALUES ('&');/" "$TMP/inflight_at_kill"
} | sqlite3 -batch "$CHECK" || fail "cannot load SIPp's Call-IDs"
q() { sqlite3 -batch -noheader -separator ' ' "$CHECK" "$1" 2>&1; }

# (1) nothing left in flight
left=$(q "SELECT count(*) FROM calls_in_flight;")
[ "$left" = 0 ] || fail "(1) $left row(s) left in calls_in_flight after the restart"

# (2) the in-flight calls were closed with cause restart: > 0, exactly the rows left at the kill
RESTART_CDRS=$(q "SELECT count(*) FROM cdrs WHERE hangup_cause = 'restart';")
[ "$RESTART_CDRS" -gt 0 ] || fail "(2) no CDR with hangup_cause 'restart' (in flight at the kill: $INFLIGHT_AT_KILL)"
unclosed=$(q "SELECT i.call_id FROM inflight_at_kill i WHERE NOT EXISTS
  (SELECT 1 FROM cdrs c WHERE c.call_id = i.call_id AND c.hangup_cause = 'restart') LIMIT 5;")
[ -z "$unclosed" ] || fail "(2) in flight at the kill but no restart CDR: $(echo $unclosed)"
[ "$RESTART_CDRS" = "$INFLIGHT_AT_KILL" ] \
  || fail "(2) $RESTART_CDRS restart CDRs, but $INFLIGHT_AT_KILL rows were in flight at the kill"
bad=$(q "SELECT count(*) FROM cdrs WHERE hangup_cause = 'restart' AND (hangup_side <> 'system'
  OR ended_at_ms < $KILL_AT OR started_at_ms > $DEAD_AT OR sip_status <> 0);")
[ "$bad" = 0 ] || fail "(2) $bad restart CDR(s) not started before and ended by the system after the kill"
# the restart added the closed calls and touched no CDR the killed process had committed
total=$(q "SELECT count(*) FROM cdrs;")
[ "$total" = $((CDRS_AT_KILL + INFLIGHT_AT_KILL)) ] \
  || fail "(2) $total CDRs after the restart, want $CDRS_AT_KILL committed + $INFLIGHT_AT_KILL closed"

# (3) every call SIPp saw completed has its CDR
DONE_NORMAL=$(q "SELECT count(*) FROM done d JOIN cdrs c ON c.call_id = d.call_id WHERE c.hangup_cause = 'normal_clearing';")
DONE_RESTART=$(q "SELECT count(*) FROM done d JOIN cdrs c ON c.call_id = d.call_id WHERE c.hangup_cause = 'restart';")
missing=$(q "SELECT count(*) FROM done d WHERE NOT EXISTS (SELECT 1 FROM cdrs c WHERE c.call_id = d.call_id);")
if [ "$missing" != 0 ]; then
  echo "durability: completed calls with NO CDR (load start $(clock "$LOAD_START"), kill at" \
    "$(clock "$KILL_AT"); rows before the restart: $CDRS_AT_KILL cdrs, $INFLIGHT_AT_KILL in flight):"
  q "SELECT call_id FROM done d WHERE NOT EXISTS (SELECT 1 FROM cdrs c WHERE c.call_id = d.call_id) LIMIT 10;" \
    | while read -r cid; do
        echo "  $cid: $(grep -F " $cid " "$LOG" | tr -s ' \n' ' ')"
      done
  fail "(3) $missing of $DONE completed call(s) have no CDR — a durability bug"
fi
# the 200 to a BYE leaves only after the CDR is committed: a completed call closed as restart
# means SIPp saw its call end before the store had it
if [ "$DONE_RESTART" != 0 ]; then
  q "SELECT d.call_id FROM done d JOIN cdrs c ON c.call_id = d.call_id WHERE c.hangup_cause = 'restart' LIMIT 5;" \
    | while read -r cid; do echo "  $cid: $(grep -F " $cid " "$LOG" | tr -s ' \n' ' ')"; done
  fail "(3) $DONE_RESTART completed call(s) closed as restart: the 200 to their BYE left before their CDR was committed"
fi
other=$(q "SELECT c.call_id || ':' || c.hangup_cause FROM done d JOIN cdrs c ON c.call_id = d.call_id
  WHERE c.hangup_cause <> 'normal_clearing' LIMIT 5;")
[ -z "$other" ] || fail "(3) completed calls with an unexpected hangup_cause: $(echo $other)"
# a completed call's normal CDR must say what SIPp saw: answered (200), the caller hung up
wrong=$(q "SELECT c.call_id || ':' || c.sip_status || '/' || c.hangup_side FROM done d JOIN cdrs c ON c.call_id = d.call_id
  WHERE c.hangup_cause = 'normal_clearing' AND (c.sip_status <> 200 OR c.hangup_side <> 'caller') LIMIT 5;")
[ -z "$wrong" ] || fail "(3) completed calls with a CDR that is not 200/caller: $(echo $wrong)"
# a CDR and its legs are one transaction: no CDR of a completed call may lack its A or B leg
torn=$(q "SELECT c.call_id FROM done d JOIN cdrs c ON c.call_id = d.call_id WHERE c.hangup_cause = 'normal_clearing'
  AND (SELECT count(DISTINCT l.role) FROM cdr_legs l WHERE l.cdr_id = c.id AND l.role IN ('A', 'B')) <> 2 LIMIT 5;")
[ -z "$torn" ] || fail "(3) CDR(s) without their A and B legs: $(echo $torn)"
# the other way round, a check of SIPp's log itself: a normal CDR whose 200 to BYE SIPp never
# logged can only be a reply lost in the kill (rare, a few at most); many mean a truncated log
UNSEEN=$(q "SELECT count(*) FROM cdrs c WHERE c.hangup_cause = 'normal_clearing'
  AND NOT EXISTS (SELECT 1 FROM done d WHERE d.call_id = c.call_id);")
[ "$UNSEEN" -le 5 ] || fail "(3) $UNSEEN normal CDRs whose completion SIPp did not log: is $LOG truncated?"
# answered, not completed: the answer leaves only after the call's in-flight row is committed,
# so each has a CDR (restart if it was up at the kill; normal_clearing if its BYE's 200 was lost
# in the kill)
ANSWERED_OPEN_RESTART=$(q "SELECT count(*) FROM answered_open a JOIN cdrs c ON c.call_id = a.call_id WHERE c.hangup_cause = 'restart';")
no_cdr=$(q "SELECT call_id FROM answered_open a WHERE NOT EXISTS (SELECT 1 FROM cdrs c WHERE c.call_id = a.call_id) LIMIT 5;")
if [ -n "$no_cdr" ]; then
  echo "durability: answered before the kill ($(clock "$KILL_AT")) but no CDR:" \
    "$(for c in $no_cdr; do grep -F "ANSWERED $c " "$LOG"; done | tr -s ' \n' ' ')"
  fail "(3) answered call(s) without any CDR: the answer left before the in-flight row was committed"
fi

# (4) no CDR twice
DUPLICATES=$(q "SELECT count(*) FROM (SELECT call_id FROM cdrs GROUP BY call_id HAVING count(*) > 1);")
[ "$DUPLICATES" = 0 ] || fail "(4) $DUPLICATES Call-ID(s) with more than one CDR: $(echo $(q "SELECT call_id FROM cdrs GROUP BY call_id HAVING count(*) > 1 LIMIT 5;"))"

# (5) the restarted switch takes a new call and records it
register_2002 post.reg2002 || fail "(5) callee 2002 could not register after the restart"
sipp_bg 40 post.uas -sf "$S/uas_answer.xml" -inf "$S/csv/ep2002.csv" -p 25302 -mp 25320 -m 1 -recv_timeout 30000
POST_UAS=$BG
sleep 0.3
sipp_fg 30 post.uac -sf "$S/call_caller_bye.xml" -inf "$S/csv/ep2001.csv" -s 2002 \
  -auth_uri "2002@$DOMAIN" "$SW" -p 25301 -mp 25310 -m 1 -d 500 \
  || fail "(5) the call after the restart failed (see $ART/post.uac.*)"
wait "$POST_UAS" || fail "(5) the callee of the call after the restart failed (see $ART/post.uas.*)"
BG_PIDS=()
post_cid=$(call_id_of "$ART/post.uac.messages.log")
row=
for _ in $(seq 25); do
  row=$(sql "SELECT sip_status || '/' || hangup_side || '/' || hangup_cause FROM cdrs WHERE call_id = '$post_cid';")
  [ -n "$row" ] && break
  sleep 0.2
done
[ "$row" = "200/caller/normal_clearing" ] || fail "(5) CDR of the call after the restart: '${row:-none}', want 200/caller/normal_clearing"
left=$(sql "SELECT count(*) FROM calls_in_flight;")
[ "$left" = 0 ] || fail "(5) $left row(s) in calls_in_flight after the call after the restart ended"
POST_CALL=ok

# (6) leads ----------------------------------------------------------------------------------
# check_leads: the dialer part of issue 6 — "no lead is lost or double-dialled". TO DO when the
# dialer is merged: run a campaign during the load above, then here check against the store that
# every lead is either finished (one attempt with its disposition) or dialable again, that no
# lead has two attempts started for one dial, and that attempts in flight at the kill were closed.
check_leads() { return 0; }
check_leads || fail "(6) leads"

echo "durability: PASS $(summary)"
echo "  (cdrs before the restart: $CDRS_AT_KILL; kill at +$((KILL_AT - LOAD_START)) ms of a" \
  "$((CALLS / RATE)) s load at $RATE calls/s, calls held $HOLD ms)"
