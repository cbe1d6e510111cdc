#!/usr/bin/env python3
"""Synthetic greetings for campaign_e2e.sh: RTP/PCMU pcaps that SIPp's play_pcap_audio replays.

  campaign_greetings.py OUT_DIR [--silence-s 90]

writes three files (about 200 bytes per 20 ms packet; ~0.9 MB each at 90 s of silence):
  campaign_hello.pcap    a person answering: one voiced burst of 0.6 s ("hello"), then silence
                         (RTP keeps flowing: PCMU 0xFF frames) for --silence-s seconds;
  campaign_machine.pcap  an answering machine: 5 word bursts over 4 s (0.35-0.6 s each, gaps of
                         0.2-0.35 s), 0.3 s pause, a 1 kHz beep of 0.5 s, then silence;
  campaign_agent.pcap    an agent talking: a 1.2 s burst every 3 s for the same length.
Voiced bursts are a 140 Hz glottal-like pulse train through two formant-ish resonances with a
raised-cosine envelope: energy and zero crossings like speech, enough for an energy/word-count
answering-machine detector. Deterministic (no randomness), so the files are reproducible.
Ethernet/IPv4/UDP 127.0.0.1:6000 -> 127.0.0.1:6002 (SIPp rewrites addresses and ports), RTP
PT 0, 20 ms frames, SSRC fixed, libpcap format (linktype 1).
"""

import argparse
import math
import os
import struct

RATE = 8000
FRAME = 160  # samples per 20 ms packet


def ulaw(sample):
    """G.711 mu-law encode one 16-bit linear sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def voiced(seconds, f0=140.0, amp=9000.0):
    """A speech-like burst: pulse train through two resonators, raised-cosine envelope."""
    n = int(seconds * RATE)
    out = []
    # two-pole resonators at ~700 Hz and ~1200 Hz
    res = []
    for fc, bw in ((700.0, 130.0), (1200.0, 200.0)):
        r = math.exp(-math.pi * bw / RATE)
        res.append((2 * r * math.cos(2 * math.pi * fc / RATE), -r * r, [0.0, 0.0]))
    period = RATE / f0
    for i in range(n):
        x = 1.0 if (i % int(period)) == 0 else 0.0
        y = 0.0
        for a1, a2, st in res:
            v = x + a1 * st[0] + a2 * st[1]
            st[1], st[0] = st[0], v
            y += v
        env = 0.5 - 0.5 * math.cos(2 * math.pi * i / max(n - 1, 1))
        out.append(y * env)
    peak = max((abs(v) for v in out), default=1.0) or 1.0
    return [int(v / peak * amp) for v in out]


def tone(seconds, freq=1000.0, amp=8000.0):
    return [int(amp * math.sin(2 * math.pi * freq * i / RATE)) for i in range(int(seconds * RATE))]


def silence(seconds):
    return [0] * int(seconds * RATE)


def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def write_pcap(path, samples):
    """One RTP packet per 20 ms of `samples` (padded with silence to a whole frame)."""
    samples = samples + [0] * (-len(samples) % FRAME)
    src, dst = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for k in range(len(samples) // FRAME):
            payload = bytes(ulaw(s) for s in samples[k * FRAME:(k + 1) * FRAME])
            rtp = struct.pack("!BBHII", 0x80, 0x80 if k == 0 else 0x00, k & 0xFFFF,
                              (k * FRAME) & 0xFFFFFFFF, 0x5EED0001) + payload
            udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), k & 0xFFFF, 0, 64, 17, 0,
                             src, dst)
            ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
            frame = b"\x00" * 6 + b"\x00" * 6 + b"\x08\x00" + ip + udp
            usec = k * 20_000
            f.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame)))
            f.write(frame)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--silence-s", type=float, default=90.0,
                    help="seconds of silence after the greeting (RTP keeps flowing)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    hello = voiced(0.6) + silence(args.silence_s)
    write_pcap(os.path.join(args.out_dir, "campaign_hello.pcap"), hello)

    machine = []
    words = [(0.45, 0.25), (0.6, 0.3), (0.35, 0.2), (0.55, 0.35), (0.5, 0.45)]  # (word, gap)
    for i, (word, gap) in enumerate(words):
        machine += voiced(word, f0=120.0 + 10 * i) + silence(gap)
    machine += silence(max(0.0, 4.0 - len(machine) / RATE)) + silence(0.3) + tone(0.5)
    machine += silence(args.silence_s)
    write_pcap(os.path.join(args.out_dir, "campaign_machine.pcap"), machine)

    agent = []
    while len(agent) < (args.silence_s + 0.6) * RATE:
        agent += voiced(1.2, f0=180.0) + silence(1.8)
    write_pcap(os.path.join(args.out_dir, "campaign_agent.pcap"), agent)


if __name__ == "__main__":
    main()
