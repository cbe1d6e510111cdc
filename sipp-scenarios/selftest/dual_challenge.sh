#!/usr/bin/env bash
# Does SIPp 3.6.1's [authentication] cope with a 401 carrying two WWW-Authenticate headers
# (RFC 8760: SHA-256 first, then MD5)? No switch needed: a SIPp UAS plays the registrar and
# checks the answer with <verifyauth> (MD5). Prints one line per challenge order.
#   sipp-scenarios/selftest/dual_challenge.sh
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd); S=$(dirname "$D")
OUT=${ARTIFACTS:-$(mktemp -d)}; mkdir -p "$OUT"; cd "$OUT"
for uas in uas_register_401_dual uas_register_401_md5first; do
  timeout 15 sipp -sf "$D/$uas.xml" -i 127.0.0.1 -p 25081 -m 1 -nostdin -trace_msg \
    -message_file "$OUT/$uas.uas.messages.log" >/dev/null 2>&1 & upid=$!
  sleep 0.3
  timeout 10 sipp -sf "$S/register_auth.xml" -inf "$S/csv/ep2001.csv" -auth_uri switchboard.test \
    127.0.0.1:25081 -i 127.0.0.1 -p 25082 -m 1 -nostdin -timeout 5s -timeout_error -trace_err \
    -error_file "$OUT/$uas.uac.errors.log" -trace_msg -message_file "$OUT/$uas.uac.messages.log" \
    >/dev/null 2>&1; rc=$?
  kill $upid 2>/dev/null; wait $upid 2>/dev/null
  authz=$(grep -m1 '^Authorization:' "$OUT/$uas.uac.messages.log" | tr -d '\r')
  err=$(grep -m1 -o -E 'createAuthHeader.*|Failed.*|timed out.*' "$OUT/$uas.uac.errors.log" 2>/dev/null)
  printf '%-28s sipp rc=%s  %s\n' "$uas" "$rc" "${authz:-no Authorization sent: $err}"
done
echo "logs: $OUT"
