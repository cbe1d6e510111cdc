#!/usr/bin/env bash
# Two real softphones through the switch. Starts Switchboard on loopback with
# sipp-scenarios/baresip/switchboard.toml.in and two baresip 1.0 instances (Debian package
# baresip-core, configs from sipp-scenarios/baresip/{config,accounts}.in) registered as 3001 and
# 3002. Over baresip's ctrl_tcp control socket, 3001 dials 3002 (auto answer), the call runs ~3 s
# and 3001 hangs up; then 3002 calls 3001 back and the callee (3001) hangs up. After each call the
# CDR the switch wrote (sqlite3 on its store) must say caller, callee, sip_status 200,
# billable_ms > 2000 and the hangup side; RTP must have reached both phones. No sound card: each
# phone sends a WAV file of silence (aufile) and plays out into aubridge. Prints exactly one line,
# `PASS baresip_call` or `FAIL baresip_call (reason)`, and exits non-zero on failure.
#
#   sipp-scenarios/baresip.sh
#   DIGEST_ALGORITHMS='"SHA-256", "MD5"' sipp-scenarios/baresip.sh   # try a newer baresip
#
# Digest: the switch offers MD5 only here. baresip 1.0 (libre 1.1) cannot do SHA-256, and it
# gives up ("Register: Function not implemented") on ANY challenge that lists an algorithm other
# than MD5, even when an MD5 challenge comes first, so ["SHA-256", "MD5"] fails to register.
#
# Env: SWITCHBOARD_BIN (default ${CARGO_TARGET_DIR:-target}/release/switchboard),
#      ARTIFACTS (default test-artifacts/baresip), RUST_LOG (default info), KEEP_TMP=1,
#      CALL_SECS (default 3), DIGEST_ALGORITHMS (TOML array body, default '"MD5"'),
#      TRANSPORT: udp (default), tcp, or mixed (3001 over UDP, 3002 over TCP),
#      TIMEOUT_SECS (default 60): the bound on the whole run.
# Logs (switch log, both phones' stdout with SIP trace (-s), ctrl_tcp transcripts, the configs
# used and a copy of the store) stay under $ARTIFACTS. Builds nothing.
# Ports (127.0.0.1): switch 26060 udp+tcp | 3001 sip 26110, ctrl_tcp 26201, rtp 26300-26349
#                                         | 3002 sip 26120, ctrl_tcp 26202, rtp 26350-26399
# (baresip also binds TLS on its sip port + 1, hence the gap.) Takes ~10 s. Bounded: every wait
# has a deadline and the script re-runs itself under `timeout` (60 s), so a hung phone or switch
# cannot hang CI; the trap stops every process it started.
set -uo pipefail
export LC_ALL=C

if [ -z "${BARESIP_SH_BOUNDED:-}" ]; then
  BARESIP_SH_BOUNDED=1 exec timeout -k 20 "${TIMEOUT_SECS:-60}" bash "$0" "$@"
fi

SB_NAME=baresip
. "$(dirname "$0")/lib.sh"
S=$ROOT/sipp-scenarios/baresip
ART=${ARTIFACTS:-$ROOT/test-artifacts/baresip}
ALGS=${DIGEST_ALGORITHMS:-'"MD5"'}
CALL_SECS=${CALL_SECS:-3}
TRANSPORT=${TRANSPORT:-udp}
SW_PORT=26060
NAME=baresip_call

# cleanup (lib.sh): the phones first (they unregister on SIGTERM; 2 s grace each), then the
# switch (SIGTERM drains: ~2 s when idle; 5 s grace)
BG_GRACE=2 SWITCH_GRACE=5
setup_tmp baresip
trap 'echo "FAIL $NAME (interrupted or timed out; logs: $ART/)"; exit 124' INT TERM

fail() {
  echo "FAIL $NAME ($1; logs: $ART/)"
  exit 1
}

for tool in baresip sqlite3 timeout; do
  command -v $tool >/dev/null || fail "$tool not installed (apt-get install baresip-core sqlite3)"
done
case $TRANSPORT in udp | tcp | mixed) ;; *) fail "TRANSPORT=$TRANSPORT: want udp, tcp or mixed" ;; esac
[ -x "$BIN" ] || fail "no binary at $BIN (build it or set SWITCHBOARD_BIN)"
MODDIR=/usr/lib/baresip/modules
for m in g711 aufile aubridge account menu ctrl_tcp; do
  [ -f "$MODDIR/$m.so" ] || fail "baresip module $m.so missing in $MODDIR"
