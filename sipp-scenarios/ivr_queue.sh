#!/usr/bin/env bash
# SIPp end to end for the IVR and the ACD queues (issue 4): callers enter the IVR, press a digit
# as RFC 4733 events, wait in a queue, and agents' phones (SIPp UAS that REGISTER with digest and
# log in with *45) take the calls and talk back. Prints `PASS check` / `FAIL check (reason)` per
# check and, last, exactly one line `ivr_queue: N passed, M failed`; exits non-zero on a failure.
#
#   sipp-scenarios/ivr_queue.sh
#
# The switch runs with its own config and dialplan written to a temp dir (below): queue `sales`
# (ring_all, agents 3101 3102) and queue `support` (longest_idle, agents 3201 3202), IVR on 600
# (1 sales, 2 support), star codes *45/*46. Sequence:
#   1. each agent REGISTERs (register_auth.xml) and dials *45 (ivr_star_code.xml), then runs
#      ivr_agent.xml in the background (rings 150 ms, answers, plays g711a.pcap, waits for BYE;
#      $SLOW_AGENT, default 3102, rings 650 ms and so loses the first ring-all race by CANCEL);
#   2. caller 4001 places 2 calls 2 s apart (ivr_caller_sales.xml: digit 1 from dtmf_2833_1.pcap)
#      and at the same time caller 4002 places 2 (ivr_caller_support.xml: digit 2); each talks
#      (g711a.pcap) 5 s after the digit's 2 s and hangs up;
#   3. 3101 pauses (*47) and 3202 logs out (*46); one more caller per queue; 3101 unpauses (*48);
#   4. the agents are stopped with SIGUSR1 (SIPp ends its calls and exits 0 if none failed).
# Checks: SIPp exit codes; per caller call, its CDR (200, caller hung up) has exactly one
# answered B leg, and its peer is an agent of the queue the digit chose; both calls of a queue
# went to different agents (ring-all: the first agent is on the call when the second caller
# comes; longest-idle: the one idle longer); ring-all rang both sales agents; longest-idle gave
# the first support call to 3201 (logged in first); after the pause and the logout the next
# callers reach the agent left in each queue and the paused one does not ring; the slow agent
# got exactly one CANCEL per lost INVITE (no duplicate, no retransmission after our 200); RTP both ways after the bridge (cdr_media: packets
# in and out on roles A and B); the switch log's agent.state (login, on call, available again)
# and queue.event (join, answer, complete) events; no call left in calls_in_flight.
#
# Env: SLOW_AGENT (default 3102; empty: all agents ring 150 ms and the CANCEL check is skipped),
#      SWITCHBOARD_BIN (default ${CARGO_TARGET_DIR:-target}/release/switchboard),
#      ARTIFACTS (default test-artifacts/ivr-queue), RUST_LOG (default info), KEEP_TMP=1.
# Needs sipp (with pcap play), timeout, sqlite3, /usr/share/sip-tester/*.pcap. Builds nothing.
# Ports (loopback only): switch 25460 udp | agents 3101 3102 3201 3202 on 25461..25464 (SIPp
# media 25480 25484 25488 25492) | callers 4001 25471 (media 25440), 4002 25472 (media 25444) |
# star codes during the test 25465 (media 25450) | OPTIONS probe 25499 | RTP relay 28400-28599.
set -uo pipefail

SB_NAME=ivr_queue
. "$(dirname "$0")/lib.sh"
S=$ROOT/sipp-scenarios
ART=${ARTIFACTS:-$ROOT/test-artifacts/ivr-queue}
SW=127.0.0.1:25460
DOMAIN=switchboard.test
PCAPS=/usr/share/sip-tester
IVR=600
SALES_AGENTS=(3101 3102)
SUPPORT_AGENTS=(3201 3202)
AGENTS=("${SALES_AGENTS[@]}" "${SUPPORT_AGENTS[@]}")
SLOW_AGENT=${SLOW_AGENT-3102}   # rings 650 ms instead of 150: loses the first ring-all race by CANCEL
CALLS_PER_QUEUE=2   # in the first round; one more each after the pause and the logout
STAR_PORT=25465 STAR_MEDIA_PORT=25450   # star codes dialled while the agents' phones run
# SIP port and SIPp media port of each endpoint
declare -A SIP_PORT=([3101]=25461 [3102]=25462 [3201]=25463 [3202]=25464 [4001]=25471 [4002]=25472)
declare -A MEDIA_PORT=([3101]=25480 [3102]=25484 [3201]=25488 [3202]=25492 [4001]=25440 [4002]=25444)
# RTP packets each side must have sent and received: g711a.pcap is 236 packets in 7.05 s (one
# per ~30 ms); the caller talks 5 s (~167) after the bridge, the agent from its answer (~228).
MIN_RTP=120
# Packets a side sent that the relay may not pass to the other: the caller's digit (10 packets
# of dtmf_2833_N.pcap, before the bridge) and a little slack.
SLACK_RTP=15

