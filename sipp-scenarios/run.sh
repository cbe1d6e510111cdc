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
# Media tests: relay 27000-27999; SIPp RTP 25400/25420, rtp_sink.py 25410 (needs python3); the
# media-timeout switch 25260 udp+tcp, relay 26000-26999, probe 25299; the kernel-forwarding
# switch 25270 udp+tcp, relay 28800-28999, probe 25297.
set -uo pipefail

SB_NAME=run.sh
. "$(dirname "$0")/lib.sh"
S=$ROOT/sipp-scenarios
ART=${ARTIFACTS:-$ROOT/test-artifacts/sipp}
SW=127.0.0.1:25060
DOMAIN=switchboard.test
MODE=switchboard

ALL_TESTS=(register_auth register_auth_tcp register_wrong_password register_refresh_unregister
  call_caller_bye call_callee_bye call_cancel call_busy call_noanswer call_hold_unhold
  call_unknown_ext call_wrong_password call_trunk call_from_trunk call_caller_bye_tcp
  call_tcp_callee call_concurrent_50)
# media through the relay (RTP pcaps checked by rtp_sink.py; media timeout on a second switch)
ALL_TESTS+=(call_rtp_pcap call_rtp_pcap_pt_remap call_rtp_pcap_kernel call_media_timeout call_media_timeout_hold)

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

setup_tmp sipp
require_tools sipp timeout
[ $MODE = switchboard ] && require_tools sqlite3

# ---- SIPp helpers (sipp_fg, sipp_bg, sipp_error, call_id_of, sql: lib.sh) ------------------------
# sipp_fg/sipp_bg SECS NAME.ROLE ARGS...: logs under $ART/NAME.ROLE.*; sipp_bg lets SIPp bind first
SIPP_BG_SETTLE=0.3
# why RC LOGBASE  prints a one-line reason from a SIPp exit code and its error log; returns 1.
why() {
  local rc=$1 msg
  msg=$(sipp_error "$2")
  case $rc in
    124|137) echo "timed out${msg:+: $msg}" ;;
    1) echo "SIPp: call failed${msg:+: $msg}" ;;
    *) echo "SIPp exit $rc${msg:+: $msg}" ;;
  esac
  return 1   # callers end with `|| why $? ...`: a failed SIPp must fail the test
}

# register USER NAME [extra sipp args]  one REGISTER round from the user's port (-m 1).
register() {
  local user=$1 name=$2; shift 2
  sipp_fg 15 "$name.reg$user" -sf "$S/register_auth.xml" -inf "$S/csv/ep$user.csv" \
    -auth_uri "$DOMAIN" "$SW" -p "$((23100 + user))" -m 1 "$@"
}
# caller NAME SECS SCENARIO NUMBER [extra]  endpoint 2001 places call(s) to NUMBER.
caller() {
  local name=$1 secs=$2 scen=$3 number=$4; shift 4
  sipp_fg "$secs" "$name.caller" -sf "$S/$scen" -inf "$S/csv/ep2001.csv" -s "$number" \
    -auth_uri "$number@$DOMAIN" "$SW" -p 25101 "$@"
}
# callee NAME SECS USER SCENARIO [extra]  registers USER, then runs its UAS in the background.
callee() {
  local name=$1 secs=$2 user=$3 scen=$4; shift 4
  register "$user" "$name" || return 1
  sipp_bg "$secs" "$name.uas$user" -sf "$S/$scen" -inf "$S/csv/ep$user.csv" -p "$((23100 + user))" "$@"
}
# wait_bg PID -> exit code of a background SIPp
wait_bg() { wait "$1"; }

