#!/usr/bin/env bash
# Self-test of the campaign scenarios without the switch: campaign_selftest_dialer.xml (a stand-in
# dialer: ring timeout 6 s, holds answered calls 1-12 s) calls
#   1. campaign_carrier.xml: every call completes; the outcome shares the carrier drew are within
#      4 standard deviations of the -set shares; what the dialer saw per Call-ID is what the
#      carrier logged (486 busy, 404 invalid, 503 congestion, CANCEL for no answer and for persons
#      or machines still ringing at 6 s, BYE either way for answered calls: the machine's own BYE
#      at 8 s on some);
#   2. campaign_agent.xml: every call answered; both hang-up directions happen (the agent's
#      lognormal talk ends first on some calls, the dialer's hold on others).
# Prints PASS/FAIL per check and `campaign_selftest: N passed, M failed`.
#   sipp-scenarios/campaign_selftest.sh          CALLS=300 (default 200)
# Ports: carrier 26230 (media 41500), agent 26232 (media 41520), dialer 26234/26236 (media 41540/41560).
set -uo pipefail
export LC_ALL=C

SB_NAME=campaign_selftest
. "$(dirname "$0")/lib.sh"
S=$ROOT/sipp-scenarios
ART=${ARTIFACTS:-$ROOT/test-artifacts/campaign-selftest}
CALLS=${CALLS:-200}
P_HUMAN=0.35 P_MACHINE=0.10 P_BUSY=0.08 P_INVALID=0.04 P_CONGESTION=0.03
setup_tmp campaign-selftest
require_tools sipp timeout python3
python3 "$S/campaign_greetings.py" "$TMP" --silence-s 30 || { echo "campaign_selftest: pcaps failed"; exit 2; }

# uas NAME PORT MEDIA ARGS...  a UAS SIPp in the background (pid in UAS); stop_sipp ends it
uas() {
  local name=$1 port=$2 media=$3; shift 3
  SIPP_BG_SETTLE=0.5 sipp_bg 200 "$name" "$@" -p "$port" -mp "$media" -trace_logs -log_file "$ART/$name.log"
  UAS=$BG
}
# dialer NAME TARGET SERVICE PORT MEDIA  runs the stand-in dialer to completion
dialer() {
  sipp_fg 150 "$1" -sf "$S/campaign_selftest_dialer.xml" "$2" -s "$3" -p "$4" -mp "$5" -m "$CALLS" -r 10 -l 80 \
    -trace_logs -log_file "$ART/$1.log"
}

# ---- 1. carrier ------------------------------------------------------------------------------------
uas carrier 26230 41500 -sf "$S/campaign_carrier.xml" -set p_human $P_HUMAN -set p_machine $P_MACHINE \
  -set p_busy $P_BUSY -set p_invalid $P_INVALID -set p_congestion $P_CONGESTION
CARRIER=$UAS
dialer dialer_carrier 127.0.0.1:26230 15550100 26234 41540; rc_d=$?
stop_sipp "$CARRIER"; rc_c=$?
check carrier_dialer_calls_completed eval "[ $rc_d -eq 0 ] || { echo 'dialer SIPp exit $rc_d'; false; }"
check carrier_calls_completed eval "[ $rc_c -eq 0 ] || { echo 'carrier SIPp exit $rc_c'; false; }"