setup_tmp ivr-queue
require_tools sipp timeout sqlite3 ss
for p in g711a dtmf_2833_1 dtmf_2833_2; do
  [ -r "$PCAPS/$p.pcap" ] || { echo "ivr_queue: no $PCAPS/$p.pcap (sip-tester)"; exit 2; }
done

# ---- config, dialplan, SIPp csv files --------------------------------------------------------
mkdir -p "$TMP/dialplans"
{
  config_head "ivr_queue.sh: IVR + two ACD queues, loopback only." 28400-28599
  cat <<EOF
# the repository's prompts: the menu plays (the digit interrupts it), music while queued, the
# star codes' confirmations before the switch hangs up. Nothing here depends on hearing them.
prompts_dir = "$ROOT/prompts"

[dialplan]
dir = "$TMP/dialplans"

[acd]
max_missed = 0

[[queue]]
name = "sales"
strategy = "ring_all"
ring_timeout_secs = 10
wrap_up_secs = 1

[[queue]]
name = "support"
strategy = "longest_idle"
ring_timeout_secs = 10
wrap_up_secs = 1
EOF
  for a in "${SALES_AGENTS[@]}"; do
    printf '\n[[agent]]\nid = "%s"\nendpoint = "%s"\nqueues = [{ queue = "sales" }]\n' "$a" "$a"
  done
  for a in "${SUPPORT_AGENTS[@]}"; do
    printf '\n[[agent]]\nid = "%s"\nendpoint = "%s"\nqueues = [{ queue = "support" }]\n' "$a" "$a"
  done
  for u in "${AGENTS[@]}" 4001 4002; do
    printf '\n[[endpoint]]\nuser = "%s"\npassword = "secret-%s"\ncontext = "internal"\n' "$u" "$u"
  done
} >"$TMP/switchboard.toml"

cat >"$TMP/dialplans/ivr.toml" <<EOF
# ivr_queue.sh: the IVR on $IVR (no time condition: the test runs at any hour).
[context.internal]
include = ["agent-codes"]

[[context.internal.extension]]
exten = "$IVR"
actions = [{ goto = { context = "ivr-main", exten = "s" } }]

[context.agent-codes]

[[context.agent-codes.extension]]
exten = "*45"
actions = [
  { queue_agent = { op = "login", agent = "\${CALLERID(num)}" } },
  { playback = "agent-loggedin" },
  { hangup = "normal_clearing" },
]

[[context.agent-codes.extension]]
exten = "*46"
actions = [
  { queue_agent = { op = "logout", agent = "\${CALLERID(num)}" } },
  { playback = "agent-loggedoff" },
  { hangup = "normal_clearing" },
]

[[context.agent-codes.extension]]
exten = "*47"
actions = [
  { queue_agent = { op = "pause", agent = "\${CALLERID(num)}", reason = "break" } },
  { playback = "agent-paused" },
  { hangup = "normal_clearing" },
]

[[context.agent-codes.extension]]
exten = "*48"
actions = [
  { queue_agent = { op = "unpause", agent = "\${CALLERID(num)}" } },
  { playback = "agent-unpaused" },
  { hangup = "normal_clearing" },
]

[context.ivr-main]

[[context.ivr-main.extension]]
exten = "s"
actions = [
  "answer",
  { ivr = { prompt = "main-menu", invalid_prompt = "invalid-option", timeout = 8, attempts = 2 } },
]

[[context.ivr-main.extension]]
exten = "1"
actions = [{ queue = { name = "sales" } }]

[[context.ivr-main.extension]]
exten = "2"
actions = [{ queue = { name = "support" } }]

