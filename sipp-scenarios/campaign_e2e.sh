#!/usr/bin/env bash
# A real predictive campaign over real SIP (issue 5, "End to end"): the switch's dialer calls
# leads over trunk "carrier" (campaign_carrier.xml: the carrier and its customers, outcomes drawn
# per call), answered calls join queue "outbound" for at most 2 s, and five SIPp agents
# (campaign_agent.xml: auto-answer, lognormal talk, hang up) take them. Then the store, the API,
# SIPp's logs and the simulator must agree. Prints `PASS check` / `FAIL check (reason)` and, last,
# exactly one line `campaign_e2e: N passed, M failed`; exits non-zero on a failure. When the
# switch has no campaign API yet (404 on /api/v1/campaigns) it prints `campaign_e2e: SKIP ...`
# and exits 0.
#
#   sipp-scenarios/campaign_e2e.sh            (make test-campaign)
#
# Sequence: greeting pcaps (campaign_greetings.py) and a config in a temp dir (trunk carrier ->
# 127.0.0.1:26210, queue outbound with wrap-up 3 s, agents 3001-3005, an admin API token); the
# switch starts; the agents REGISTER (register_auth.xml), run campaign_agent.xml and log in through
# the API; the carrier starts; a campaign (predictive, ring timeout 15 s, window all day under
# uk_ofcom, retries an hour away so none falls inside the run) gets $LEADS leads by CSV and runs
# $RUN_S seconds; its stats are read and it is stopped; calls drain; SIPp stops (SIGUSR1).
# Checks:
#   * every call the runner counted as dialled (API live.dials) reached the carrier;
#   * every carrier INVITE has exactly one attempt (by number) and each attempt's outcome is what
#     the carrier did: 486 busy, 404 invalid, 503 congestion, ring-out or cancelled no_answer
#     (480 from the switch's ring timeout, 487, 408),
#     person or machine answered/dropped (the switch has no AMD: a machine is a live answer);
#     per-outcome counts of the store equal the carrier's and the API's outcomes;
#   * no lead dialled twice, no two attempts of a lead overlapping;
#   * a CDR for every answered attempt (attempts.call_id = cdrs.id) and a CDR leg for every
#     INVITE the carrier saw (cdr_legs.sip_call_id);
#   * the agents' SIPp answered as many calls as the store says were bridged;
#   * the switch's store kept up: no database error in the switch log (SQLITE_BUSY, ...);
#   * abandon rate (FTC: abandoned / live answers, API counts) <= 3 % or within 2 calls of it (ABANDON_SLACK: a few dozen live answers
#     make one call worth ~2 points);
#   * talk utilisation and abandon rate within the simulator's band for the same world
#     (campaign_e2e.toml, `switchboard simulate --policy ours --hours RUN_S/3600`, SIM_SEEDS seeds):
#     the 5th-95th percentile band widened by UTIL_MARGIN (0.08) and ABANDON_MARGIN (0.03).
#     The margins cover what the simulator leaves out: SIP and RTP latency on a loaded 2-core
#     host, the agents' 180-before-200, the runner's claim round trips, and the approximations
#     of campaign_e2e.toml (a machine's call length as a lognormal, the 2-second window counted
#     from the answer).
#
# Env: SWITCHBOARD_BIN (default ${CARGO_TARGET_DIR:-target}/release/switchboard), RUN_S (160),
#      LEADS (400), SIM_SEEDS (30), ARTIFACTS (default test-artifacts/campaign-e2e), RUST_LOG
#      (info), KEEP_TMP=1.
# Needs sipp (pcap play), python3, curl, jq, sqlite3, timeout, ss. Builds nothing.
# Ports (loopback only): switch 26200 udp, HTTP 26280 | agents 3001-3005 on 26201-26205 (media
# 41100 41110 .. 41140) | carrier 26210 (media 41000) | OPTIONS probe 26299 | RTP relay 41200-41999.
set -uo pipefail
export LC_ALL=C

