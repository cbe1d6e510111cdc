#!/usr/bin/env bash
# `make bench-media`: the media relay load ladder, Switchboard's relay side by side with
# rtpengine (Debian rtpengine-daemon, userspace, --table=-1), on loopback. Prints the machine,
# the date, the load average before and after, then the table of benches/media_load.rs.
#
#   benches/media-bench.sh                      # N = 250 500 1000 2000, 10 s per phase
#   CALLS="500 1000" SECS=5 benches/media-bench.sh
#   MEDIA_ARGS="--relay-threads 2 --rtpengine-threads 2" benches/media-bench.sh
#   MEDIA_ARGS=--floor benches/media-bench.sh    # also a bench-only epoll relay: the kernel floor
#   MEDIA_LOAD_BIN=/tmp/media_load benches/media-bench.sh   # a prebuilt bench binary (no cargo,
#                                         # so no waiting on a build directory shared with others)
#   MEDIA_ARGS=--per-phone-sockets benches/media-bench.sh  # the old generator: a socket per phone,
#                                         # one syscall per packet (default: a shared socket per
#                                         # generator thread, sendmmsg/recvmmsg in batches of 64)
#   NG_PORT=22399 PORTS=30000-44999 benches/media-bench.sh  # beside another run on the same box
#
# Each N runs three phases (direct baseline, switchboard, rtpengine); a relay that loses packets
# at one N is skipped at higher N (MEDIA_ARGS=--all runs them anyway). Bounded: every phase is
# SECS long plus call setup, and the whole run is under `timeout`. rtpengine is started and
# stopped by the tool (ng control on 127.0.0.1:$NG_PORT (22299), media ports $PORTS (10000-24999),
# shared with our relay's phase; its log: /tmp/media_load-rtpengine-N.log). Builds with cargo bench.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CALLS=${CALLS:-250 500 1000 2000}
SECS=${SECS:-10}
RTPENGINE=${RTPENGINE:-rtpengine}
CARGO=${CARGO:-cargo}
NG_PORT=${NG_PORT:-22299}
PORTS=${PORTS:-10000-24999}

command -v "$RTPENGINE" >/dev/null || {
  echo "media-bench.sh: $RTPENGINE not installed (apt-get install rtpengine-daemon)"; exit 2; }
for p in $NG_PORT; do
  if ss -Hlun 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"; then
    echo "media-bench.sh: UDP port $p (ng control) is in use"; exit 2
  fi
done

n=$(set -- $CALLS; echo $#)
bound=$(( n * 4 * (SECS + 15) + 300 ))   # 4 phases + setup/teardown + the build

echo "# media relay ladder: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "# rtpengine: $("$RTPENGINE" --version 2>&1 | head -1); switchboard: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${MEDIA_LOAD_BIN:-}" ]; then
  run=("$MEDIA_LOAD_BIN" --bench)
else
  run=("$CARGO" bench --bench media_load --)
fi
# shellcheck disable=SC2086
(cd "$ROOT" && timeout -k 10 "$bound" "${run[@]}" $CALLS --secs "$SECS" --rtpengine="$RTPENGINE" \
  --ng-port "$NG_PORT" --ports "$PORTS" ${MEDIA_ARGS:-})
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