[[context.ivr-main.extension]]
exten = "i"
actions = [{ hangup = "normal_clearing" }]
EOF
cp "$TMP/switchboard.toml" "$ART/switchboard.toml"
cp "$TMP/dialplans/ivr.toml" "$ART/ivr.toml"

for u in "${AGENTS[@]}" 4001 4002; do
  printf 'SEQUENTIAL\n%s;[authentication username=%s password=secret-%s];%s\n' "$u" "$u" "$u" "$DOMAIN" \
    >"$TMP/ep$u.csv"
done

# ---- SIPp helpers (sipp_fg, sipp_bg, why: lib.sh) ----------------------------------------------
# call_ids LOG  the Call-IDs of the INVITEs a SIPp sent (its -trace_msg log), in order
call_ids() {
  awk '/^INVITE /{inv=1} inv && tolower($0) ~ /^call-id:/{sub(/^[^:]*: */,""); sub(/\r$/,""); print; inv=0}' "$1" \
    | awk '!seen[$0]++'
}

# ---- start the switch -------------------------------------------------------------------------
reason=$(ports_in_use '2546[0-5]|2547[12]|25499|25440|25444|25450|25480|25484|25488|25492') \
  && abort switch_start "$reason"
[ -x "$BIN" ] || abort switch_start "no binary at $BIN (build it or set SWITCHBOARD_BIN)"
"$BIN" check --config "$TMP/switchboard.toml" >"$ART/check.out" 2>&1 \
  || abort switch_start "switchboard check: $(tail -1 "$ART/check.out")"
switch_bg "$TMP/switchboard.toml" "$ART/switchboard.log"
SWITCH_PID=$BG
wait_up "$SWITCH_PID" 18 "$SW" 25499 "$ART/switchboard.log" || { SWITCH_PID=; abort switch_start "$REASON"; }
pass switch_start

# ---- 1. agents: register, log in with *45, answer ------------------------------------------------
for a in "${AGENTS[@]}"; do
  sipp_fg 15 "reg$a" -sf "$S/register_auth.xml" -inf "$TMP/ep$a.csv" -auth_uri "$DOMAIN" "$SW" \
    -p "${SIP_PORT[$a]}" -mp "${MEDIA_PORT[$a]}" -m 1 || abort "agent_register_$a" "$(why $? "reg$a")"
  sipp_fg 25 "login$a" -sf "$S/ivr_star_code.xml" -inf "$TMP/ep$a.csv" -s '*45' -auth_uri "*45@$DOMAIN" \
    "$SW" -p "${SIP_PORT[$a]}" -mp "${MEDIA_PORT[$a]}" -m 1 || abort "agent_login_$a" "$(why $? "login$a")"
done
pass agents_register_and_login
declare -A AGENT_PID
for a in "${AGENTS[@]}"; do
  sipp_bg 90 "agent$a" -sf "$S/ivr_agent.xml" -inf "$TMP/ep$a.csv" -p "${SIP_PORT[$a]}" \
    -mp "${MEDIA_PORT[$a]}" -key slow "$([ "$a" = "$SLOW_AGENT" ] && echo yes || echo no)"
  AGENT_PID[$a]=$BG
done
sleep 0.5   # let them bind
for a in "${AGENTS[@]}"; do
  kill -0 "${AGENT_PID[$a]}" 2>/dev/null || { wait "${AGENT_PID[$a]}"; abort "agent_start_$a" "$(why $? "agent$a")"; }
done

# ---- 2. callers ------------------------------------------------------------------------------------
sipp_bg 60 caller_sales -sf "$S/ivr_caller_sales.xml" -inf "$TMP/ep4001.csv" -s "$IVR" \
  -auth_uri "$IVR@$DOMAIN" "$SW" -p "${SIP_PORT[4001]}" -mp "${MEDIA_PORT[4001]}" \
  -m $CALLS_PER_QUEUE -l $CALLS_PER_QUEUE -r 1 -rp 2000
SALES_PID=$BG
sipp_bg 60 caller_support -sf "$S/ivr_caller_support.xml" -inf "$TMP/ep4002.csv" -s "$IVR" \
  -auth_uri "$IVR@$DOMAIN" "$SW" -p "${SIP_PORT[4002]}" -mp "${MEDIA_PORT[4002]}" \
  -m $CALLS_PER_QUEUE -l $CALLS_PER_QUEUE -r 1 -rp 2000