SB_NAME=campaign_e2e
. "$(dirname "$0")/lib.sh"
S=$ROOT/sipp-scenarios
ART=${ARTIFACTS:-$ROOT/test-artifacts/campaign-e2e}
SW=127.0.0.1:26200
HTTP=127.0.0.1:26280
API=http://$HTTP/api/v1
TOKEN=campaign-e2e-admin-token-0123456789
DOMAIN=switchboard.test
CARRIER_PORT=26210 CARRIER_MEDIA=41000
AGENTS=(3001 3002 3003 3004 3005)
RUN_S=${RUN_S:-160}
LEADS=${LEADS:-400}
SIM_SEEDS=${SIM_SEEDS:-30}
# the carrier's shares (campaign_e2e.toml describes the same world)
P_HUMAN=0.35 P_MACHINE=0.10 P_BUSY=0.08 P_INVALID=0.04 P_CONGESTION=0.03
ABANDON_LIMIT=0.03 ABANDON_SLACK=2
UTIL_MARGIN=0.08 ABANDON_MARGIN=0.03

setup_tmp campaign-e2e
require_tools sipp timeout sqlite3 ss curl jq python3

# ---- pcaps, config, SIPp csv files -------------------------------------------------------------
python3 "$S/campaign_greetings.py" "$TMP" || abort setup "campaign_greetings.py failed"
mkdir -p "$TMP/dialplans"
{
  config_head "campaign_e2e.sh: a predictive campaign over trunk carrier, loopback only." 41200-41999
  cat <<EOF
prompts_dir = "$ROOT/prompts"

[dialplan]
dir = "$TMP/dialplans"

[http]
listen = "$HTTP"

[[api_token]]
token = "$TOKEN"
role = "admin"
name = "campaign-e2e"

[acd]
max_missed = 0

[[queue]]
name = "outbound"
strategy = "longest_idle"
ring_timeout_secs = 10
wrap_up_secs = 3

[[trunk]]
name = "carrier"
host = "127.0.0.1:$CARRIER_PORT"
transport = "udp"
context = "from-trunk"
EOF
  for a in "${AGENTS[@]}"; do
    printf '\n[[agent]]\nid = "%s"\nendpoint = "%s"\nqueues = [{ queue = "outbound" }]\n' "$a" "$a"
    printf '\n[[endpoint]]\nuser = "%s"\npassword = "secret-%s"\ncontext = "internal"\n' "$a" "$a"
  done
} >"$TMP/switchboard.toml"
cat >"$TMP/dialplans/e2e.toml" <<'EOF'
# campaign_e2e.sh: nothing to dial from the phones; calls from the carrier are refused.
[context.internal]

[context.from-trunk]
EOF
cp "$TMP/switchboard.toml" "$ART/switchboard.toml"
for a in "${AGENTS[@]}"; do
  printf 'SEQUENTIAL\n%s;[authentication username=%s password=secret-%s];%s\n' "$a" "$a" "$a" "$DOMAIN" \
    >"$TMP/ep$a.csv"
done
{
  echo "phone,name"
  for i in $(seq 0 $((LEADS - 1))); do printf '+1415555%04d,Lead %d\n' $((1000 + i)) "$i"; done
} >"$TMP/leads.csv"

# ---- SIPp helpers (sipp_fg, sipp_bg, stop_sipp, why: lib.sh) --------------------------------------
# sipp_bg runs SIPp itself in the background (no `timeout` wrapper, so SIGUSR1 reaches it); a
# watchdog kills it after SECS.
SIPP_BG_DIRECT=1
# api METHOD PATH [CURL ARGS...]  prints the body, then the status on its own last line
api() {
  local m=$1 p=$2; shift 2
  curl -sS -m 10 -X "$m" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$@" "$API$p"
}
status_of() { printf '%s\n' "$1" | tail -1; }
body_of() { printf '%s\n' "$1" | sed '$d'; }

# ---- start the switch ------------------------------------------------------------------------------
reason=$(ports_in_use '2620[0-5]|26210|26280|26299') && abort switch_start "$reason"
[ -x "$BIN" ] || abort switch_start "no binary at $BIN (build it or set SWITCHBOARD_BIN)"
"$BIN" check --config "$TMP/switchboard.toml" >"$ART/check.out" 2>&1 \
  || abort switch_start "switchboard check: $(tail -1 "$ART/check.out")"