done

# ---- helpers -----------------------------------------------------------------------------------
# le32 N: N as 4 little-endian bytes.
le32() {
  printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))"
  printf "\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"
}
# silence_wav FILE SECS: 8 kHz mono s16 PCM WAV of silence (aufile's input; G.711's rate).
silence_wav() {
  local n=$((16000 * $2))
  { printf 'RIFF'; le32 $((36 + n)); printf 'WAVEfmt '; le32 16; printf '\x01\x00\x01\x00'
    le32 8000; le32 16000; printf '\x02\x00\x10\x00data'; le32 "$n"; head -c "$n" /dev/zero
  } >"$1"
}

# ctrl PORT COMMAND [PARAMS]: one ctrl_tcp command (JSON in a netstring); appends the exchange to
# $ART/ctrl.PORT.log and prints the response's JSON. Fails on no connection or no response in 3 s.
ctrl() {
  local port=$1 cmd=$2 params=${3:-} fd json len msg
  json="{\"command\":\"$cmd\",\"params\":\"$params\",\"token\":\"t$SECONDS\"}"
  { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf '%d:%s,' ${#json} "$json" >&$fd
  echo ">> $json" >>"$ART/ctrl.$port.log"
  while read -r -t 3 -d ':' len <&$fd && [[ $len =~ ^[0-9]+$ ]] &&
    read -r -t 3 -N $((len + 1)) msg <&$fd; do
    msg=${msg%,}
    echo "<< $msg" >>"$ART/ctrl.$port.log"
    if [[ $msg == *'"response":true'* ]]; then
      exec {fd}>&-
      echo "$msg"
      return 0
    fi
  done
  exec {fd}>&-
  return 1
}

# reg_ok USER: baresip printed its own "registered" line ({0/UDP/v4} ... 200 OK), or gave up
# registering ("reg: ...": then returns 2 at once, so the wait ends early).
reg_ok() {
  grep -Eq "$1@127\.0\.0\.1.*200 OK" "$ART/phone$1.log" && return 0
  grep -aq 'reg: sip:' "$ART/phone$1.log" && return 2
  return 1
}

# (wait_for, sql: lib.sh)

# ---- configs -----------------------------------------------------------------------------------
mkdir -p "$TMP/dialplans"
cp "$S/dialplans/"*.toml "$TMP/dialplans/"
sed -e "s|@DB@|$DB|" -e "s|@DIALPLANS@|$TMP/dialplans|" -e "s|@DIGEST_ALGORITHMS@|$ALGS|" \
  "$S/switchboard.toml.in" >"$TMP/switchboard.toml"
cp "$TMP/switchboard.toml" "$ART/switchboard.toml"
silence_wav "$TMP/silence.wav" 30

# transport_of USER: the SIP transport USER's account uses (TRANSPORT=udp|tcp|mixed).
transport_of() {
  case $TRANSPORT in
    mixed) if [ "$1" = 3001 ]; then echo udp; else echo tcp; fi ;;
    *) echo "$TRANSPORT" ;;
  esac
}
# phone_config USER SIP_PORT CTRL_PORT RTP_PORTS: writes $TMP/phoneUSER/{config,accounts}.
phone_config() {
  local d=$TMP/phone$1
  mkdir -p "$d"
  sed -e "s|@USER@|$1|g" -e "s|@PASS@|bs-secret-$1|" -e "s|@TRANSPORT@|$(transport_of "$1")|" "$S/accounts.in" >"$d/accounts"
  sed -e "s|@SIP_PORT@|$2|" -e "s|@CTRL_PORT@|$3|" -e "s|@RTP_PORTS@|$4|" -e "s|@DIR@|$TMP|g" \
    "$S/config.in" >"$d/config"
  cp "$d/config" "$ART/phone$1.config"
  cp "$d/accounts" "$ART/phone$1.accounts"
}
phone_config 3001 26110 26201 26300-26349
phone_config 3002 26120 26202 26350-26399

# ---- start the switch and the phones -----------------------------------------------------------
switch_bg "$TMP/switchboard.toml" "$ART/switchboard.log"
SWITCH_PID=$BG

switch_up() {
  kill -0 "$SWITCH_PID" 2>/dev/null || return 2
  # bound: any UDP listener on the switch's port
  grep -q ":$SW_PORT " <(ss -Hlun 2>/dev/null) || [ ! -x "$(command -v ss)" ]
}
wait_for 10 switch_up ||
  fail "switch not listening on udp 127.0.0.1:$SW_PORT: $(grep -v '^[[:space:]]*$' "$ART/switchboard.log" | tail -1 | cut -c1-200)"