SUPPORT_PID=$BG
wait "$SALES_PID"; rc_sales=$?
wait "$SUPPORT_PID"; rc_support=$?
check callers_sales_completed eval "[ $rc_sales -eq 0 ] || why $rc_sales caller_sales"
check callers_support_completed eval "[ $rc_support -eq 0 ] || why $rc_support caller_support"

# ---- 3. star codes while the agents' phones run: 3101 pauses (*47), 3202 logs out (*46); one
# more caller per queue must reach the one agent left (3102, 3201); then 3101 unpauses (*48).
# star CODE AGENT NAME  dials CODE as AGENT from the star-code port (its phone owns its port)
star() {
  sipp_fg 25 "$3" -sf "$S/ivr_star_code.xml" -inf "$TMP/ep$2.csv" -s "$1" -auth_uri "$1@$DOMAIN" \
    "$SW" -p "$STAR_PORT" -mp "$STAR_MEDIA_PORT" -m 1 || why $? "$3"
}
sleep 2   # wrap-up (1 s) over
check star_codes_pause_and_logout eval 'star "*47" 3101 pause3101 && star "*46" 3202 logout3202'
sipp_bg 60 caller_sales2 -sf "$S/ivr_caller_sales.xml" -inf "$TMP/ep4001.csv" -s "$IVR" \
  -auth_uri "$IVR@$DOMAIN" "$SW" -p "${SIP_PORT[4001]}" -mp "${MEDIA_PORT[4001]}" -m 1
SALES_PID=$BG
sipp_bg 60 caller_support2 -sf "$S/ivr_caller_support.xml" -inf "$TMP/ep4002.csv" -s "$IVR" \
  -auth_uri "$IVR@$DOMAIN" "$SW" -p "${SIP_PORT[4002]}" -mp "${MEDIA_PORT[4002]}" -m 1
SUPPORT_PID=$BG
wait "$SALES_PID"; rc_sales=$?
wait "$SUPPORT_PID"; rc_support=$?
check callers_after_pause_and_logout_completed eval "[ $rc_sales -eq 0 ] || why $rc_sales caller_sales2;
  ok=\$?; [ $rc_support -eq 0 ] || why $rc_support caller_support2; [ \$? -eq 0 ] && [ \$ok -eq 0 ]"
check star_code_unpause eval 'star "*48" 3101 unpause3101'

# ---- 4. stop the agents gracefully -------------------------------------------------------------
sleep 2   # wrap-up (1 s) over: every agent back to Available
# SIGUSR1 to SIPp itself (the child of our `timeout`): finish the calls in progress, exit
for a in "${AGENTS[@]}"; do signal_sipp "${AGENT_PID[$a]}"; done
# (reaped here, in this shell: `check` runs its command in a subshell, which cannot wait)
declare -A AGENT_RC
for a in "${AGENTS[@]}"; do wait "${AGENT_PID[$a]}"; AGENT_RC[$a]=$?; done
agents_ok() {
  local a bad=
  for a in "${AGENTS[@]}"; do
    [ "${AGENT_RC[$a]}" -eq 0 ] || bad+="$(why "${AGENT_RC[$a]}" "agent$a"); "
  done
  [ -z "$bad" ] || { echo "$bad"; return 1; }
}
check agents_no_failed_call agents_ok

# ---- 5. checks on the store and the log -------------------------------------------------------
# wait until the CDRs of all caller calls are written (the switch writes at hang-up)
SALES_CIDS=$(call_ids "$ART/caller_sales.messages.log")
SUPPORT_CIDS=$(call_ids "$ART/caller_support.messages.log")
in_list() { local q; q=$(printf "'%s'," $1); echo "${q%,}"; }
SALES2_CID=$(call_ids "$ART/caller_sales2.messages.log")
SUPPORT2_CID=$(call_ids "$ART/caller_support2.messages.log")
ALL_CIDS="$SALES_CIDS $SUPPORT_CIDS $SALES2_CID $SUPPORT2_CID"
ALL_IN="$(in_list "$ALL_CIDS")"
for _ in $(seq 25); do
  n=$(sql "SELECT count(*) FROM cdrs WHERE call_id IN ($ALL_IN);")
  [ "$n" = $((2 * CALLS_PER_QUEUE + 2)) ] && break
  sleep 0.2
