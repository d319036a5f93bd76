#!/usr/bin/env python3
"""500 concurrent HLS viewers against `nagare serve`, with nginx serving the
same folder as the anchor.

A real `nagare serve` writes one live channel (640x360@30 + MP3, 1 s
segments) fed by a real RTP publisher. wrk (tests/load/viewer.lua) then
opens --connections keep-alive connections for --seconds; each plays the
channel as a player does, alternating between the media playlist and the
newest segment it lists, and every response is checked: a playlist must be
a whole, well-formed RFC 8216 media playlist, a segment whole transport
packets. The same load then goes to nginx serving the channel's folder
while it is still being written.

Asserted for nagare serve: zero connection, read, write and timeout errors,
zero non-200 answers, zero malformed playlists or segments, viewers that
really fetched both playlists and segments, and a channel that kept writing
segments under the load. The same correctness is asserted for nginx; its
figures are the anchor. Printed for both: requests per second and latency
percentiles (wrk's, over every request), and nagare's rate as a fraction of
nginx's.

  GST_PLUGIN_PATH=build/plugins NAGARE_BIN=build/launcher/nagare \\
    python3 tests/load/hls_load.py [--connections 500] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "launcher"))

import serve_lib  # noqa: E402
from serve_lib import Tap, m3u8  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def segments_written(playlist: str) -> int:
    try:
        entries = m3u8.read(playlist).entries
        return entries[-1].seq + 1 if entries else 0
    except (OSError, m3u8.PlaylistError):
        return -1


def run_wrk(base_url: str, path: str, connections: int, seconds: float, threads: int) -> tuple[dict, str]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s", "--latency",
           "-s", os.path.join(HERE, "viewer.lua"), base_url, "--", path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):]), out.stdout + out.stderr
    raise RuntimeError(f"wrk printed no result (exit {out.returncode}): {out.stdout} {out.stderr}")


def summary(name: str, r: dict) -> str:
    rps = r["requests"] / (r["duration_us"] / 1e6)
    return (f"{name}: {r['requests']} requests in {r['duration_us'] / 1e6:.1f} s = {rps:,.0f} req/s, "
            f"{r['bytes'] / r['duration_us']:.1f} MB/s; latency p50 {r['p50_us'] / 1000:.1f} ms, "
            f"p90 {r['p90_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms, max {r['max_us'] / 1000:.1f} ms; "
            f"{r['playlists']} playlists and {r['segments']} segments checked")


def problems(r: dict, connections: int) -> list[str]:
    found = []
    for key in ("connect_errors", "read_errors", "write_errors", "timeouts", "status_errors", "bad_status",
                "malformed"):
        if r[key]:
            found.append(f"{key}: {r[key]}")
    if r["first_bad"]:
        found.append(f"first: {r['first_bad']}")
    # Every viewer read playlists and segments, not just a few lucky ones.
    if r["playlists"] < connections or r["segments"] < connections:
        found.append(f"only {r['playlists']} playlists and {r['segments']} segments for {connections} viewers")
    return found


class Nginx:
    """nginx on a free loopback port, serving `root` at `location`, one
    worker process: nagare serve answers HTTP on one thread too."""

    def __init__(self, location: str, root: str) -> None:
        self.dir = tempfile.mkdtemp(prefix="nagare-nginx-")
        self.port = free_tcp_port()
        user = "user root;" if os.geteuid() == 0 else ""
        conf = f"""
{user}
daemon off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
  server {{
    listen 127.0.0.1:{self.port};
    location {location} {{ alias {root}/; }}
  }}
}}
"""
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"nginx did not start: {self.proc.stderr.read() if self.proc.poll() is not None else ''}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=500)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    args = p.parse_args()

    tap = Tap()
    server = serve_lib.Server().start()
    publisher = None
    nginx = None
    try:
        channel = server.create({
            "hls": [{"video": {"width": 640, "height": 360, "fps": 30, "bps": 800000},
                     "audio": {"bps": 64000}}],
            "segment_duration": 1, "playlist_length": 6, "latency_ms": 200})
        publisher = serve_lib.gst_publisher(channel["rtp"]["video_port"], channel["rtp"]["audio_port"],
                                            width=640, height=360, kbps=1200)
        folder = server.channel_dir(channel)
        playlist = os.path.join(folder, "0", "index.m3u8")
        playback_id = os.path.basename(folder)
        path = f"/hls/{playback_id}/0/index.m3u8"
        if not serve_lib.wait_for(lambda: segments_written(playlist) >= 3, 30, 0.2):
            tap.result("the channel is live before the load starts", False, [server.log()[-3000:]])
            return tap.finish()

        before = segments_written(playlist)
        ours, raw = run_wrk(server.url, path, args.connections, args.seconds, args.threads)
        written = segments_written(playlist) - before
        found = problems(ours, args.connections)
        tap.result(f"nagare serve: {args.connections} viewers for {args.seconds:g} s, no errors, "
                   f"no malformed playlist or segment", not found, [summary("nagare serve", ours), *found]
                   + ([raw] if found else []))
        # 1 s segments: about --seconds of them, allowing for a slow start
        # of the count and a 2-core machine shared with wrk.
        tap.result("the channel kept writing segments under the load", written >= args.seconds * 0.6,
                   [f"{written} segments in {args.seconds:g} s"])

        nginx = Nginx(f"/hls/{playback_id}/", folder)
        theirs, raw = run_wrk(f"http://127.0.0.1:{nginx.port}", path, args.connections, args.seconds,
                              args.threads)
        found = problems(theirs, args.connections)
        tap.result(f"nginx (the anchor) on the same folder: {args.connections} viewers, no errors, "
                   f"no malformed playlist or segment", not found, [summary("nginx", theirs), *found]
                   + ([raw] if found else []))
        ratio = (ours["requests"] / ours["duration_us"]) / (theirs["requests"] / theirs["duration_us"])
        tap.diag(f"nagare serve / nginx: {ratio:.2f} of the request rate, "
                 f"p99 {ours['p99_us'] / 1000:.1f} ms against {theirs['p99_us'] / 1000:.1f} ms")
    finally:
        if nginx:
            nginx.stop()
        if publisher:
            publisher.terminate()
            publisher.wait()
        server.stop()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