switch_bg "$TMP/switchboard.toml" "$ART/switchboard.log"
SWITCH_PID=$BG
http_up() { curl -s -m 2 -o /dev/null "http://$HTTP/"; }
wait_up "$SWITCH_PID" 18 "$SW" 26299 "$ART/switchboard.log" http_up \
  || { SWITCH_PID=; [[ $REASON == exited* ]] || REASON="no answer to OPTIONS on $SW and HTTP on $HTTP within 18 s"
       abort switch_start "$REASON"; }
pass switch_start

# the campaign API: skip (exit 0) when this build has none
r=$(api GET /campaigns)
case $(status_of "$r") in
  200) ;;
  404) echo "campaign_e2e: SKIP: the switch has no campaign API (GET /api/v1/campaigns answered 404)"; exit 0 ;;
  *) abort campaign_api "GET /api/v1/campaigns: HTTP $(status_of "$r"): $(body_of "$r" | head -c 200)" ;;
esac

# ---- agents: register, answer, log in --------------------------------------------------------------
declare -A AGENT_PID
i=0
for a in "${AGENTS[@]}"; do
  port=$((26201 + i)) media=$((41100 + 10 * i)); i=$((i + 1))
  sipp_fg 15 "reg$a" -sf "$S/register_auth.xml" -inf "$TMP/ep$a.csv" -auth_uri "$DOMAIN" "$SW" \
    -p "$port" -mp "$media" -m 1 || abort "agent_register_$a" "$(why $? "reg$a")"
  sipp_bg $((RUN_S + 120)) "agent$a" -sf "$S/campaign_agent.xml" -inf "$TMP/ep$a.csv" -p "$port" -mp "$media" \
    -trace_logs -log_file "$ART/agent$a.log"
  AGENT_PID[$a]=$BG
done
sleep 0.5
for a in "${AGENTS[@]}"; do
  kill -0 "${AGENT_PID[$a]}" 2>/dev/null || { wait "${AGENT_PID[$a]}"; abort "agent_start_$a" "$(why $? "agent$a")"; }
  r=$(api POST "/agents/$a/state" -H 'Content-Type: application/json' -d '{"op":"login"}')
  case $(status_of "$r") in 2*) ;; *) abort "agent_login_$a" "HTTP $(status_of "$r"): $(body_of "$r" | head -c 200)" ;; esac
done
pass agents_register_and_login

# ---- the carrier -----------------------------------------------------------------------------------
sipp_bg $((RUN_S + 120)) carrier -sf "$S/campaign_carrier.xml" -p $CARRIER_PORT -mp $CARRIER_MEDIA \
  -set p_human $P_HUMAN -set p_machine $P_MACHINE -set p_busy $P_BUSY -set p_invalid $P_INVALID \
  -set p_congestion $P_CONGESTION -trace_logs -log_file "$ART/carrier.log"
CARRIER_PID=$BG
sleep 0.5
kill -0 "$CARRIER_PID" 2>/dev/null || { wait "$CARRIER_PID"; abort carrier_start "$(why $? carrier)"; }

# ---- the campaign ------------------------------------------------------------------------------------
CAMPAIGN=$(jq -n '{name: "e2e", trunk: "carrier", caller_id: "+14155550000",
  agents: {queue: "outbound"}, dial_mode: "predictive", ring_timeout_s: 15,
  abandon: {rate: 0.03, regime: "uk_ofcom"}, window: {open_min: 0, close_min: 1440},
  max_attempts: 3, disposition_required: false,
  retry: {busy: {delay_s: 3600, max_attempts: 3}, no_answer: {delay_s: 3600, max_attempts: 3},
          machine: {delay_s: 3600, max_attempts: 2}, congestion: {delay_s: 3600, max_attempts: 3},
          dropped_delay_s: 259200}}')