shares_ok() {
  local n k want got
  n=$(grep -c '^outcome ' "$ART/carrier.log")
  [ "$n" = "$CALLS" ] || { echo "carrier logged $n outcomes for $CALLS calls"; return 1; }
  for k in human:$P_HUMAN machine:$P_MACHINE busy:$P_BUSY invalid:$P_INVALID congestion:$P_CONGESTION \
           no_answer:$(awk "BEGIN {print 1 - $P_HUMAN - $P_MACHINE - $P_BUSY - $P_INVALID - $P_CONGESTION}"); do
    want=${k#*:} k=${k%%:*}
    got=$(grep -c "^outcome $k " "$ART/carrier.log")
    awk -v g="$got" -v p="$want" -v n="$n" 'BEGIN {sd = sqrt(n * p * (1 - p)); exit !(g >= n * p - 4 * sd - 1 && g <= n * p + 4 * sd + 1)}' \
      || { echo "$k: $got of $n, want about $(awk "BEGIN {print $n * $want}")"; return 1; }
  done
}
check carrier_outcome_shares shares_ok

per_call_ok() {
  local bad
  # carrier: Call-ID -> kind (+ cancelled); dialer: Call-ID -> what it saw
  awk '$1 == "outcome" {sub("call_id=", "", $4); k[$4] = $2}
       $1 == "cancelled" {sub("call_id=", "", $3); c[$3] = 1}
       END {for (i in k) print i, k[i], (i in c) ? "cancelled" : "-"}' "$ART/carrier.log" | sort >"$TMP/c"
  awk '{sub("call_id=", "", $3); print $3, $2}' "$ART/dialer_carrier.log" | sort >"$TMP/d"
  [ "$(join "$TMP/c" "$TMP/d" | wc -l)" = "$CALLS" ] || { echo "carrier and dialer logs share $(join "$TMP/c" "$TMP/d" | wc -l) Call-IDs of $CALLS"; return 1; }
  bad=$(join "$TMP/c" "$TMP/d" | awk '
    ($2 == "busy" && $4 != "486") || ($2 == "invalid" && $4 != "404") || ($2 == "congestion" && $4 != "503") ||
    ($2 == "no_answer" && $4 != "cancelled") || ($3 == "cancelled" && $4 != "cancelled") ||
    (($2 == "human" || $2 == "machine") && $3 != "cancelled" && $4 != "bye" && $4 != "remote_bye") ||
    ($2 == "human" && $4 == "remote_bye")' | head -3 | tr '\n' ';')
  [ -z "$bad" ] || { echo "Call-ID carrier-kind cancelled? dialer-saw: $bad"; return 1; }
  [ "$(wc -l <"$TMP/d")" = "$CALLS" ] || { echo "dialer logged $(wc -l <"$TMP/d") results"; return 1; }
  grep -q ' remote_bye ' "$ART/dialer_carrier.log" || { echo "no machine hung up by itself"; return 1; }
  grep -q '^cancelled ' "$ART/carrier.log" || { echo "no call was cancelled"; return 1; }
}
check carrier_per_call_results per_call_ok

# ---- 2. agent ---------------------------------------------------------------------------------------
printf 'SEQUENTIAL\n3001;[authentication username=3001 password=x];switchboard.test\n' >"$TMP/ep3001.csv"
uas agent 26232 41520 -sf "$S/campaign_agent.xml" -inf "$TMP/ep3001.csv"
AGENT=$UAS
CALLS=$((CALLS / 4)) dialer dialer_agent 127.0.0.1:26232 3001 26236 41560; rc_d=$?
stop_sipp "$AGENT"; rc_a=$?
check agent_dialer_calls_completed eval "[ $rc_d -eq 0 ] || { echo 'dialer SIPp exit $rc_d'; false; }"
check agent_calls_completed eval "[ $rc_a -eq 0 ] || { echo 'agent SIPp exit $rc_a'; false; }"
agent_ok() {
  local n a h r
  n=$((CALLS / 4))
  a=$(grep -c ' answered ' "$ART/agent.log"); h=$(grep -c ' hangs_up ' "$ART/agent.log")
  r=$(grep -c ' remote_bye ' "$ART/agent.log")
  [ "$a" = "$n" ] || { echo "agent answered $a of $n"; return 1; }
  [ $((h + r)) = "$n" ] || { echo "hang-ups: agent $h + remote $r != $n"; return 1; }
  [ "$h" -gt 0 ] && [ "$r" -gt 0 ] || { echo "want both directions: agent $h, remote $r"; return 1; }
}
check agent_answers_and_hangs_up agent_ok

finish