for u in 3001 3002; do
  : >"$ART/phone$u.log"   # exists before the first poll (the subshell opens it asynchronously)
  (cd "$TMP" && exec baresip -s -f "$TMP/phone$u" </dev/null) >"$ART/phone$u.log" 2>&1 &
  BG_PIDS+=($!)
done

for u in 3001 3002; do
  wait_for 10 reg_ok $u ||
    fail "phone $u did not register$(grep -a -m1 -o 'reg: .*' "$ART/phone$u.log" | sed 's/^/: /')"
done
wait_for 5 ctrl 26201 reginfo >/dev/null || fail "no ctrl_tcp on 127.0.0.1:26201"
wait_for 5 ctrl 26202 reginfo >/dev/null || fail "no ctrl_tcp on 127.0.0.1:26202"

# ---- the calls ---------------------------------------------------------------------------------
ctrl_port() { echo $((26200 + ${1#300})); }
# count USER REGEX: lines of the phone's log matching REGEX.
count() { grep -ac -E "$2" "$ART/phone$1.log"; }
# more USER REGEX N: more than N such lines.
more() { [ "$(count "$1" "$2")" -gt "$3" ]; }

EST='Call established'
END='terminated \(duration'
# call FROM TO HANGUP_BY: FROM dials TO (answers automatically), the call runs $CALL_SECS s, then
# HANGUP_BY hangs up; then the newest CDR must say caller FROM, callee TO, sip_status 200,
# billable_ms > 2000 and the hangup side. Exits through `fail` with the reason otherwise.
call() {
  local from=$1 to=$2 by=$3 e_from e_to far=$2 t_far side=caller row= caller callee status billable hside
  [ "$by" = "$to" ] && far=$from side=callee
  e_from=$(count "$from" "$EST") e_to=$(count "$to" "$EST") t_far=$(count "$far" "$END")
  ctrl "$(ctrl_port "$from")" dial "$to" >/dev/null || fail "$from: ctrl_tcp dial did not answer"
  wait_for 10 more "$from" "$EST" "$e_from" || fail "$from's call to $to not established in 10 s"
  more "$to" "$EST" "$e_to" || fail "$to did not answer $from (answermode=auto)"
  sleep "$CALL_SECS" & wait $!   # (a foreground sleep would hold off the TERM trap)
  ctrl "$(ctrl_port "$by")" hangup >/dev/null || fail "$by: ctrl_tcp hangup did not answer"
  wait_for 5 more "$far" "$END" "$t_far" || fail "$far's call did not end within 5 s of $by's BYE"

  cdr() {
    row=$(sql "SELECT caller || '|' || callee || '|' || sip_status || '|' || billable_ms || '|' ||
               hangup_side FROM cdrs WHERE caller LIKE '%$from%' ORDER BY started_at_ms DESC LIMIT 1;")
    [[ $row == *'|'*'|'*'|'*'|'* ]]
  }
  wait_for 5 cdr || fail "no CDR for $from -> $to in the store${row:+: $row}"
  IFS='|' read -r caller callee status billable hside <<<"$row"
  [[ $caller == *$from* ]] || fail "CDR caller '$caller', want $from ($row)"
  [[ $callee == *$to* ]] || fail "CDR callee '$callee', want $to ($row)"
  [ "$status" = 200 ] || fail "CDR $from -> $to sip_status $status, want 200 ($row)"
  [ "${billable:-0}" -gt 2000 ] 2>/dev/null ||
    fail "CDR $from -> $to billable_ms $billable, want > 2000 ($row)"
  [ "$hside" = "$side" ] || fail "CDR $from -> $to hangup_side $hside, want $side ($row)"
  echo "$row" >>"$ART/cdr.txt"
}

: >"$ART/cdr.txt"
call 3001 3002 3001   # the caller hangs up
for u in 3001 3002; do
  grep -q "incoming rtp for 'audio' established" "$ART/phone$u.log" || fail "no RTP reached $u"
  # Media is anchored: the RTP each phone receives comes from the switch's relay ports.
  grep -Eq "incoming rtp for 'audio' established, receiving from 127\.0\.0\.1:265[0-9][0-9]" "$ART/phone$u.log" \
    || fail "RTP reached $u, but not from the relay (26500-26599)"
done
call 3002 3001 3001   # and back; the callee hangs up
echo "PASS $NAME"