# ---- CDR checks (store schema: src/store/migrations/0001_cdrs.sql) -----------------------------
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
# b_leg_expect A_CALL_ID B_CALL_ID  the CDR's B leg (cdr_legs) is the dialog the callee saw.
b_leg_expect() {
  [ $MODE = standin ] && return 0
  local legs
  legs=$(sql "SELECT l.sip_call_id FROM cdr_legs l JOIN cdrs c ON c.id = l.cdr_id WHERE c.call_id = '$1' AND l.role = 'B';")
  [ -z "$legs" ] && { echo "CDR has no B leg"; return 1; }
  printf '%s\n' "$legs" | grep -qxF "$2" || { echo "CDR B leg(s) $(echo $legs) != callee's Call-ID $2"; return 1; }
  return 0
}
# b2bua_check NAME USER  the callee must see a Call-ID of its own (new dialog), not the caller's.
b2bua_check() {
  [ $MODE = standin ] && return 0
  local a b
  a=$(call_id_of "$ART/$1.caller.messages.log"); b=$(call_id_of "$ART/$1.uas$2.messages.log")
  [ -z "$b" ] && { echo "callee saw no INVITE"; return 1; }
  [ "$a" = "$b" ] && { echo "B leg reuses the caller's Call-ID $a"; return 1; }
  # topology hiding: the caller's dialog targets the switch, never the callee's own Contact
  grep -q -i '^Contact:.*@127\.0\.0\.1:'"$((23100 + $2))" "$ART/$1.caller.messages.log" \
    && { echo "the caller saw the callee's Contact (127.0.0.1:$((23100 + $2)))"; return 1; }
  return 0
}

# ---- tests: each returns 0 or prints a reason and returns 1 ----------------------------------
t_register_auth() { register 2001 register_auth || why $? "$ART/register_auth.reg2001"; }

t_register_auth_tcp() {
  sipp_fg 15 register_auth_tcp.reg2001 -t t1 -sf "$S/register_auth.xml" -inf "$S/csv/ep2001.csv" \
    -auth_uri "$DOMAIN" "$SW" -p 25111 -m 1 || why $? "$ART/register_auth_tcp.reg2001"
}

t_register_wrong_password() {
  sipp_fg 15 register_wrong_password.reg2003 -sf "$S/register_wrong_password.xml" \
    -inf "$S/csv/ep2003_wrong.csv" -auth_uri "$DOMAIN" "$SW" -p 25103 -m 1 \
    || why $? "$ART/register_wrong_password.reg2003"
}

t_register_refresh_unregister() {
  sipp_fg 20 register_refresh_unregister.reg2004 -sf "$S/register_refresh_unregister.xml" \
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
  local a_cid; a_cid=$(call_id_of "$ART/$name.caller.messages.log")
  cdr_expect "$a_cid" "$status" "$side" || return 1
  b_leg_expect "$a_cid" "$(call_id_of "$ART/$name.uas2002.messages.log")"
}

t_call_caller_bye() {
  two_party call_caller_bye call_caller_bye.xml uas_answer.xml 200 caller -d 1000 || return 1
  # RFC 3261 16.2/17.2.1: the switch answers the (authenticated) INVITE with 100 Trying itself
  grep -q '^SIP/2.0 100 ' "$ART/call_caller_bye.caller.messages.log" || { echo "no 100 Trying"; return 1; }
}
t_call_callee_bye() { two_party call_callee_bye call_callee_bye.xml uas_answer_bye.xml 200 callee; }
t_call_cancel() { two_party call_cancel call_cancel.xml uas_ring_forever.xml 487 caller; }
t_call_busy() { two_party call_busy call_busy.xml uas_busy.xml 486 callee; }
t_call_noanswer() { two_party call_noanswer call_noanswer.xml uas_ring_forever.xml 480 system; }
t_call_hold_unhold() { two_party call_hold_unhold call_hold_unhold.xml uas_hold.xml 200 caller; }

t_call_caller_bye_tcp() {
  two_party call_caller_bye_tcp call_caller_bye.xml uas_answer.xml 200 caller -d 500 -t t1
}