echo "$CAMPAIGN" >"$ART/campaign.json"
r=$(api POST /campaigns -H 'Content-Type: application/json' -d "$CAMPAIGN")
[ "$(status_of "$r")" = 201 ] || abort campaign_create "HTTP $(status_of "$r"): $(body_of "$r" | head -c 300)"
CID=$(body_of "$r" | jq -r '.id // empty')
[ -n "$CID" ] || abort campaign_create "no id in $(body_of "$r" | head -c 200)"
pass campaign_create

r=$(api POST "/campaigns/$CID/leads" -H 'Content-Type: text/csv' --data-binary "@$TMP/leads.csv")
body_of "$r" >"$ART/leads_response.json"
check leads_loaded eval '[ "$(status_of "$r" | cut -c1)" = 2 ] || { echo "HTTP $(status_of "$r")"; false; };
  l=$(body_of "$r" | jq -r ".loaded"); e=$(body_of "$r" | jq -r ".errors | length");
  [ "$l" = "$LEADS" ] && [ "$e" = 0 ] || { echo "loaded $l of $LEADS, $e errors: $(body_of "$r" | jq -c ".errors[:2]")"; false; }'

r=$(api POST "/campaigns/$CID/start")
[ "$(status_of "$r" | cut -c1)" = 2 ] || abort campaign_start "HTTP $(status_of "$r"): $(body_of "$r" | head -c 300)"
START_MS=$(date +%s%3N)
pass campaign_start
# every 10 s, the live figures (for the log)
for _ in $(seq $((RUN_S / 10))); do
  sleep 10
  api GET "/campaigns/$CID/stats" | sed '$d' | jq -c '{t: now | floor, live: .live}' >>"$ART/stats_timeline.jsonl" 2>/dev/null
done
sleep $((RUN_S % 10))
r=$(api GET "/campaigns/$CID/stats")
STATS=$(body_of "$r")
echo "$STATS" >"$ART/stats_at_stop.json"
r=$(api POST "/campaigns/$CID/stop")
STOP_MS=$(date +%s%3N)
[ "$(status_of "$r" | cut -c1)" = 2 ] || fail campaign_stop "HTTP $(status_of "$r"): $(body_of "$r" | head -c 300)"
check campaign_stats eval '[ -n "$(echo "$STATS" | jq -r ".live.talk_utilisation // empty")" ] || { echo "no live figures in the stats: $(echo "$STATS" | head -c 300)"; false; }'

# drain: the calls up finish (ring timeout 15 s, talk p99 ~ 40 s); bounded, the run must stay
# under 4 minutes
for _ in $(seq 40); do
  n=$(sql "SELECT count(*) FROM calls_in_flight;")
  [ "$n" = 0 ] && break
  sleep 1
done
sleep 1
api GET "/campaigns/$CID/stats" | sed '$d' >"$ART/stats_final.json"

rc_agents=0 bad_agent=
for a in "${AGENTS[@]}"; do
  stop_sipp "${AGENT_PID[$a]}"; rc=$?
  [ $rc -ne 0 ] && { rc_agents=$rc; bad_agent=$a; }
done
stop_sipp "$CARRIER_PID"; rc_carrier=$?
check carrier_sipp_ok eval "[ $rc_carrier -eq 0 ] || why $rc_carrier carrier"
check agents_sipp_ok eval "[ $rc_agents -eq 0 ] || why $rc_agents agent$bad_agent"

# ---- what the carrier did, what the store says -------------------------------------------------------
# carrier.log: "outcome KIND ruri_user=N call_id=C", "cancelled ruri_user=N call_id=C"
digits() { tr -dc '0-9\n'; }
awk '$1 == "outcome" {split($3, n, "="); split($4, c, "="); print n[2], $2, c[2]}' "$ART/carrier.log" \
  | sed 's/^+//' | sort >"$TMP/carrier_outcomes"
awk '$1 == "cancelled" {split($2, n, "="); print n[2]}' "$ART/carrier.log" | sed 's/^+//' | sort -u >"$TMP/carrier_cancelled"
# expected store outcome per number: cancelled while ringing -> no_answer; person/machine -> live
awk 'NR == FNR {c[$1] = 1; next}
     { o = $2; if (c[$1] && (o == "human" || o == "machine" || o == "no_answer")) o = "no_answer";
       else if (o == "human" || o == "machine") o = "live"; print $1, o }' \
  "$TMP/carrier_cancelled" "$TMP/carrier_outcomes" | sort >"$TMP/expected"
