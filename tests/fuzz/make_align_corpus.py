#!/usr/bin/env python3
"""Writes seed sessions for the align fuzz target (format: align_fuzz.cpp).

Seeds: a steady audio+video session, one with jitter and reordering, one
with loss and duplicates, one with an SSRC change, one with a timestamp
jump, one near the sequence and timestamp wraps, one with a flush and EOS.
"""
import hashlib
import os
import random
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus', 'align')


def rec(op, step_tenth_ms, seq, ts):
    return struct.pack('>BHHI', op, max(0, min(65535, step_tenth_ms)), seq & 0xFFFF, ts & 0xFFFFFFFF)


def session(seed, seconds=3, jitter=0, loss=0.0, dup=0.0, ssrc_change=None, ts_jump=None, wrap=False,
            flush_at=None, config=0x0A):
    rnd = random.Random(seed)
    events = []  # (arrival_ms, record-builder)
    aseq, vseq = (65500, 65520) if wrap else (rnd.randrange(65536), rnd.randrange(65536))
    ats, vts = (0xFFFFFFFF - 48000, 0xFFFFFFFF - 90000) if wrap else (rnd.randrange(2**32), rnd.randrange(2**32))
    for k in range(seconds * 50):
        t = k * 20
        ssrc = 1 if ssrc_change is not None and t >= ssrc_change else 0
        jump = 48000 * 5 if ts_jump is not None and t >= ts_jump else 0
        if rnd.random() >= loss:
            n = 2 if rnd.random() < dup else 1
            for _ in range(n):
                events.append((t + 20 + rnd.uniform(0, jitter), 0 | ssrc << 3, aseq + k, ats + 960 * k + jump))
    for n in range(seconds * 30):
        t = n * 1000 / 30
        ssrc = 1 if ssrc_change is not None and t >= ssrc_change else 0
        for i in range(3 if n % 30 == 0 else 1):
            if rnd.random() >= loss:
                events.append((t + rnd.uniform(0, jitter), 1 | ssrc << 3, vseq, vts + 3000 * n))
            vseq += 1
    events.sort(key=lambda e: e[0])
    data = bytearray([config])
    last = 0.0
    for i, (t, op, seq, ts) in enumerate(events):
        data += rec(op, int((t - last) * 10), seq, ts)
        last = t
        if flush_at is not None and i == flush_at:
            data += rec(0xC0, 0, 0, 0)
        if i % 25 == 0:
            data += rec(4 | (op & 1), 0, 0, 0)  # release
    data += rec(6, 5000, 0, 0) + rec(7, 0, 0, 0)  # EOS both
    return bytes(data)


seeds = [
    session(1),
    session(2, jitter=60),
    session(3, jitter=30, loss=0.05, dup=0.02),
    session(4, jitter=20, ssrc_change=1500),
    session(5, jitter=20, ts_jump=1500),
    session(6, jitter=20, wrap=True),
    session(7, jitter=40, flush_at=100, config=0x0B),
]
os.makedirs(out, exist_ok=True)
for s in seeds:
    with open(os.path.join(out, hashlib.sha1(s).hexdigest()), 'wb') as f:
        f.write(s)
print(f'{len(seeds)} seeds in {out}')
