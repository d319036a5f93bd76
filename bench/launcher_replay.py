#!/usr/bin/env python3
"""A light RTP publisher for the launcher benchmark.

A live publisher (`nagare publish-test`, serve_lib.gst_publisher) encodes
720p30 H.264 as it sends, which costs most of a core: on a 2-core machine
the publishers of a few channels would take the CPU that the channels are
being measured on. So the standard publisher's stream is made once, not
live, into two files of RTP packets (RFC 4571 framing: a 2-byte length,
then the packet, as rtpstreampay writes), and this replays them in real
time, looped, paced by their RTP timestamps. Replaying costs a few percent
of a core per channel.

Looping keeps the stream continuous for the receiver: sequence numbers go
on counting, RTP timestamps go on from where the loop ended, the SSRC stays.
The files start with an IDR (SPS and PPS in front of every IDR), so a
decoder takes the jump back to the first picture as any other key frame.

  record:  python3 launcher_replay.py record FOLDER [--seconds 20]
  replay:  python3 launcher_replay.py replay FOLDER VIDEO_PORT AUDIO_PORT [--host H] [--seconds N]
"""

from __future__ import annotations

import argparse
import heapq
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

FPS = 30
OPUS_FRAME_MS = 20
VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
VIDEO_FILE = "video.rtp"
AUDIO_FILE = "audio.rtp"


def publisher_description(folder: str, seconds: int) -> str:
    """What `nagare publish-test` sends (launcher/publish_test.cpp), not live
    and into files: 720p30 constrained baseline at 2.5 Mb/s, a key frame
    every 2 s, pt 96; Opus 64 kb/s in 20 ms frames, pt 111."""
    video = os.path.join(folder, VIDEO_FILE)
    audio = os.path.join(folder, AUDIO_FILE)
    return (f"videotestsrc num-buffers={seconds * FPS} pattern=smpte "
            f"! video/x-raw,width=1280,height=720,framerate={FPS}/1 "
            f"! timeoverlay font-desc=\"Sans 36\" ! videoconvert ! video/x-raw,format=I420 "
            f"! x264enc tune=zerolatency speed-preset=ultrafast bitrate=2500 key-int-max={FPS * 2} "
            f"! video/x-h264,profile=constrained-baseline "
            f"! rtph264pay pt=96 mtu=1200 aggregate-mode=zero-latency config-interval=-1 "
            f"! rtpstreampay ! filesink location=\"{video}\" "
            f"audiotestsrc num-buffers={seconds * 1000 // OPUS_FRAME_MS} wave=ticks freq=880 "
            f"samplesperbuffer={AUDIO_CLOCK * OPUS_FRAME_MS // 1000} "
            f"! audio/x-raw,rate={AUDIO_CLOCK},channels=2 ! opusenc bitrate=64000 frame-size={OPUS_FRAME_MS} "
            f"! rtpopuspay pt=111 ! rtpstreampay ! filesink location=\"{audio}\"")


def record(folder: str, seconds: int) -> None:
    """Encodes the publisher's stream into FOLDER once; kept when it is
    already there (the length is in the folder's name the caller picks)."""
    paths = [os.path.join(folder, f) for f in (VIDEO_FILE, AUDIO_FILE)]
    if all(os.path.isfile(f) and os.path.getsize(f) > 0 for f in paths):
        return
    os.makedirs(folder, exist_ok=True)
    cmd = [shutil.which("gst-launch-1.0") or "gst-launch-1.0", "-q",
           *shlex.split(publisher_description(folder, seconds))]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if done.returncode != 0:
        for f in paths:
            try:
                os.remove(f)
            except OSError:
                pass
        raise RuntimeError(f"recording the publisher failed ({done.returncode}): {done.stdout[-2000:]}")