sql "SELECT replace(l.phone, '+', ''), a.outcome, coalesce(a.sip_status, ''), a.started_at_ms, a.ended_at_ms,
            coalesce(a.call_id, '')
     FROM attempts a JOIN leads l ON l.id = a.lead_id WHERE a.campaign_id = '$CID' ORDER BY 1, 4;" \
  | tr '|' ' ' >"$TMP/attempts"
cp "$TMP/attempts" "$ART/attempts.txt"; cp "$TMP/expected" "$ART/carrier_expected.txt"
awk '{o = $2; if (o == "answered" || o == "dropped") o = "live"; print $1, o}' "$TMP/attempts" | sort >"$TMP/got"

carrier_saw_calls() { [ -s "$TMP/expected" ] || { echo "the carrier logged no call"; return 1; }; }
attempt_per_carrier_call() {
  local d
  d=$(diff <(cut -d' ' -f1 "$TMP/expected") <(cut -d' ' -f1 "$TMP/got") | grep '^[<>]' | head -3 | tr '\n' ' ')
  [ -z "$d" ] || { echo "numbers the carrier saw (<) vs attempts stored (>): $d"; return 1; }
}
outcomes_match_carrier() {
  local d
  d=$(join "$TMP/expected" "$TMP/got" | awk '$2 != $3' | head -3 | tr '\n' ';')
  [ -z "$d" ] || { echo "number, carrier did, store says: $d"; return 1; }
}
# SIP status per outcome: 486 busy, 404 invalid, 503 congestion; no_answer 480 (the switch's own
# ring timeout), 487 (its CANCEL answered) or 408; none interrupted
sip_status_per_outcome() {
  local d
  d=$(awk '($2 == "busy" && $3 != 486) || ($2 == "invalid" && $3 != 404) || ($2 == "congestion" && $3 != 503) \
           || ($2 == "no_answer" && $3 != 480 && $3 != 487 && $3 != 408) || $2 == "interrupted"' "$TMP/attempts" | head -2 | tr '\n' ';')
  [ -z "$d" ] || { echo "attempts: $d"; return 1; }
}
no_lead_dialled_twice() {
  local d o c
  d=$(awk '{n[$1]++} END {for (k in n) if (n[k] > 1) print k, n[k]}' "$TMP/attempts" | head -3 | tr '\n' ';')
  o=$(awk '$1 == p && $4 < e {print $1} {p = $1; e = $5}' "$TMP/attempts" | head -3 | tr '\n' ' ')
  c=$(cut -d' ' -f1 "$TMP/carrier_outcomes" | uniq -d | head -3 | tr '\n' ' ')
  [ -z "$d$o$c" ] || { echo "attempts per lead > 1: $d overlapping: $o carrier INVITEs twice: $c"; return 1; }
}
# the API's outcome counts = the store's
api_outcomes_match_store() {
  local o s a
  for o in busy invalid congestion no_answer answered dropped; do
    s=$(awk -v o=$o '$2 == o' "$TMP/attempts" | wc -l)
    a=$(jq -r ".outcomes.$o // 0" "$ART/stats_final.json")
    [ "$s" = "$a" ] || { echo "$o: store $s, API $a"; return 1; }
  done
}
# CDRs: each answered/dropped attempt names its call record; every INVITE the carrier saw is a leg
cdrs_for_every_call() {
  local miss id
  miss=$(awk '$6 != "" {print $6}' "$TMP/attempts" | while read -r id; do
           [ "$(sql "SELECT count(*) FROM cdrs WHERE id = '$id' OR call_id = '$id';")" != 0 ] || echo "$id"
         done | head -3 | tr '\n' ' ')
  [ -z "$miss" ] || { echo "attempts whose call has no CDR: $miss"; return 1; }
  sql "SELECT sip_call_id FROM cdr_legs;" | sort -u >"$TMP/legs"
  miss=$(awk '{print $3}' "$TMP/carrier_outcomes" | sort -u | comm -23 - "$TMP/legs" | head -3 | tr '\n' ' ')
  [ -z "$miss" ] || { echo "carrier Call-IDs with no CDR leg: $miss"; return 1; }
}
# every call the runner counts as dialled reached the carrier (the stats were read just before
# the stop: a call or two may be placed in between)
dials_reached_carrier() {
  local d c
  d=$(echo "$STATS" | jq -r '.live.dials // 0')
  c=$(wc -l <"$TMP/carrier_outcomes")
  [ "$c" -ge "$d" ] && [ "$c" -le $((d + 3)) ] || { echo "the runner counted $d dials, the carrier saw $c INVITEs"; return 1; }
}
check carrier_saw_calls carrier_saw_calls
check dials_reached_carrier dials_reached_carrier
check attempt_per_carrier_call attempt_per_carrier_call
check outcomes_match_carrier outcomes_match_carrier
check sip_status_per_outcome sip_status_per_outcome
check no_lead_dialled_twice no_lead_dialled_twice
check api_outcomes_match_store api_outcomes_match_store
check cdrs_for_every_call cdrs_for_every_call