# the callee registers over TCP with ;transport=tcp and listens on TCP: the B leg must use TCP
t_call_tcp_callee() {
  local name=call_tcp_callee
  # only the TCP binding may exist, or the switch also forks to the UDP one (same port, nobody
  # listening) and retransmits that INVITE until Timer B, into the next test's UAS
  sipp_fg 15 $name.unreg2002 -sf "$S/unregister_all.xml" -inf "$S/csv/ep2002.csv" -auth_uri "$DOMAIN" \
    "$SW" -p 25102 -m 1 || { why $? "$ART/$name.unreg2002"; return 1; }
  sipp_fg 15 $name.reg2002 -t t1 -sf "$S/register_auth_tcp.xml" -inf "$S/csv/ep2002.csv" \
    -auth_uri "$DOMAIN" "$SW" -p 25102 -m 1 || { why $? "$ART/$name.reg2002"; return 1; }
  sipp_bg 40 $name.uas2002 -t t1 -sf "$S/uas_answer_tcp.xml" -inf "$S/csv/ep2002.csv" -p 25102 -m 1 \
    -recv_timeout 30000
  local upid=$BG
  caller $name 30 call_caller_bye.xml 2002 -m 1 -d 500 || { why $? "$ART/$name.caller"; return 1; }
  wait_bg $upid || { echo "callee: $(why $? "$ART/$name.uas2002")"; return 1; }
  b2bua_check $name 2002 || return 1
  local a_cid; a_cid=$(call_id_of "$ART/$name.caller.messages.log")
  cdr_expect "$a_cid" 200 caller || return 1
  # drop the TCP binding (Contact: *) and re-register 2002 over UDP for the later tests
  sipp_fg 15 $name.unreg2002b -sf "$S/unregister_all.xml" -inf "$S/csv/ep2002.csv" -auth_uri "$DOMAIN" \
    "$SW" -p 25102 -m 1 || { why $? "$ART/$name.unreg2002b"; return 1; }
  register 2002 $name || why $? "$ART/$name.reg2002"
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

t_call_wrong_password() {
  sipp_fg 20 call_wrong_password.caller -sf "$S/call_wrong_password.xml" -inf "$S/csv/ep2003_wrong.csv" \
    -s 2002 -auth_uri "2002@$DOMAIN" "$SW" -p 25103 -m 1 || why $? "$ART/call_wrong_password.caller"
}

# the carrier (a trunk inbound source, no auth) calls DID 15550001; from-trunk rings 2002
t_call_from_trunk() {
  local name=call_from_trunk
  callee $name 40 2002 uas_answer.xml -m 1 -recv_timeout 30000 || { why $? "$ART/$name.reg2002"; return 1; }
  local upid=$BG
  sipp_fg 30 $name.caller -sf "$S/bench_uac.xml" -s 15550001 "$SW" -p 25080 -m 1 -d 500 \
    || { why $? "$ART/$name.caller"; return 1; }
  wait_bg $upid || { echo "callee: $(why $? "$ART/$name.uas2002")"; return 1; }
  b2bua_check $name 2002 || return 1
  local a_cid; a_cid=$(call_id_of "$ART/$name.caller.messages.log")
  cdr_expect "$a_cid" 200 caller || return 1
  b_leg_expect "$a_cid" "$(call_id_of "$ART/$name.uas2002.messages.log")"
}

t_call_trunk() {
  sipp_bg 40 call_trunk.carrier -sf "$S/uas_carrier.xml" -p 25080 -m 1 -recv_timeout 30000
  local upid=$BG
  caller call_trunk 30 call_trunk.xml 915551234567 -m 1 -d 500 || { why $? "$ART/call_trunk.caller"; return 1; }
  wait_bg $upid || { echo "carrier: $(why $? "$ART/call_trunk.carrier")"; return 1; }
  local a_cid; a_cid=$(call_id_of "$ART/call_trunk.caller.messages.log")
  cdr_expect "$a_cid" 200 caller || return 1
  b_leg_expect "$a_cid" "$(call_id_of "$ART/call_trunk.carrier.messages.log")"
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

# ---- media through the relay ------------------------------------------------------------------
# sdp_ports LOG  the m=audio ports of every SDP in a SIPp message log, one per line, in order.
sdp_ports() { sed -n 's/^ *m=audio \([0-9]*\) .*/\1/p' "$1" 2>/dev/null; }
in_relay_range() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# rtp_pcap_call NAME TE_PT: 2001 calls 2002 and plays g711a.pcap + dtmf_2833_1.pcap (SIPp UAC,
# RTP from 25400, telephone-event PT 101). 2002 answers with telephone-event PT TE_PT and an SDP
# that points at rtp_sink.py on 25410, which must receive every PCMA payload byte for byte, in
# order, and the digit's event packets (as PT TE_PT), all from ONE address: the relay port the
# switch offered the B leg (in 27000-27999). The caller must get a relay port too (no bypass).
t_call_rtp_pcap() { rtp_pcap_call call_rtp_pcap 101; }
# The same through a switch with `[media] kernel_forwarding = true` (on 25270, relay 28800-28999):
# after its first packet the kernel forwards the audio (the switch's debug log says when it takes
# a direction), the RFC 4733 events still reach the relay thread, and the sink still gets every
# payload in order from the relay's port. Skipped (and said so) where the kernel lets the switch
# use no BPF; any other refusal fails.
t_call_rtp_pcap_kernel() {
  [ $MODE = standin ] && return 0
  local name=call_rtp_pcap_kernel SW=127.0.0.1:25270 DB=$TMP/sb-kernel.db
  RUST_LOG=info,switchboard::media=debug extra_switch 25270 25297 28800-28999 'kernel_forwarding = true' \
    || return 1
  if grep -q 'kernel forwarding unavailable' "$ART/$name.switch.log"; then
    if grep 'kernel forwarding unavailable' "$ART/$name.switch.log" | grep -qE 'Operation not permitted|not implemented'; then
      echo "SKIPPED: the kernel lets this user use no BPF" >&2; return 0
    fi
    echo "kernel forwarding refused: $(grep -m1 'kernel forwarding unavailable' "$ART/$name.switch.log")"; return 1
  fi
  grep -q 'kernel forwarding on' "$ART/$name.switch.log" || { echo "the switch did not say 'kernel forwarding on'"; return 1; }
  rtp_pcap_call $name 101 28800 28999 || return 1
  grep -q 'kernel forwards this direction' "$ART/$name.switch.log" \
    || { echo "no direction was offloaded to the kernel (switch log)"; return 1; }
  save_store $name
}
# RFC 4733 + RFC 3264 §6.1: the callee numbers telephone-event 96; the relay remaps 101 -> 96
t_call_rtp_pcap_pt_remap() {
  [ $MODE = standin ] && return 0   # a proxy does not touch RTP: the 101 would arrive as 101
  rtp_pcap_call call_rtp_pcap_pt_remap 96
}
# rtp_pcap_call NAME TE_PT [RELAY_LO RELAY_HI]: the caller plays both pcaps through the switch
# at $SW to the callee; the sink checks every payload, in order, from the relay's B-leg port.
rtp_pcap_call() {
  local name=$1 te_pt=$2 lo=${3:-27000} hi=${4:-27999}
  command -v python3 >/dev/null || { echo "python3 not installed (rtp_sink.py)"; return 1; }
  [ -r /usr/share/sip-tester/g711a.pcap ] || { echo "no /usr/share/sip-tester/g711a.pcap (sip-tester)"; return 1; }
  timeout -k 2 60 python3 "$S/rtp_sink.py" --port 25410 --secs 50 --idle 3 --report "$ART/$name.sink.report" \
    --expect /usr/share/sip-tester/g711a.pcap --expect /usr/share/sip-tester/dtmf_2833_1.pcap \
    --map "101=$te_pt" >"$ART/$name.sink.out" 2>&1 &
  local spid=$!
  BG_PIDS+=("$spid")
  callee $name 60 2002 uas_rtp_sink.xml -m 1 -recv_timeout 50000 -key rtp_sink 25410 -key te_pt "$te_pt" \
    -mp 25420 \
    || { why $? "$ART/$name.reg2002"; return 1; }
  local upid=$BG
  caller $name 60 call_rtp_pcap.xml 2002 -m 1 -mp 25400 || { why $? "$ART/$name.caller"; return 1; }
  wait_bg $upid || { echo "callee: $(why $? "$ART/$name.uas2002")"; return 1; }
  wait "$spid"; local src=$?
  if [ $src -ne 0 ]; then
    echo "RTP sink: $(grep -m1 -E '^FAIL|Error|error' "$ART/$name.sink.out" || tail -1 "$ART/$name.sink.out")"
    return 1
  fi
  [ $MODE = standin ] && return 0   # a proxy passes SDP through: no relay ports to check
  b2bua_check $name 2002 || return 1
  # the relay's ports, from the SDP each side saw (the side's own port filtered out)
  local a_port b_port from
  a_port=$(sdp_ports "$ART/$name.caller.messages.log" | grep -vx 25400 | sort -u)
  b_port=$(sdp_ports "$ART/$name.uas2002.messages.log" | grep -vx 25410 | sort -u)
  [ "$(printf '%s\n' "$a_port" | wc -l)" -eq 1 ] && in_relay_range "$a_port" "$lo" "$hi" \
    || { echo "caller's answer SDP port(s) $(echo $a_port): want one relay port in $lo-$hi"; return 1; }
  [ "$(printf '%s\n' "$b_port" | wc -l)" -eq 1 ] && in_relay_range "$b_port" "$lo" "$hi" \
    || { echo "callee's offer SDP port(s) $(echo $b_port): want one relay port in $lo-$hi"; return 1; }
  from=$(sed -n 's/^sources: //p' "$ART/$name.sink.report")
  [ "$from" = "127.0.0.1:$b_port" ] || { echo "RTP came from $from, not from the relay's B-leg port 127.0.0.1:$b_port"; return 1; }
  local a_cid; a_cid=$(call_id_of "$ART/$name.caller.messages.log")
  cdr_expect "$a_cid" 200 caller || return 1
  b_leg_expect "$a_cid" "$(call_id_of "$ART/$name.uas2002.messages.log")"
}

# extra_switch SIP_PORT PROBE_PORT RTP_PORTS MEDIA_LINE: starts a second switch for NAME on
# 127.0.0.1:SIP_PORT with its own store, relay ports RTP_PORTS and MEDIA_LINE added to its
# [media] table; waits for it to answer OPTIONS (from PROBE_PORT). The caller sets `local SW DB`
# first (used by register/caller/cdr_expect) and `local name`.
extra_switch() {
  local port=$1 probe=$2 rtp=$3 line=$4
  sed -e "s|^url = \"sqlite://.*\"|url = \"sqlite://$DB\"|" \
      -e "s|^dir = \"sipp-scenarios/dialplans\"|dir = \"$S/dialplans\"|" \
      -e "s|127\\.0\\.0\\.1:25060|127.0.0.1:$port|g" \
      -e "s|^rtp_ports = .*|rtp_ports = \"$rtp\"\\n$line|" \
      "$S/switchboard-test.toml" >"$TMP/$name.toml"
  cp "$TMP/$name.toml" "$ART/$name.switch.toml"
  grep -qx "$line" "$TMP/$name.toml" || { echo "could not set [media] $line in the config"; return 1; }
  switch_bg "$TMP/$name.toml" "$ART/$name.switch.log"
  BG_PIDS+=("$BG")
  wait_up "$BG" 12 "$SW" "$probe" "$ART/$name.switch.log" || { echo "second switch: $REASON"; return 1; }
}
# media_timeout_switch: a second switch with `[media] timeout_s = 3` (the suite's own keeps the
# default, so its calls without RTP live) on 25260, relay 26000-26999.
media_timeout_switch() { extra_switch 25260 25299 26000-26999 'timeout_s = 3'; }
# save_store NAME: a copy of the second switch's store next to the other artifacts
save_store() {
  [ -f "$DB" ] && sqlite3 "$DB" ".backup '$ART/$1.sb.db'" 2>/dev/null
  return 0
}

# On the media-timeout switch: 2001 calls 2002, both answer with SDP, nobody sends RTP. The switch
# must send BYE to both sides (SIPp waits at most 12 s for it) and write the CDR 200 / system /
# media_timeout with 3 s <= answered-to-end < 12 s.
t_call_media_timeout() {
  [ $MODE = standin ] && return 0   # a proxy has no media timeout
  local name=call_media_timeout SW=127.0.0.1:25260 DB=$TMP/sb-media-timeout.db
  media_timeout_body; local rc=$?
  save_store $name
  return $rc
}
# On the media-timeout switch, a silent call on hold for 6 s (2 x timeout_s) must live: the
# caller unholds and hangs up itself (call_hold_silent.xml / uas_hold.xml), CDR 200 / caller /
# not media_timeout, answered for at least 6 s.
t_call_media_timeout_hold() {
  [ $MODE = standin ] && return 0
  local name=call_media_timeout_hold SW=127.0.0.1:25260 DB=$TMP/sb-media-timeout-hold.db
  hold_silent_body; local rc=$?
  save_store $name
  return $rc
}
hold_silent_body() {
  media_timeout_switch || return 1
  callee $name 40 2002 uas_hold.xml -m 1 -recv_timeout 30000 || { why $? "$ART/$name.reg2002"; return 1; }
  local upid=$BG
  caller $name 40 call_hold_silent.xml 2002 -m 1 || { why $? "$ART/$name.caller"; return 1; }
  wait_bg $upid || { echo "callee: $(why $? "$ART/$name.uas2002")"; return 1; }
  local a_cid row
  a_cid=$(call_id_of "$ART/$name.caller.messages.log")
  cdr_expect "$a_cid" 200 caller || return 1
  row=$(sql "SELECT hangup_cause || '|' || (ended_at_ms - answered_at_ms) FROM cdrs WHERE call_id = '$a_cid';")
  [ "${row%%|*}" != media_timeout ] || { echo "CDR hangup_cause media_timeout for a call on hold"; return 1; }
  [ "${row#*|}" -ge 6000 ] 2>/dev/null || { echo "answered for ${row#*|} ms, want >= 6000"; return 1; }
}
media_timeout_body() {
  media_timeout_switch || return 1
  callee $name 40 2002 uas_rtp_sink.xml -m 1 -recv_timeout 30000 -key rtp_sink 25410 -key te_pt 101 \
    -mp 25420 \
    || { why $? "$ART/$name.reg2002"; return 1; }
  local upid=$BG
  caller $name 40 call_media_timeout.xml 2002 -m 1 -mp 25400 || { why $? "$ART/$name.caller"; return 1; }
  wait_bg $upid || { echo "callee: $(why $? "$ART/$name.uas2002")"; return 1; }
  grep -q '^BYE ' "$ART/$name.caller.messages.log" || { echo "the caller got no BYE"; return 1; }
  grep -q '^BYE ' "$ART/$name.uas2002.messages.log" || { echo "the callee got no BYE"; return 1; }
  local a_cid row
  a_cid=$(call_id_of "$ART/$name.caller.messages.log")
  cdr_expect "$a_cid" 200 system || return 1
  row=$(sql "SELECT hangup_cause || '|' || (ended_at_ms - answered_at_ms) FROM cdrs WHERE call_id = '$a_cid';")
  [ "${row%%|*}" = media_timeout ] || { echo "CDR hangup_cause ${row%%|*}, want media_timeout"; return 1; }
  local ms=${row#*|}
  [ "$ms" -ge 3000 ] 2>/dev/null && [ "$ms" -lt 12000 ] \
    || { echo "hung up $ms ms after the answer, want 3000..12000 (timeout_s = 3)"; return 1; }
  b_leg_expect "$a_cid" "$(call_id_of "$ART/$name.uas2002.messages.log")"
}

# ---- start the switch ------------------------------------------------------------------------
start_switchboard() {
  [ -x "$BIN" ] || { REASON="no binary at $BIN (build it or set SWITCHBOARD_BIN)"; return 1; }
  sed -e "s|^url = \"sqlite://.*\"|url = \"sqlite://$DB\"|" \
      -e "s|^dir = \"sipp-scenarios/dialplans\"|dir = \"$S/dialplans\"|" \
      "$S/switchboard-test.toml" >"$TMP/switchboard-test.toml"
  cp "$TMP/switchboard-test.toml" "$ART/switchboard-test.toml"
  switch_bg "$TMP/switchboard-test.toml" "$ART/switchboard.log"
  SWITCH_PID=$BG
}
start_standin() {
  command -v kamailio >/dev/null || { REASON="kamailio not installed"; return 1; }
  kamailio -f "$S/selftest/kamailio-standin.cfg" -DD -E -m 64 -M 8 >"$ART/kamailio-standin.log" 2>&1 &
  SWITCH_PID=$!
}

REASON=$(ports_in_use '25060|25080|2510[1-4]|25111|25199')
[ -z "$REASON" ] && if [ $MODE = standin ]; then start_standin; else start_switchboard; fi || REASON=${REASON:-cannot start}
SWITCH_LOG=$ART/switchboard.log
[ $MODE = standin ] && SWITCH_LOG=$ART/kamailio-standin.log
[ -z "$REASON" ] && ! wait_up "$SWITCH_PID" 20 "$SW" 25199 "$SWITCH_LOG" && SWITCH_PID=
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
