#!/usr/bin/env python3
"""Soak: one `nagare serve` channel for an hour on impaired input, with its
memory and open files watched. Run by hand, not in CI.

What runs:
- `nagare serve` with one channel (one 640x360@30 rendition, MP3, 1 s
  segments, 500 ms latency), created through the API as a user would;
- a live publisher (gst-launch-1.0: x264 constrained baseline and Opus in
  RTP) whose packets pass through netsim on the way: by default 2 % lost and
  0–40 ms of uniform delay, reordering allowed, on both streams;
- a viewer that reads the media playlist over HTTP every second and fetches
  its newest segment, as a player does.

Every --sample seconds the serve process's VmRSS, open descriptors
(/proc/PID/fd) and threads are read, with the channel's segment count. The
first --warmup seconds are not judged: buffer pools, x264's lookahead and
the HLS window fill up then. After it, memory is flat when the least-squares
slope of RSS over the rest of the run is below --max-slope MiB/h and the
last RSS is within --max-growth MiB of the first; descriptors and threads
are flat when their range after warm-up is at most 2 (a segment being
written, an HTTP connection being served). Segments must keep coming:
the newest must never be older than 10 s when sampled, and no HTTP read may
fail.

Prints a table per sample and a summary; exits 1 when anything is not flat.

  ninja -C build
  GST_PLUGIN_PATH=build/plugins NAGARE_BIN=build/launcher/nagare \\
    python3 bench/soak.py [--minutes 60] [--loss 0.02] [--jitter-ms 40] [--sample 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "launcher"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))

import m3u8  # noqa: E402
import serve_lib  # noqa: E402

MiB = 1024 * 1024


def proc_figures(pid: int) -> dict:
    status = open(f"/proc/{pid}/status").read()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


class Viewer(threading.Thread):
    """Reads the playlist every second and fetches its newest segment."""

    def __init__(self, playlist_url: str) -> None:
        super().__init__(daemon=True)
        self.url = playlist_url
        self.halt = threading.Event()
        self.reads = 0
        self.errors: list[str] = []

    def get(self, url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read()

    def run(self) -> None:
        base = self.url.rsplit("/", 1)[0]
        while not self.halt.wait(1.0):
            try:
                # The multivariant playlist, then rendition 0's media playlist.
                media = base + "/0/index.m3u8"
                pl = m3u8.parse(self.get(media).decode())
                if pl.entries:
                    self.get(base + "/0/" + pl.entries[-1].uri)
                self.reads += 1
            except (OSError, urllib.error.URLError, m3u8.PlaylistError, UnicodeDecodeError) as e:
                # Before the first segment the playlist does not exist yet.
                if self.reads:
                    self.errors.append(f"{time.strftime('%H:%M:%S')} {e}")


def slope_per_hour(ts: list[float], ys: list[float]) -> float:
    if len(ts) < 2:
        return 0.0
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    den = sum((t - mt) ** 2 for t in ts)
    return 0.0 if den == 0 else sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / den * 3600


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--loss", type=float, default=0.02, help="netsim drop-probability")
    p.add_argument("--jitter-ms", type=int, default=40, help="netsim max-delay (uniform from 0)")
    p.add_argument("--sample", type=float, default=30, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=120, help="seconds not judged at the start")
    p.add_argument("--max-slope", type=float, default=2.0, help="MiB/h of RSS growth allowed")
    p.add_argument("--max-growth", type=float, default=4.0, help="MiB from first to last judged sample")
    args = p.parse_args()

    server = serve_lib.Server().start()
    pid = server.proc.pid
    channel = server.create({
        "hls": [{"video": {"width": 640, "height": 360, "fps": 30, "bps": 800000},
                 "audio": {"bps": 64000, "codec": "mp3"}}],
        "segment_duration": 1.0, "latency_ms": 500, "playlist_length": 6, "idle_timeout": 30})
    netsim = (f"netsim drop-probability={args.loss} delay-probability=1 min-delay=0 "
              f"max-delay={args.jitter_ms} delay-distribution=uniform allow-reordering=true")
    publisher = serve_lib.gst_publisher(channel["rtp"]["video_port"], channel["rtp"]["audio_port"],
                                        width=640, height=360, fps=30, kbps=1200, impair=netsim)
    viewer = Viewer(channel["playlist_url"])
    viewer.start()
    playlist = os.path.join(server.channel_dir(channel), "0", "index.m3u8")
    print(f"soak: {args.minutes:g} min, loss {args.loss:g}, jitter 0-{args.jitter_ms} ms, "
          f"serve pid {pid}, data in {server.data_dir}", flush=True)
    print(f"{'min':>6} {'rss MiB':>8} {'fds':>4} {'thr':>4} {'segments':>8} {'newest s':>8} {'reads':>6}",
          flush=True)

    start = time.monotonic()
    samples: list[tuple[float, dict]] = []
    stale: list[str] = []
    try:
        while time.monotonic() - start < args.minutes * 60:
            time.sleep(args.sample)
            t = time.monotonic() - start
            if server.proc.poll() is not None:
                print(f"serve exited with {server.proc.returncode}")
                return 1
            if publisher.poll() is not None:
                print(f"the publisher exited with {publisher.returncode}")
                return 1
            f = proc_figures(pid)
            try:
                pl = m3u8.read(playlist)
                f["segments"] = pl.entries[-1].seq + 1 if pl.entries else 0
                newest = pl.entries[-1].uri if pl.entries else ""
                age = time.time() - os.stat(os.path.join(os.path.dirname(playlist), newest)).st_mtime
            except (OSError, m3u8.PlaylistError) as e:
                f["segments"], age = 0, float("inf")
                stale.append(f"{t:.0f} s: {e}")
            if t > args.warmup and age > 10:
                stale.append(f"{t:.0f} s: newest segment {age:.1f} s old")
            samples.append((t, f))
            print(f"{t / 60:6.1f} {f['rss_mib']:8.1f} {f['fds']:4d} {f['threads']:4d} "
                  f"{f['segments']:8d} {age:8.1f} {viewer.reads:6d}", flush=True)
    finally:
        viewer.halt.set()
        publisher.terminate()
        publisher.wait()
        server.stop()

    judged = [(t, f) for t, f in samples if t > args.warmup]
    if len(judged) < 2:
        print("too short to judge: lengthen --minutes or shorten --warmup")
        return 1
    ts = [t for t, _ in judged]
    rss = [f["rss_mib"] for _, f in judged]
    slope = slope_per_hour(ts, rss)
    growth = rss[-1] - rss[0]
    fds = [f["fds"] for _, f in judged]
    threads = [f["threads"] for _, f in judged]
    segments = judged[-1][1]["segments"] - judged[0][1]["segments"]
    span = ts[-1] - ts[0]
    problems = []
    if slope > args.max_slope:
        problems.append(f"RSS grows {slope:.2f} MiB/h (allowed {args.max_slope})")
    if growth > args.max_growth:
        problems.append(f"RSS grew {growth:.1f} MiB (allowed {args.max_growth})")
    if max(fds) - min(fds) > 2:
        problems.append(f"open files ranged {min(fds)}..{max(fds)}")
    if max(threads) - min(threads) > 2:
        problems.append(f"threads ranged {min(threads)}..{max(threads)}")
    problems += [f"stale: {s}" for s in stale]
    problems += [f"viewer: {e}" for e in viewer.errors[:10]]

    print(f"\nafter warm-up ({span / 60:.1f} min judged):")
    print(f"  RSS {rss[0]:.1f} -> {rss[-1]:.1f} MiB (min {min(rss):.1f}, max {max(rss):.1f}), "
          f"slope {slope:+.2f} MiB/h")
    print(f"  open files {min(fds)}..{max(fds)}, threads {min(threads)}..{max(threads)}")
    print(f"  segments {segments} in {span:.0f} s ({segments / span:.3f}/s), "
          f"viewer reads {viewer.reads}, viewer errors {len(viewer.errors)}")
    print("flat" if not problems else "NOT flat:\n  " + "\n  ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