done

# queue_calls QUEUE CIDS AGENT...  every call: one CDR 200/caller, one answered B leg, whose
# peer is one of the queue's agents; the calls went to different agents.
queue_calls() {
  local queue=$1 cids=$2; shift 2
  local agents=" $* " cid row peers peer got=()
  [ "$(printf '%s\n' $cids | grep -c .)" -eq $CALLS_PER_QUEUE ] \
    || { echo "$queue: $(printf '%s\n' $cids | grep -c .) caller Call-IDs in the SIPp log, want $CALLS_PER_QUEUE"; return 1; }
  for cid in $cids; do
    row=$(sql "SELECT sip_status || '|' || hangup_side FROM cdrs WHERE call_id = '$cid';")
    [ "$row" = "200|caller" ] || { echo "$queue call $cid: CDR '${row:-none}', want 200|caller"; return 1; }
    peers=$(sql "SELECT l.peer FROM cdr_legs l JOIN cdrs c ON c.id = l.cdr_id
                 WHERE c.call_id = '$cid' AND l.role = 'B' AND l.answered_at_ms IS NOT NULL;")
    [ "$(printf '%s\n' "$peers" | grep -c .)" -eq 1 ] \
      || { echo "$queue call $cid: answered B legs '$(echo $peers)', want exactly one"; return 1; }
    [[ $agents == *" $peers "* ]] \
      || { echo "$queue call $cid: bridged to '$peers', not an agent of $queue ($*)"; return 1; }
    got+=("$peers")
  done
  [ "$(printf '%s\n' "${got[@]}" | sort -u | wc -l)" -eq $CALLS_PER_QUEUE ] \
    || { echo "$queue: calls went to ${got[*]}, want $CALLS_PER_QUEUE different agents"; return 1; }
  echo "$queue: ${got[*]}"
}
# bridged CIDS  the agents the CDRs say the calls were bridged to
bridged() {
  sql "SELECT l.peer FROM cdr_legs l JOIN cdrs c ON c.id = l.cdr_id
       WHERE c.call_id IN ($(in_list "$1")) AND l.role = 'B' AND l.answered_at_ms IS NOT NULL;" | tr '\n' ' '
}
declare -A BRIDGED
BRIDGED[sales]=$(bridged "$SALES_CIDS")
BRIDGED[support]=$(bridged "$SUPPORT_CIDS")
check sales_calls_reached_sales_agents queue_calls sales "$SALES_CIDS" "${SALES_AGENTS[@]}"
check support_calls_reached_support_agents queue_calls support "$SUPPORT_CIDS" "${SUPPORT_AGENTS[@]}"

# agents_saw CIDS...  each bridged B leg's Call-ID is a dialog its agent's SIPp answered
agents_saw() {
  local cid row peer bcid
  for cid in $ALL_CIDS; do
    row=$(sql "SELECT l.peer || '|' || l.sip_call_id FROM cdr_legs l JOIN cdrs c ON c.id = l.cdr_id
               WHERE c.call_id = '$cid' AND l.role = 'B' AND l.answered_at_ms IS NOT NULL;")
    peer=${row%%|*} bcid=${row#*|}
    [ -n "$row" ] && [ -f "$ART/agent$peer.messages.log" ] || { echo "call $cid: no bridged agent"; return 1; }
    grep -qi "^Call-ID: *$bcid" "$ART/agent$peer.messages.log" \
      || { echo "call $cid: agent $peer's SIPp never saw the B leg $bcid"; return 1; }
    [ "$bcid" != "$cid" ] || { echo "call $cid: the B leg reuses the caller's Call-ID"; return 1; }
  done
}
check agents_answered_the_bridged_legs agents_saw

# the slow agent lost the first ring-all race by CANCEL (RFC 3261 9.1: one CANCEL transaction
# per INVITE); the agents answer a CANCEL at once, so none may come again (a retransmission
# means the switch did not take our 200, or sent a second CANCEL whose twin it then orphaned)
cancel_ok() {
  local f dup
  [ -z "$SLOW_AGENT" ] && return 0
  grep -q '^CANCEL ' "$ART/agent$SLOW_AGENT.messages.log" \
    || { echo "the slow agent $SLOW_AGENT got no CANCEL (lost no ring-all race?)"; return 1; }
  for f in "$ART"/agent*.messages.log; do
    dup=$(awk '/^CANCEL /{c=1} c && tolower($0) ~ /^call-id:/{sub(/^[^:]*: */,""); sub(/\r$/,""); n[$0]++; c=0}
               END{for (k in n) if (n[k] > 1) print n[k] " CANCELs for " k}' "$f" | head -1)
    [ -z "$dup" ] || { echo "$(basename "$f" .messages.log): $dup (each answered 200 at once)"; return 1; }
  done
}
check ring_all_loser_cancelled_once cancel_ok

# RTP both ways after the bridge: each side sent and received talk-time worth of packets, and
# the relay passed on all that one side sent to the other (but the digit): packets_out of one
# role >= packets_in of the other - SLACK_RTP (prompts or music to A only add to A's out).
rtp_both_ways() {
  local cid rows role ain aout bin bout
  for cid in $ALL_CIDS; do
    rows=$(sql "SELECT m.role || ' ' || m.packets_in || ' ' || m.packets_out FROM cdr_media m
                JOIN cdrs c ON c.id = m.cdr_id WHERE c.call_id = '$cid' ORDER BY m.role;")
    read -r _ ain aout <<<"$(printf '%s\n' "$rows" | grep '^A ')"
    read -r _ bin bout <<<"$(printf '%s\n' "$rows" | grep '^B ')"
    [ -n "${ain:-}" ] && [ -n "${bin:-}" ] || { echo "call $cid: cdr_media rows '$(echo $rows)', want roles A and B"; return 1; }
    for v in "A in:$ain" "A out:$aout" "B in:$bin" "B out:$bout"; do
      [ "${v#*:}" -ge $MIN_RTP ] || { echo "call $cid: RTP $v packets, want >= $MIN_RTP (A=caller, B=agent)"; return 1; }
    done
    [ "$bout" -ge $((ain - SLACK_RTP)) ] || { echo "call $cid: caller sent $ain packets, the agent got $bout"; return 1; }
    [ "$aout" -ge $((bin - SLACK_RTP)) ] || { echo "call $cid: agent sent $bin packets, the caller got $aout"; return 1; }
  done
}
check rtp_flowed_both_ways rtp_both_ways

# the switch log's events: `event kind="agent.state" data={json}` / `kind="queue.event"`
# (tracing's output, ANSI colours stripped), e.g.
#   data={"agent":"3101","call":null,"from":{"state":"logged_out"},"kind":"agent","reason":"login","to":{"state":"available"}}
EVENTS=$TMP/events.log
events() { grep "kind=\"$1\"" "$EVENTS"; }
sed 's/\x1b\[[0-9;]*m//g' "$ART/switchboard.log" | grep ' event kind=' >"$EVENTS"
events_ok() {
  local a q e n want
  for a in "${AGENTS[@]}"; do
    events agent.state | grep "\"agent\":\"$a\"" | grep '"reason":"login"' | grep -q '"to":{"state":"available"' \
      || { echo "no agent.state event: $a logged in (to available, reason login)"; return 1; }
    events agent.state | grep "\"agent\":\"$a\"" | grep -q '"to":{"state":"on_call"' \
      || { echo "no agent.state event: $a on a call"; return 1; }
    # the last transition: back to available after wrap-up (not stuck ringing or on a call),
    # but for 3202, who logged out
    n=$(events agent.state | grep "\"agent\":\"$a\"" | tail -1 | grep -o '"to":{"state":"[a-z_]*"')
    want=available; [ "$a" = 3202 ] && want=logged_out
    [ "$n" = "\"to\":{\"state\":\"$want\"" ] || { echo "agent $a's last transition: $n, want $want"; return 1; }
  done
  for q in sales support; do
    for e in join answer complete; do
      n=$(events queue.event | grep "\"queue\":\"$q\"" | grep -c "\"event\":\"$e\"")
      [ "$n" -eq $((CALLS_PER_QUEUE + 1)) ] || { echo "$n queue.event $e for $q, want $((CALLS_PER_QUEUE + 1))"; return 1; }
    done
    # who answered, per the ACD, is who the CDRs say was bridged
    for a in $(events queue.event | grep "\"queue\":\"$q\"" | grep '"event":"answer"' \
               | grep -o '"agent":"[0-9]*"' | tr -dc '0-9\n'); do
      [[ " ${BRIDGED[$q]} " == *" $a "* ]] || { echo "queue.event answer by $a in $q, but the CDRs bridged ${BRIDGED[$q]}"; return 1; }
    done
  done
  n=$(events queue.event | grep -c '"event":"\(abandon\|overflow\|refuse\)"')
  [ "$n" -eq 0 ] || { echo "$n abandon/overflow/refuse queue events"; return 1; }
}
check events_agent_state_and_queue events_ok

# strategies: ring_all rang both sales agents for the first sales caller (one answered, the
# other was cancelled or released); longest_idle gave the first support caller 3201, who logged
# in before 3202 and so had been idle longer.
strategies_ok() {
  local call a first
  call=$(events queue.event | grep '"queue":"sales"' | grep -m1 '"event":"join"' | grep -o '"call":"[0-9]*"')
  [ -n "$call" ] || { echo "no queue.event join for sales"; return 1; }
  for a in "${SALES_AGENTS[@]}"; do
    events agent.state | grep "\"agent\":\"$a\"" | grep "$call" | grep -q '"to":{"state":"ringing"' \
      || { echo "ring_all: $a did not ring for the first sales caller ($call)"; return 1; }
  done
  first=$(bridged "$(printf '%s\n' $SUPPORT_CIDS | head -1)")
  [ "$first" = "${SUPPORT_AGENTS[0]} " ] \
    || { echo "longest_idle: the first support call went to ${first:-nobody}, want ${SUPPORT_AGENTS[0]}"; return 1; }
}
check queue_strategies strategies_ok

# star codes: *47 paused 3101 (reason break), *46 logged 3202 out, *48 made 3101 available; the
# callers after that reached 3102 and 3201, and the paused 3101 was not rung.
star_codes_ok() {
  local call
  events agent.state | grep '"agent":"3101"' | grep -q '"to":{"reason":"break","state":"paused"}' \
    || { echo "no agent.state event: 3101 paused with reason break"; return 1; }
  events agent.state | grep '"agent":"3202"' | grep -q '"to":{"state":"logged_out"' \
    || { echo "no agent.state event: 3202 logged out"; return 1; }
  events agent.state | grep '"agent":"3101"' | grep -q '"from":{"reason":"break","state":"paused"}.*"to":{"state":"available"' \
    || { echo "no agent.state event: 3101 unpaused (paused -> available)"; return 1; }
  [ "$(bridged "$SALES2_CID")" = "3102 " ] || { echo "sales call after the pause went to '$(bridged "$SALES2_CID")', want 3102"; return 1; }
  [ "$(bridged "$SUPPORT2_CID")" = "3201 " ] || { echo "support call after the logout went to '$(bridged "$SUPPORT2_CID")', want 3201"; return 1; }
  call=$(events queue.event | grep '"queue":"sales"' | grep '"event":"join"' | sed -n 3p | grep -o '"call":"[0-9]*"')
  [ -n "$call" ] || { echo "no third queue.event join for sales"; return 1; }
  ! events agent.state | grep '"agent":"3101"' | grep "$call" | grep -q '"to":{"state":"ringing"' \
    || { echo "the paused 3101 rang for the sales call $call"; return 1; }
}
check star_codes_pause_logout_unpause star_codes_ok

# what happened, for the log: each call's agent and RTP counters (role in/out)
for q in sales support; do
  [ $q = sales ] && cids="$SALES_CIDS $SALES2_CID" || cids="$SUPPORT_CIDS $SUPPORT2_CID"
  for cid in $cids; do
    echo "info: $q call $cid -> agent $(bridged "$cid")RTP packets in/out: $(sql "SELECT m.role || ' ' ||
      m.packets_in || '/' || m.packets_out FROM cdr_media m JOIN cdrs c ON c.id = m.cdr_id
      WHERE c.call_id = '$cid' ORDER BY m.role;" | tr '\n' ' ')"
  done
done

check no_call_in_flight eval '
  n=$(sql "SELECT count(*) FROM calls_in_flight;")
  [ "$n" = 0 ] || { echo "$n row(s) in calls_in_flight: $(sql "SELECT call_id FROM calls_in_flight;" | head -3 | tr "\n" " ")"; false; }'

kill -0 "$SWITCH_PID" 2>/dev/null || fail switch_alive "the switch died (see $ART/switchboard.log)"
finish