# the agents answered every bridged call
answered=$(awk '$2 == "answered"' "$TMP/attempts" | wc -l)
agent_answers=$(cat "$ART"/agent*.log 2>/dev/null | grep -c ' answered ')
check agents_took_the_bridged_calls eval '[ "$answered" = "$agent_answers" ] || { echo "store: $answered answered, agents SIPp answered $agent_answers"; false; }'

# ---- abandon rate and utilisation vs the simulator --------------------------------------------------
live=$(echo "$STATS" | jq -r '.live.live_answers')
abandoned=$(echo "$STATS" | jq -r '.live.abandoned')
# the FTC rate (abandoned / live answers) from the counts: the API's abandon_rate follows the
# campaign's regime (uk_ofcom here, for an all-day window: Ofcom's estimate)
abandon_rate=$(awk -v a="$abandoned" -v n="$live" 'BEGIN {printf "%.4f", (n > 0 ? a / n : 0)}')
api_abandon_rate=$(echo "$STATS" | jq -r '.live.abandon_rate')
util=$(echo "$STATS" | jq -r '.live.talk_utilisation')
echo "info: run ${RUN_S}s: dials $(echo "$STATS" | jq -r '.live.dials') live answers $live abandoned $abandoned" \
     "abandon rate $abandon_rate (API, Ofcom estimate: $api_abandon_rate) talk utilisation $util; outcomes $(jq -c .outcomes "$ART/stats_final.json")"
check abandon_rate_within_limit eval 'awk -v r="$abandon_rate" -v a="$abandoned" -v n="$live" -v lim=$ABANDON_LIMIT -v s=$ABANDON_SLACK \
  "BEGIN {exit !(r <= lim || a <= int(lim * n) + s)}" || { echo "abandoned $abandoned of $live live answers ($abandon_rate)"; false; }'