def load(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        data = f.read()
    packets = []
    at = 0
    while at + 2 <= len(data):
        (size,) = struct.unpack_from(">H", data, at)
        packets.append(data[at + 2:at + 2 + size])
        at += 2 + size
    if not packets:
        raise RuntimeError(f"{path}: no RTP packets")
    return packets


def stream_bitrate(path: str, clock: int) -> tuple[float, float]:
    """(seconds, bits per second of RTP payload and headers) of one file."""
    packets = load(path)
    first = struct.unpack_from(">I", packets[0], 4)[0]
    last = struct.unpack_from(">I", packets[-1], 4)[0]
    seconds = ((last - first) & 0xFFFFFFFF) / clock
    return seconds, sum(len(p) for p in packets) * 8 / max(seconds, 1e-9)


class Stream:
    """One file's packets with their offsets into the loop, in seconds."""

    def __init__(self, path: str, clock: int, loop_seconds: float, port: int):
        self.clock = clock
        self.port = port
        self.loop_ticks = round(loop_seconds * clock)
        packets = load(path)
        first = struct.unpack_from(">I", packets[0], 4)[0]
        self.packets = []
        for p in packets:
            ticks = (struct.unpack_from(">I", p, 4)[0] - first) & 0xFFFFFFFF
            # An encoder may flush a frame past the loop's length; sent, it
            # would overlap the next loop's first one.
            if ticks < self.loop_ticks:
                self.packets.append((ticks, bytearray(p)))
        self.first = first
        self.seq = struct.unpack_from(">H", packets[0], 2)[0]

    def packet(self, loop: int, index: int) -> tuple[float, bytes]:
        ticks, p = self.packets[index]
        out = bytearray(p)
        struct.pack_into(">H", out, 2, self.seq & 0xFFFF)
        self.seq += 1
        struct.pack_into(">I", out, 4, (self.first + ticks + loop * self.loop_ticks) & 0xFFFFFFFF)
        return (loop * self.loop_ticks + ticks) / self.clock, bytes(out)


def replay(folder: str, host: str, video_port: int, audio_port: int, seconds: float) -> None:
    video_packets = load(os.path.join(folder, VIDEO_FILE))
    # The loop length is the video's: frames x 1/FPS (the last frame lasts
    # one frame interval past its timestamp).
    first = struct.unpack_from(">I", video_packets[0], 4)[0]
    last = struct.unpack_from(">I", video_packets[-1], 4)[0]
    loop_seconds = (((last - first) & 0xFFFFFFFF) + VIDEO_CLOCK // FPS) / VIDEO_CLOCK
    streams = [Stream(os.path.join(folder, VIDEO_FILE), VIDEO_CLOCK, loop_seconds, video_port),
               Stream(os.path.join(folder, AUDIO_FILE), AUDIO_CLOCK, loop_seconds, audio_port)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    # A merge of the two streams by send time; each entry is
    # (time, stream, loop, index).
    queue = [(0.0, i, 0, 0) for i in range(len(streams))]
    heapq.heapify(queue)
    start = time.monotonic()
    while queue and not stop:
        due, i, loop, index = queue[0]
        if seconds and due >= seconds:
            break
        wait = start + due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
            continue
        heapq.heappop(queue)
        s = streams[i]
        _, data = s.packet(loop, index)
        try:
            sock.sendto(data, (host, s.port))
        except OSError:
            pass  # nobody listening yet: UDP says so with ECONNREFUSED on loopback
        index += 1
        if index == len(s.packets):
            loop, index = loop + 1, 0
        heapq.heappush(queue, ((loop * s.loop_ticks + s.packets[index][0]) / s.clock, i, loop, index))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("folder")
    r.add_argument("--seconds", type=int, default=20)
    s = sub.add_parser("replay")
    s.add_argument("folder")
    s.add_argument("video_port", type=int)
    s.add_argument("audio_port", type=int)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--seconds", type=float, default=0, help="stop after this long (default: until SIGTERM)")
    a = p.parse_args(argv)
    if a.cmd == "record":
        record(a.folder, a.seconds)
        for name, clock in ((VIDEO_FILE, VIDEO_CLOCK), (AUDIO_FILE, AUDIO_CLOCK)):
            secs, bps = stream_bitrate(os.path.join(a.folder, name), clock)
            print(f"{name}: {secs:.2f} s, {bps / 1000:.0f} kb/s")
        return 0
    replay(a.folder, a.host, a.video_port, a.audio_port, a.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
