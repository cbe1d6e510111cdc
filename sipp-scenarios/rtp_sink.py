#!/usr/bin/env python3
"""RTP sink for the SIPp media tests (sipp-scenarios/run.sh, test call_rtp_pcap).

Binds a UDP port on 127.0.0.1 that a SIPp UAS advertises in its SDP, records every packet that
arrives (source address, RTP header, payload) and, at the end, compares what arrived with the
pcap files the SIPp UAC played (`<exec play_pcap_audio=...>`): the RTP payloads must arrive byte
for byte, per payload type, in order. Prints one line per check and exits 0 only if all pass.

    rtp_sink.py --port 25410 --secs 30 --idle 2 --report FILE \
        --expect /usr/share/sip-tester/g711a.pcap --expect /usr/share/sip-tester/dtmf_2833_1.pcap

Ends after --idle seconds without a packet (once one has arrived) or after --secs in all.
The report (FILE) holds one line per packet: `src_ip src_port pt seq ts ssrc marker len`, and
the last line `sources: ip:port,...`; run.sh checks the source against the relay's port.
"""
import argparse
import select
import socket
import struct
import sys
import time


def pcap_rtp(path):
    """(payload type, marker, RTP payload bytes) of each UDP packet in a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    link_len = {1: 14, 113: 16, 101: 0, 228: 0}.get(linktype)
    if link_len is None:
        raise ValueError(f"{path}: unsupported link type {linktype}")
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = frame[link_len:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4:]
        rtp = udp[8:]
        if len(rtp) < 12 or rtp[0] >> 6 != 2:
            continue
        out.append((rtp[1] & 0x7F, rtp[1] >> 7, bytes(rtp[rtp_header_len(rtp):])))
    return out


def rtp_header_len(pkt):
    n = 12 + 4 * (pkt[0] & 0x0F)
    if pkt[0] & 0x10 and len(pkt) >= n + 4:
        n += 4 + 4 * struct.unpack("!H", pkt[n + 2:n + 4])[0]
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secs", type=float, default=30)
    ap.add_argument("--idle", type=float, default=2)
    ap.add_argument("--report", required=True)
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--map", action="append", default=[], metavar="PT=PT",
                    help="a payload type of the pcaps arrives as another (the relay remaps it)")
    a = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("127.0.0.1", a.port))
    got = []  # (src, pt, seq, ts, ssrc, marker, payload)
    end = time.monotonic() + a.secs
    last = None
    while True:
        now = time.monotonic()
        limit = end - now
        if last is not None:
            limit = min(limit, last + a.idle - now)
        if limit <= 0:
            break
        ready, _, _ = select.select([sock], [], [], limit)
        if not ready:
            continue
        pkt, src = sock.recvfrom(4096)
        last = time.monotonic()
        if len(pkt) < 12 or pkt[0] >> 6 != 2:
            got.append((src, -1, 0, 0, 0, 0, pkt))
            continue
        seq, ts, ssrc = struct.unpack("!HII", pkt[2:12])
        got.append((src, pkt[1] & 0x7F, seq, ts, ssrc, pkt[1] >> 7, pkt[rtp_header_len(pkt):]))

    sources = sorted({f"{s[0]}:{s[1]}" for s, *_ in got})
    with open(a.report, "w") as f:
        for src, pt, seq, ts, ssrc, m, payload in got:
            f.write(f"{src[0]} {src[1]} {pt} {seq} {ts} {ssrc} {m} {len(payload)}\n")
        f.write(f"sources: {','.join(sources)}\n")

    ok = True

    def check(cond, msg):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + msg)
        ok = ok and cond

    check(len(got) > 0, f"{len(got)} packets received on 127.0.0.1:{a.port}")
    check(len(sources) == 1, f"one source address: {' '.join(sources) or 'none'}")
    check(all(pt >= 0 for _, pt, *_ in got), "every packet is RTP version 2")
    remap = {int(k): int(v) for k, v in (m.split("=", 1) for m in a.map)}
    expected = []
    for path in a.expect:
        expected += [(remap.get(pt, pt), m, pl) for pt, m, pl in pcap_rtp(path)]
    for pt in sorted({p for p, _, _ in expected}):
        want = [pl for p, _, pl in expected if p == pt]
        have = [g[6] for g in got if g[1] == pt]
        if pt == remap.get(101, 101):
            # RFC 4733 §2.5.1.4: the end packet is sent three times with one sequence number;
            # a relay may pass the copies on or not. Every distinct event packet must arrive.
            want_set, have_set = dedup(want), dedup(have)
            check(have_set == want_set,
                  f"PT {pt}: {len(have)} packets ({len(have_set)} distinct), "
                  f"pcap has {len(want)} ({len(want_set)} distinct), payloads identical and in order")
            ends = [pl for pl in have if len(pl) >= 4 and pl[1] & 0x80]
            check(len(ends) >= 1 and ends[0][0] == event_of(want),
                  f"PT {pt}: end of event {event_of(want)} arrived ({len(ends)} end packets)")
        else:
            check(have == want,
                  f"PT {pt}: {len(have)} of {len(want)} packets, payloads identical and in order")
            seqs = [g[2] for g in got if g[1] == pt]
            gaps = sum(1 for x, y in zip(seqs, seqs[1:]) if (y - x) & 0xFFFF != 1)
            check(gaps == 0, f"PT {pt}: sequence numbers consecutive ({gaps} gaps)")
    unexpected = sorted({g[1] for g in got} - {p for p, _, _ in expected})
    check(not unexpected, f"no unexpected payload types {unexpected}")
    sys.exit(0 if ok else 1)


def dedup(payloads):
    out = []
    for pl in payloads:
        if not out or out[-1] != pl:
            out.append(pl)
    return out


def event_of(payloads):
    return payloads[0][0] if payloads and payloads[0] else None


if __name__ == "__main__":
    main()
