#!/usr/bin/env python3
"""Writes the seed corpus of the h264depay fuzz target (tests/fuzz/corpus/h264depay).

Each seed is a whole session in the target's record format (see
h264depay_fuzz.cpp): a settings byte, then [op][len16][bytes] records.
Synthetic seeds cover every payload kind and loss case; with --capture, real
sessions from rtph264pay (x264enc, 160x120, mtu 200 and 1200, each
aggregate-mode) are captured with gst-launch-1.0 and added.

    python3 tests/fuzz/make_corpus.py [--capture]
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "h264depay")
SPS = bytes([0x67, 0x42, 0xc0, 0x15, 0xd9, 0x01, 0x41, 0x9f, 0x9f, 0x01, 0x6a, 0x0c, 0x0c, 0x0d, 0x4a,
             0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x79, 0x1e, 0x2c, 0x5c, 0x90])
PPS = bytes([0x68, 0xcb, 0x8c, 0xb2])


def rtp(seq, ts, payload, marker=False, ssrc=0x1234, ext=None, pad=0):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0)
    head = struct.pack("!BBHII", b0, (0x80 if marker else 0) | 96, seq & 0xffff, ts & 0xffffffff, ssrc)
    if ext is not None:
        head += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    tail = (b"\0" * (pad - 1) + bytes([pad])) if pad else b""
    return head + payload + tail


def nal(t, n, nri=3):
    return bytes([(nri << 5) | t, 0x80]) + bytes((i * 7) & 0xff for i in range(n - 2))


def stap(*units):
    return bytes([0x78]) + b"".join(struct.pack("!H", len(u)) + u for u in units)


def fu(unit, size):
    out, body = [], unit[1:]
    for i in range(0, len(body), size):
        h = unit[0] & 0x1f
        if i == 0:
            h |= 0x80
        if i + size >= len(body):
            h |= 0x40
        out.append(bytes([(unit[0] & 0xe0) | 28, h]) + body[i:i + size])
    return out


def session(records, wait=1):
    b = bytes([wait])
    for op, data in records:
        b += struct.pack("!BH", op, len(data)) + data
    return b


def pkts(seq0, ts, payloads):
    return [(0, rtp(seq0 + i, ts, p, marker=(i == len(payloads) - 1))) for i, p in enumerate(payloads)]


def synthetic():
    idr = [stap(nal(9, 2), SPS, PPS)] + fu(nal(5, 900), 300)
    p1 = [nal(1, 120)]
    yield "single-stap-fu", session(pkts(100, 1000, idr) + pkts(105, 4000, p1))
    yield "seq-wrap", session(pkts(65533, 9000, idr) + pkts(1, 12000, p1))
    yield "gap-in-fu", session([r for i, r in enumerate(pkts(10, 0, idr)) if i != 2] + pkts(15, 3000, idr))
    yield "lost-event", session(pkts(10, 0, idr) + [(1, struct.pack("!H", 15))] + pkts(16, 3000, p1) +
                                pkts(17, 6000, idr))
    yield "no-marker", session([(0, rtp(1, 0, stap(SPS, PPS))), (0, rtp(2, 0, nal(5, 50))),
                                (0, rtp(3, 3000, nal(1, 40))), (0, rtp(4, 6000, nal(1, 40)))], wait=0)
    yield "malformed-stap", session([(0, rtp(1, 0, bytes([0x78, 0x00, 0x30, 0x67])))] + pkts(2, 3000, idr))
    yield "unsupported", session([(0, rtp(1, 0, bytes([0x79, 0, 2, 0x65, 0x80]))),
                                  (0, rtp(2, 0, bytes([0x7a, 0, 1, 0, 0, 2, 0x65, 0x80])))] + pkts(3, 3000, idr))
    yield "reserved-types", session([(0, rtp(1, 0, bytes([0x60 | t, 1, 2]))) for t in (0, 30, 31)] + pkts(4, 0, idr))
    yield "ext-pad-ssrc", session([(0, rtp(1, 0, stap(SPS, PPS), ext=b"\x10\xaa\x00\x00", pad=3)),
                                   (0, rtp(2, 0, nal(5, 60), marker=True, pad=1)),
                                   (0, rtp(3, 0, b"", pad=8)),
                                   (0, rtp(900, 3000, nal(5, 60), marker=True, ssrc=99))])
    yield "fu-errors", session([(0, rtp(1, 0, bytes([0x7c, 0x45, 1, 2]))), (0, rtp(2, 0, bytes([0x7c, 0x85, 1]))),
                                (0, rtp(3, 0, bytes([0x7c, 0x81, 1]))), (0, rtp(4, 0, bytes([0x7c, 0x85])))])
    yield "late-dup", session(pkts(50, 0, idr) + [(0, rtp(51, 0, idr[1]))] + pkts(50, 0, idr))


def capture(tmp):
    for mtu in (200, 1200):
        for mode in ("none", "zero-latency", "max-stap"):
            d = os.path.join(tmp, f"{mtu}-{mode}")
            os.makedirs(d)
            subprocess.run(
                ["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=12", "!", "video/x-raw,width=160,height=120",
                 "!", "x264enc", "tune=zerolatency", "key-int-max=6", "!", "rtph264pay", f"mtu={mtu}",
                 f"aggregate-mode={mode}", "!", "rtpjitterbuffer", "!", "multifilesink",
                 f"location={d}/%05d", "next-file=buffer"], check=True)
            records = [(0, open(os.path.join(d, f), "rb").read()) for f in sorted(os.listdir(d))]
            yield f"x264-rtph264pay-mtu{mtu}-{mode}", session(records)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = list(synthetic())
    if "--capture" in sys.argv:
        tmp = tempfile.mkdtemp()
        try:
            seeds += list(capture(tmp))
        finally:
            shutil.rmtree(tmp)
    for name, data in seeds:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds)} seeds to {OUT}")


if __name__ == "__main__":
    main()