# the same figure measured independently: the agents' agent.state events in the switch log,
# on_call time / logged-in time (not logged out, not paused) between the start and the stop
util_events=$(sed 's/\x1b\[[0-9;]*m//g' "$ART/switchboard.log" | grep ' event kind="agent.state"' \
  | python3 -c '
import json, sys
from datetime import datetime, timezone
start, stop = int(sys.argv[1]), int(sys.argv[2])
state, since, talk, logged = {}, {}, 0, 0
def account(a, t):
    global talk, logged
    s, t0 = state.get(a, "logged_out"), max(since.get(a, start), start)
    d = max(0, min(t, stop) - t0)
    if s not in ("logged_out", "paused"):
        logged += d
        if s == "on_call":
            talk += d
    since[a] = t
for line in sys.stdin:
    ts = line.split()[0].rstrip("Z")[:26]   # 2026-11-24T11:16:47.245098Z (UTC)
    t = int(datetime.fromisoformat(ts).replace(tzinfo=timezone.utc).timestamp() * 1000 + 0.5)
    ev = json.loads(line.split(" data=", 1)[1])
    a = ev["agent"]
    account(a, t)
    state[a] = ev["to"]["state"]
for a in list(state):
    account(a, stop)
print(f"{talk / logged:.4f}" if logged else "nan")
' "$START_MS" "$STOP_MS" 2>&1 | tail -1)
echo "info: talk utilisation from the agent.state events: $util_events (API: $util)"
# the API's figure is the agents' on_call share of logged-in time since the start
check api_utilisation_matches_events eval 'awk -v a="$util" -v e="$util_events" "BEGIN {d = a - e; exit !(d <= 0.03 && d >= -0.03)}" \
  || { echo "API talk utilisation $util, from the agent.state events $util_events"; false; }'

HOURS=$(awk -v s="$RUN_S" 'BEGIN {printf "%.6f", s / 3600}')
: >"$ART/sim.jsonl"
for seed in $(seq 1 "$SIM_SEEDS"); do
  "$BIN" simulate --workload "$S/campaign_e2e.toml" --seed "$seed" --policy ours --hours "$HOURS" \
    >>"$ART/sim.jsonl" 2>>"$ART/sim.err" || break
done
band() {  # band FIELD: "p5 p95" of the simulator's FIELD over the seeds
  jq -r ".$1" "$ART/sim.jsonl" | sort -g | awk '{v[NR] = $1} END {
    lo = int(0.05 * (NR - 1) + 0.5) + 1; hi = int(0.95 * (NR - 1) + 0.5) + 1; print v[lo], v[hi]}'
}
if [ "$(wc -l <"$ART/sim.jsonl")" -ne "$SIM_SEEDS" ]; then
  fail simulator_runs "switchboard simulate: $(tail -1 "$ART/sim.err")"
else
  read -r u_lo u_hi <<<"$(band talk_utilisation)"
  read -r a_lo a_hi <<<"$(band ftc_abandon_rate)"
  echo "info: simulator ($SIM_SEEDS seeds, ${RUN_S}s): talk utilisation p5-p95 $u_lo-$u_hi, abandon $a_lo-$a_hi," \
       "dials/connect $(band dials_per_connect | tr ' ' '-')"
  check utilisation_agrees_with_simulator eval 'awk -v x="$util" -v lo="$u_lo" -v hi="$u_hi" -v m=$UTIL_MARGIN \
    "BEGIN {exit !(x >= lo - m && x <= hi + m)}" || { echo "talk utilisation $util outside [$u_lo, $u_hi] +- $UTIL_MARGIN"; false; }'
  check utilisation_from_events_agrees_with_simulator eval 'awk -v x="$util_events" -v lo="$u_lo" -v hi="$u_hi" -v m=$UTIL_MARGIN \
    "BEGIN {exit !(x >= lo - m && x <= hi + m)}" || { echo "talk utilisation (events) $util_events outside [$u_lo, $u_hi] +- $UTIL_MARGIN"; false; }'
  check abandon_agrees_with_simulator eval 'awk -v x="$abandon_rate" -v lo="$a_lo" -v hi="$a_hi" -v m=$ABANDON_MARGIN \
    "BEGIN {exit !(x >= lo - m && x <= hi + m)}" || { echo "abandon rate $abandon_rate outside [$a_lo, $a_hi] +- $ABANDON_MARGIN"; false; }'
fi

# the switch's store kept up: no write refused (SQLITE_BUSY "database is locked" and the like)
store_kept_up() {
  local n
  n=$(sed 's/\x1b\[[0-9;]*m//g' "$ART/switchboard.log" | grep -cE ' (WARN|ERROR) .*database error')
  [ "$n" = 0 ] || { echo "$n store errors in the switch log, first: $(sed 's/\x1b\[[0-9;]*m//g' "$ART/switchboard.log" \
    | grep -m1 -E ' (WARN|ERROR) .*database error' | cut -c1-200)"; return 1; }
}
check store_kept_up store_kept_up
check no_call_in_flight eval '
  n=$(sql "SELECT count(*) FROM calls_in_flight;")
  [ "$n" = 0 ] || { echo "$n row(s) in calls_in_flight"; false; }'
kill -0 "$SWITCH_PID" 2>/dev/null || fail switch_alive "the switch died (see $ART/switchboard.log)"
finish
