#!/usr/bin/env python3
"""A failing channel never takes another down, and a channel's life from
publish to end to publish again, with one real `nagare serve`, two channels
and real RTP publishers on loopback.

Channel A is the one things happen to in cases 1 and 3; channel B has a
publisher from start to end. In case 2 it is B that fails and A that must go
on: by then B's pipeline has run for more than a minute, which is when the
back-off first resets to 1 s (Backoff::kHealthy) and must still grow on the
failures after that.

1. garbage: random datagrams and broken RTP on A's ports, then a real
   publisher on A. B's segments keep coming on time; A then writes valid
   segments; serve lives.
3. lifecycle: A's publisher stops for less than idle_timeout and comes back
   (a new gst-launch: new SSRC, sequence numbers and timestamps): the same
   playlist goes on, with EXT-X-DISCONTINUITY at the gap; live → idle → live.
   Then it stops for longer: ENDLIST, "ended"; a new publish starts the next
   broadcast at the same URL; one more end removes the files of the broadcast
   before the previous one.
2. failure: a folder where B's next segment goes makes B's pipeline fail; B's
   playlist gets ENDLIST; then B's rendition folder is a regular file, so
   every restart fails (ENOTDIR) and the back-off grows 1, 2, 4, 8 s. A stays
   on time. Once the folder is back, B starts a new broadcast.
4. SIGTERM while both are live: every playlist ends, exit code 0.

Throughout, both media playlists are read every 100 ms: each must parse,
its media sequence never goes back, and it never lists a segment that is not
on disk.

The cases run in the order 1, 3, 2, 4 so that B's pipeline is old enough in
case 2. The whole run takes about 80 s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import serve_lib  # noqa: E402
from serve_lib import Tap, m3u8, request, wait_for  # noqa: E402

SEGMENT = 1.0      # segment_duration, s
LATENCY = 0.5      # latency_ms / 1000
IDLE_TIMEOUT = 6   # A's idle_timeout, s
# A segment must appear within this long of the one before: the target, the
# jitter buffer, and slack for a machine that other tests load too. A channel
# that stalls or restarts shows gaps of several seconds more.
SLACK = 3.5
MAX_GAP = SEGMENT + LATENCY + SLACK
# Kept small so that two channels fit on two cores.
RENDITION = {"video": {"width": 320, "height": 240, "fps": 15, "bps": 300000},
             "audio": {"bps": 64000, "codec": "mp3"}}
PUBLISHER = {"width": 640, "height": 360, "fps": 15, "kbps": 600}
VIDEO_PT = 96
AUDIO_PT = 111


def channel_body(idle_timeout: float) -> dict:
    return {"hls": [RENDITION], "segment_duration": SEGMENT, "latency_ms": int(LATENCY * 1000),
            "playlist_length": 6, "idle_timeout": idle_timeout}


class PlaylistWatch(threading.Thread):
    """Reads a media playlist file every 100 ms and notes when each segment
    first appears in it, and anything that does not parse."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.lock = threading.Lock()
        self.seen: dict[str, tuple[float, m3u8.Entry]] = {}
        self.order: list[str] = []
        self.errors: list[str] = []
        self.sequence_drops: list[str] = []
        self.missing: list[str] = []
        self.endlists: list[float] = []   # when a playlist with EXT-X-ENDLIST was read
        self.last: m3u8.Playlist | None = None
        self.phase = "setup"   # which case is running, for the messages
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.1):
            self.poll()

    def poll(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            return   # not written yet, or the folder is away (case 2)
        now = time.monotonic()
        try:
            pl = m3u8.parse(text)
        except (m3u8.PlaylistError, ValueError) as e:
            with self.lock:
                self.errors.append(f"{self.phase}: {e}")
            return
        # A playlist must never send a player to a segment that is gone.
        folder = os.path.dirname(self.path)
        missing = [e.uri for e in pl.entries if not os.path.exists(os.path.join(folder, e.uri))]
        with self.lock:
            if missing and os.path.isfile(self.path):
                self.missing.append(f"{self.phase}: {missing} listed but absent"
                                    f"{' (the playlist has EXT-X-ENDLIST)' if pl.endlist else ''}")
            if pl.endlist:
                self.endlists.append(now)
            for e in pl.entries:
                if e.uri not in self.seen:
                    self.seen[e.uri] = (now, e)
                    self.order.append(e.uri)
            # Within one broadcast the media sequence never goes back; a new
            # broadcast (new names) starts again from 0.
            first = pl.entries[0].uri.split("-")[0] if pl.entries else ""
            if self.last and self.last.entries and pl.entries and \
                    self.last.entries[0].uri.split("-")[0] == first and \
                    pl.media_sequence < self.last.media_sequence:
                self.sequence_drops.append(f"{self.phase}: media sequence {self.last.media_sequence} → "
                                           f"{pl.media_sequence}")
            self.last = pl

    def stop(self) -> None:
        self.halt.set()
        self.join()

    def appeared(self, since: float = 0.0, until: float = float("inf")) -> list[tuple[float, str]]:
        with self.lock:
            return [(self.seen[u][0], u) for u in self.order if since <= self.seen[u][0] < until]

    def entry(self, uri: str) -> m3u8.Entry:
        with self.lock:
            return self.seen[uri][1]

    def playlist(self) -> m3u8.Playlist | None:
        with self.lock:
            return self.last

    def gaps(self, start: float, end: float) -> list[float]:
        """The time between segment appearances in [start, end], counting
        the window's edges, so a stall at either end counts too."""
        times = [start] + [t for t, _ in self.appeared(start, end)] + [end]
        return [b - a for a, b in zip(times, times[1:])]


def on_time(tap: Tap, name: str, watch: PlaylistWatch, start: float, end: float,
            figures: dict) -> float:
    gaps = watch.gaps(start, end)
    inner = sorted(gaps[1:-1]) or [0.0]
    worst = max(gaps)
    figures[name] = worst
    tap.result(name, worst <= MAX_GAP and len(gaps) > 2,
               [f"{len(gaps) - 1} segments in {end - start:.1f} s; longest wait {worst:.2f} s "
                f"(limit {MAX_GAP:.1f} s), median interval {inner[len(inner) // 2]:.2f} s"])
    return worst


class Garbage:
    """What a port scan, a misconfigured sender or an attacker puts on a
    channel's ports: random datagrams, and RTP headers that lie."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sent = 0

    def rtp(self, pt: int, payload: bytes, flags: int = 0x80) -> bytes:
        r = self.rng
        return struct.pack("!BBHII", flags, (r.randrange(2) << 7) | pt, r.randrange(65536),
                           r.randrange(1 << 32), r.randrange(1 << 32)) + payload

    def packet(self, right_pt: int) -> bytes:
        r = self.rng
        payload = r.randbytes(r.randrange(0, 1300))
        kind = r.randrange(8)
        if kind == 0:
            return r.randbytes(r.randrange(1, 1400))               # not RTP at all
        if kind == 1:
            return bytes([0x80, right_pt]) + r.randbytes(r.randrange(0, 10))  # header cut short
        if kind == 2:
            return self.rtp(right_pt, payload)                     # the right type, random payload
        if kind == 3:
            wrong = r.choice([pt for pt in range(128) if pt != right_pt])
            return self.rtp(wrong, payload)                        # a wrong payload type
        if kind == 4:
            return self.rtp(right_pt, payload[:8], 0x80 | 15)      # 15 CSRCs that are not there
        if kind == 5:
            ext = struct.pack("!HH", 0xBEDE, 0xFFFF)               # an extension longer than the packet
            return self.rtp(right_pt, ext + payload[:20], 0x90)
        if kind == 6:
            return self.rtp(right_pt, payload[:30] + b"\xff", 0xA0)  # padding longer than the payload
        return b""                                                 # an empty datagram

    def send(self, video_port: int, audio_port: int, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for port, pt in ((video_port, VIDEO_PT), (audio_port, AUDIO_PT)):
                for _ in range(4):
                    self.sock.sendto(self.packet(pt), ("127.0.0.1", port))
                    self.sent += 1
            time.sleep(0.01)


class Harness:
    def __init__(self, tap: Tap) -> None:
        self.tap = tap
        self.server = serve_lib.Server()
        self.publishers: dict[str, subprocess.Popen] = {}
        self.channels: dict[str, dict] = {}
        self.watches: dict[str, PlaylistWatch] = {}
        self.figures: dict[str, float] = {}
        self.b_created = 0.0     # when B's pipeline started
        self.a_restarts = 0      # A's restarts before case 2

    # --- channels ---------------------------------------------------------

    def create(self, name: str, idle_timeout: float) -> dict:
        ch = self.server.create(channel_body(idle_timeout))
        self.channels[name] = ch
        watch = PlaylistWatch(self.playlist_path(name))
        watch.start()
        self.watches[name] = watch
        return ch

    def dir(self, name: str) -> str:
        return self.server.channel_dir(self.channels[name])

    def playback_id(self, name: str) -> str:
        return os.path.basename(self.dir(name))

    def playlist_path(self, name: str) -> str:
        return os.path.join(self.server.channel_dir(self.channels[name]), "0", "index.m3u8")

    def case(self, phase: str) -> None:
        for w in self.watches.values():
            w.phase = phase

    def brief(self, name: str) -> str:
        i = self.info(name)
        return ", ".join(f"{k} {i.get(k)}" for k in ("state", "broadcast", "restarts", "packets_in"))

    def info(self, name: str) -> dict:
        r = request(f"{self.server.url}/api/channels/{self.channels[name]['channel_id']}")
        return r.json() if r.status == 200 else {"state": f"HTTP {r.status}"}

    def metric(self, family: str, name: str) -> float | None:
        r = request(self.server.url + "/metrics")
        m = re.search(rf'^{family}{{channel="{self.playback_id(name)}"}} (\S+)$', r.body.decode(), re.M)
        return float(m.group(1)) if m else None

    def publish(self, name: str) -> None:
        self.unpublish(name)
        rtp = self.channels[name]["rtp"]
        self.publishers[name] = serve_lib.gst_publisher(rtp["video_port"], rtp["audio_port"], **PUBLISHER)

    def unpublish(self, name: str) -> None:
        p = self.publishers.pop(name, None)
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def note_state(self, name: str, seen: list[str]) -> str:
        """The channel's state, added to `seen` when it changed."""
        s = self.info(name).get("state")
        if not seen or seen[-1] != s:
            seen.append(s)
        return s

    def wait_state(self, name: str, state: str, timeout: float, seen: list[str] | None = None) -> bool:
        seen = [] if seen is None else seen
        return wait_for(lambda: self.note_state(name, seen) == state, timeout, 0.1)

    def wait_segments(self, name: str, count: int, since: float, timeout: float,
                      prefix: str = "") -> list[str]:
        """Waits for `count` segments (named prefix…) that first appeared
        after `since`; returns those seen."""
        def new() -> list[str]:
            return [u for _, u in self.watches[name].appeared(since) if u.startswith(prefix)]
        wait_for(lambda: len(new()) >= count, timeout, 0.1)
        return new()

    def log_lines(self, name: str, pattern: str) -> list[tuple[float, str]]:
        """(wall-clock seconds, text) of the serve log lines of channel
        `name` that match."""
        tag = self.playback_id(name)[:8]
        out = []
        # An element's debug text may hold line feeds: a line without the
        # time stamp goes on the entry before it.
        for entry in re.split(r"\n(?=\d{4}-\d\d-\d\dT)", self.server.log()):
            m = re.match(r"(\S+)Z nagare\[(\w+)\]: (.*)$", entry, re.S)
            if m and m.group(2) == tag and re.search(pattern, m.group(3)):
                stamp = dt.datetime.fromisoformat(m.group(1)).replace(tzinfo=dt.timezone.utc)
                out.append((stamp.timestamp(), m.group(3).strip()))
        return out

    def alive(self) -> bool:
        return self.server.proc.poll() is None and request(self.server.url + "/healthz").status == 200

    def close(self) -> None:
        for name in list(self.publishers):
            self.unpublish(name)
        for w in self.watches.values():
            w.stop()
        self.server.stop()


def probe(path: str) -> tuple[list[dict], str]:
    p = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "stream=codec_type,codec_name,width,height:format=duration",
                        "-of", "json", path], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        return [], p.stderr.strip()
    doc = json.loads(p.stdout)
    return doc.get("streams", []), doc.get("format", {}).get("duration", "?")


def packet_times(path: str) -> tuple[list[float], list[float]]:
    """The PTS (s) of the video and of the audio packets in a segment."""
    p = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "packet=codec_type,pts_time",
                        "-of", "csv=p=0", path], capture_output=True, text=True, timeout=30)
    video, audio = [], []
    for line in p.stdout.split():
        kind, _, pts = line.partition(",")
        try:
            (video if kind == "video" else audio).append(float(pts.strip(",")))
        except ValueError:
            pass
    return video, audio


def valid_segment(path: str) -> list[str]:
    """What is wrong with a segment of the 320x240 + MP3 rendition."""
    try:
        copy = path + ".probe"
        shutil.copyfile(path, copy)   # the sink may delete it while ffprobe reads
    except OSError as e:
        return [f"{path}: {e}"]
    try:
        streams, duration = probe(copy)
        video, audio = packet_times(copy)
    finally:
        os.unlink(copy)
    if not streams:
        return [f"{os.path.basename(path)}: ffprobe: {duration}"]
    kinds = {s.get("codec_type"): s for s in streams}
    problems = []
    v, a = kinds.get("video"), kinds.get("audio")
    if not v or v.get("codec_name") != "h264" or (v.get("width"), v.get("height")) != (320, 240):
        problems.append(f"{os.path.basename(path)}: video stream {v}")
    if not a or a.get("codec_name") != "mp3":
        problems.append(f"{os.path.basename(path)}: audio stream {a}")
    # The streams are declared even in a segment that has no audio at all.
    # About 1 s holds 15 pictures and 41 or 42 MP3 frames.
    if len(video) < 5 or len(audio) < 10:
        problems.append(f"{os.path.basename(path)}: {len(video)} video and {len(audio)} audio packets")
    return problems


def unmarked_jumps(folder: str, entries: list[m3u8.Entry]) -> tuple[list[str], list[str]]:
    """Where the timestamps jump from one segment to the next without an
    EXT-X-DISCONTINUITY since (the sink's rule: audio more than 100 ms off
    where the last frame ended, video more than 1 s ahead or going back);
    and a line per segment saying what it holds."""
    jumps, table = [], []
    last_video = audio_end = None
    tag_video = tag_audio = False
    for e in entries:
        try:
            video, audio = packet_times(os.path.join(folder, e.uri))
        except (OSError, subprocess.SubprocessError):
            video, audio = [], []
        table.append(f"{e.uri}: seq {e.seq}{', DISCONTINUITY' if e.discontinuity else ''}; "
                     f"video {min(video, default=0):.3f}…{max(video, default=0):.3f} ({len(video)}), "
                     f"audio {min(audio, default=0):.3f}…{max(audio, default=0):.3f} ({len(audio)})")
        tag_video |= e.discontinuity
        tag_audio |= e.discontinuity
        if video:
            if last_video is not None and not tag_video and not 0 < min(video) - last_video <= 1.0:
                jumps.append(f"{e.uri}: video {last_video:.3f} → {min(video):.3f}")
            last_video, tag_video = max(video), False
        if audio:
            if audio_end is not None and not tag_audio and abs(min(audio) - audio_end) > 0.1:
                jumps.append(f"{e.uri}: audio ends {audio_end:.3f}, goes on at {min(audio):.3f}")
            audio_end, tag_audio = max(audio) + 0.024, False   # an MP3 frame at 48 kHz
    return jumps, table


def broadcast_of(uri: str) -> int:
    m = re.match(r"b(\d+)-\d+\.ts$", uri)
    return int(m.group(1)) if m else -1


def files_of(folder: str) -> dict[int, list[str]]:
    """Segment files by broadcast number."""
    out: dict[int, list[str]] = {}
    for name in sorted(os.listdir(folder)):
        if broadcast_of(name) > 0:
            out.setdefault(broadcast_of(name), []).append(name)
    return out


# --- case 1 ------------------------------------------------------------------


def garbage(h: Harness) -> None:
    tap = h.tap
    h.case("garbage")
    seed = random.randrange(1 << 30)
    b_before = h.info("B")
    start = time.monotonic()
    g = Garbage(seed)
    g.send(h.channels["A"]["rtp"]["video_port"], h.channels["A"]["rtp"]["audio_port"], 5.0)
    tap.diag(f"garbage: {g.sent} datagrams (seed {seed}) to A's ports in {time.monotonic() - start:.1f} s; "
             f"then A: {h.brief('A')}")

    published = time.monotonic()
    h.publish("A")
    # The garbage may have started A's timeline: the first segments can be
    # the publisher's first picture repeated back to then, without sound.
    # What counts is that A's segments soon hold the publisher's media.
    verdicts: dict[str, list[str]] = {}

    def two_valid() -> bool:
        for _, uri in h.watches["A"].appeared(published):
            if uri not in verdicts:
                verdicts[uri] = valid_segment(os.path.join(h.dir("A"), "0", uri))
        return sum(1 for v in verdicts.values() if not v) >= 2
    wait_for(two_valid, 20, 0.25)
    end = time.monotonic()
    on_time(tap, "garbage: B's segments keep coming on time", h.watches["B"], start, end, h.figures)
    b_after = h.info("B")
    tap.result("garbage: B's pipeline was never restarted",
               b_after.get("restarts") == 0 and b_after.get("broadcast") == b_before.get("broadcast"),
               [f"B before: restarts {b_before.get('restarts')}, broadcast {b_before.get('broadcast')}",
                f"B after: {h.brief('B')}"])

    valid = [u for u, v in verdicts.items() if not v]
    a = h.info("A")
    problems = [] if len(valid) >= 2 else [f"{len(valid)} valid segments in 20 s after the real publisher started"]
    if a.get("state") != "live":
        problems.append(f"A is {a.get('state')}")
    tap.result("garbage: A writes valid segments once a real publisher sends", not problems,
               problems + [f"A: {h.brief('A')}"] +
               [f"{u}: {'; '.join(v) or 'valid'}" for u, v in verdicts.items()])
    if valid:
        took = h.watches["A"].seen[valid[0]][0] - published
        h.figures["garbage: A's first valid segment after the real publisher started"] = took
    alive = h.alive()
    tap.result("garbage: serve is still alive", alive, [] if alive else [h.server.log()[-2000:]])


# --- case 3 ------------------------------------------------------------------


def subsequence(seen: list[str], wanted: list[str]) -> bool:
    it = iter(seen)
    return all(any(s == w for s in it) for w in wanted)


def lifecycle(h: Harness) -> None:
    tap = h.tap
    h.case("lifecycle")
    wa = h.watches["A"]
    start = time.monotonic()
    k = h.info("A").get("broadcast")
    h.wait_segments("A", 2, start, 10)

    # A short pause: the same broadcast goes on.
    states = [h.info("A").get("state")]
    stopped = time.monotonic()
    h.unpublish("A")
    h.wait_state("A", "idle", 5, states)
    time.sleep(max(0.0, stopped + 3.0 - time.monotonic()))
    republished = time.monotonic()
    h.publish("A")
    h.wait_state("A", "live", 8, states)

    def settled() -> bool:
        # Segments that cover the pause may come first; wait for a few of the
        # new publisher's after the discontinuity.
        since = [u for _, u in wa.appeared(stopped)]
        marked = [n for n, u in enumerate(since) if wa.entry(u).discontinuity]
        return len(wa.appeared(republished)) >= 3 and (bool(marked) and len(since) >= marked[0] + 3
                                                       or len(since) >= 9)
    wait_for(settled, 20, 0.1)
    before = [u for _, u in wa.appeared(0, stopped)]
    after = [u for _, u in wa.appeared(stopped)]
    tap.result("lifecycle: live → idle → live through a 3 s pause",
               subsequence(states, ["live", "idle", "live"]), [f"states seen: {states}"])
    problems = []
    table: list[str] = []
    if len(wa.appeared(republished)) < 3 or not before:
        problems.append(f"{len(wa.appeared(republished))} segments after the publisher came back")
    else:
        entries = [wa.entry(u) for u in before[-2:] + after]
        if any(broadcast_of(e.uri) != broadcast_of(before[-1]) for e in entries):
            problems.append(f"a new broadcast began: {[e.uri for e in entries]}")
        seqs = [e.seq for e in entries]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            problems.append(f"media sequence numbers {seqs} do not go on one by one")
        marked = [e.uri for e in entries[2:] if e.discontinuity]
        # One for the publisher's new timeline; two at most, should audio and
        # video resume in different segments.
        if not 1 <= len(marked) <= 2:
            problems.append(f"EXT-X-DISCONTINUITY on {marked or 'none'} of the segments since the pause")
        jumps, table = unmarked_jumps(os.path.dirname(h.playlist_path("A")), entries)
        problems += [f"timestamps jump without EXT-X-DISCONTINUITY: {j}" for j in jumps]
        if any(t for t in wa.endlists if stopped <= t):
            problems.append("a playlist with EXT-X-ENDLIST was written during the pause")
    a = h.info("A")
    if a.get("broadcast") != k:
        problems.append(f"broadcast {k} → {a.get('broadcast')}")
    tap.result("lifecycle: after a pause shorter than idle_timeout the same playlist goes on, "
               "with EXT-X-DISCONTINUITY at the gap", not problems,
               problems + [f"{wa.seen[u][0] - stopped:+6.2f} s after the stop: {line}"
                           for u, line in zip(before[-2:] + after, table)])

    # A long pause: the broadcast ends; the next publish starts a new one.
    states = [h.info("A").get("state")]
    stopped = time.monotonic()
    h.unpublish("A")
    ended = h.wait_state("A", "ended", IDLE_TIMEOUT + 10, states)
    ended_after = time.monotonic() - stopped
    problems = []
    if not ended:
        problems.append(f"not ended {ended_after:.1f} s after the publisher stopped")
    elif ended_after < IDLE_TIMEOUT - 0.5:
        problems.append(f"ended {ended_after:.1f} s after the publisher stopped, before idle_timeout")
    if not subsequence(states, ["idle", "ended"]):
        problems.append(f"states seen: {states}")
    try:
        closed = m3u8.read(h.playlist_path("A"))
        if not closed.endlist:
            problems.append("A's playlist has no EXT-X-ENDLIST")
        if not closed.entries or broadcast_of(closed.entries[-1].uri) != k:
            problems.append(f"A's closed playlist lists {[e.uri for e in closed.entries]}")
    except (OSError, m3u8.PlaylistError) as e:
        problems.append(f"A's playlist: {e}")
    h.figures["lifecycle: 'ended' after the publisher stopped"] = ended_after
    tap.result(f"lifecycle: a pause longer than idle_timeout ({IDLE_TIMEOUT} s) ends the broadcast: "
               "EXT-X-ENDLIST, state ended", not problems, problems + [f"states seen: {states}"])

    republished = time.monotonic()
    h.publish("A")
    fresh = h.wait_segments("A", 2, republished, 20, prefix=f"b{k + 1}-")
    problems = []
    if len(fresh) < 2:
        problems.append(f"{len(fresh)} segments b{k + 1}-*.ts in 20 s")
    else:
        problems += valid_segment(os.path.join(h.dir("A"), "0", fresh[-1]))
    # What a player sees at the URL it was given.
    url = h.channels["A"]["playlist_url"]
    r = request(url.replace("index.m3u8", "0/index.m3u8"))
    try:
        pl = m3u8.parse(r.body.decode()) if r.status == 200 else None
        if pl is None:
            problems.append(f"GET {url}: {r.status}")
        elif pl.endlist or not pl.entries or any(broadcast_of(e.uri) != k + 1 for e in pl.entries):
            problems.append(f"the media playlist at the URL: {[e.uri for e in pl.entries]}, "
                            f"ENDLIST {pl.endlist}")
    except (m3u8.PlaylistError, UnicodeDecodeError) as e:
        problems.append(f"the media playlist at the URL: {e}")
    if request(url).status != 200:
        problems.append(f"GET {url}: {request(url).status}")
    a = h.info("A")
    if a.get("state") != "live" or a.get("broadcast") != k + 1 or a.get("playlist_url") != url:
        problems.append(f"A: state {a.get('state')}, broadcast {a.get('broadcast')}, URL {a.get('playlist_url')}")
    tap.result(f"lifecycle: a new publish starts broadcast {k + 1} at the same playlist URL", not problems,
               problems + [f"new segments: {fresh}"])

    # Once more: ending broadcast k+1 removes broadcast k's files, keeps k+1's
    # (the closed playlist a player may still be reading lists them).
    h.unpublish("A")
    ended = h.wait_state("A", "ended", IDLE_TIMEOUT + 10)
    kept = files_of(os.path.join(h.dir("A"), "0"))
    tap.result(f"lifecycle: after broadcast {k + 1} ends, only its files remain (not those of {k})",
               ended and set(kept) == {k + 1},
               [f"A: {h.brief('A')}; segment files by broadcast: { {b: len(n) for b, n in kept.items()} }"])
    republished = time.monotonic()
    h.publish("A")
    h.wait_segments("A", 2, republished, 20, prefix=f"b{k + 2}-")
    on_time(tap, "lifecycle: B's segments keep coming on time meanwhile", h.watches["B"], start,
            time.monotonic(), h.figures)


# --- case 2 ------------------------------------------------------------------


def failure(h: Harness) -> None:
    tap = h.tap
    h.case("failure")
    wb = h.watches["B"]
    # Back-off resets to 1 s after a pipeline ran a minute (Backoff::kHealthy);
    # the failures after that must still grow the wait.
    time.sleep(max(0.0, h.b_created + 61.5 - time.monotonic()))
    start = time.monotonic()
    b0 = h.info("B")
    restarts0 = h.metric("nagare_restarts_total", "B")
    folder = os.path.join(h.dir("B"), "0")
    pl = wb.playlist()
    k = broadcast_of(pl.entries[-1].uri)
    last = int(pl.entries[-1].uri.split("-")[1].split(".")[0])
    # A folder where the next segment goes: renaming the written segment onto
    # it fails (EISDIR) whoever runs the test, and the playlist stays writable.
    blockers = []
    for n in range(last + 1, last + 6):
        path = os.path.join(folder, f"b{k}-{n:05d}.ts")
        try:
            os.mkdir(path)
            blockers.append(path)
        except FileExistsError:
            pass
    failed_in_time = wait_for(lambda: h.log_lines("B", "restarting in"), 15, 0.05)
    failed = time.monotonic()
    # The rendition folder as a regular file: every restart fails (ENOTDIR).
    away = folder + ".away"
    os.rename(folder, away)
    with open(folder, "w") as f:
        f.write("not a folder\n")
    problems = []
    try:
        closed = m3u8.read(os.path.join(away, "index.m3u8"))
        if not closed.endlist:
            problems.append("B's playlist has no EXT-X-ENDLIST after the failure")
    except (OSError, m3u8.PlaylistError) as e:
        problems.append(f"B's playlist: {e}")
    if not failed_in_time:
        problems.append("B's pipeline did not fail in 15 s with its next segments' names taken by folders")
    tap.result("failure: B's open playlist is closed with EXT-X-ENDLIST when its pipeline fails",
               not problems, problems + [line for _, line in h.log_lines("B", "restarting in")[:1]])

    # Four failures: waits of 1, 2 and 4 s between them, and 8 s after.
    states: list[str] = []
    wait_for(lambda: h.note_state("B", states) and len(h.log_lines("B", "restarting in")) >= 4,
             1 + 2 + 4 + 12, 0.1)
    lines = h.log_lines("B", r"restarting in \d+ s")
    b1 = h.info("B")
    restarts1 = h.metric("nagare_restarts_total", "B")
    waits = [int(re.search(r"restarting in (\d+) s", t).group(1)) for _, t in lines]
    spacing = [b[0] - a[0] for a, b in zip(lines, lines[1:])]
    # Restore now: the next restart (8 s on) must find the folder back.
    os.unlink(folder)
    os.rename(away, folder)
    for path in blockers:
        os.rmdir(path)
    restored = time.monotonic()

    tap.result("failure: B's state is restarting and its restarts count grows (API and /metrics)",
               "restarting" in states and (b1.get("restarts") or 0) >= 4 and
               (restarts1 or 0) >= (restarts0 or 0) + 4,
               [f"states seen: {states}", f"restarts: API {b0.get('restarts')} → {b1.get('restarts')}, "
                f"/metrics {restarts0} → {restarts1}"])
    problems = []
    if waits[:4] != [1, 2, 4, 8]:
        problems.append(f"waits logged {waits}, not 1, 2, 4, 8")
    for n, (wait, gap) in enumerate(zip(waits, spacing)):
        # The first restart may get a pipeline running before the folder is
        # gone; it then fails at its first segment, a few seconds later.
        if not wait - 0.1 <= gap <= wait + (4.0 if n == 0 else 1.5):
            problems.append(f"{gap:.2f} s between failures {n + 1} and {n + 2}, after 'restarting in {wait} s'")
    tap.result("failure: restarts are spaced by a growing back-off (1, 2, 4 s …)", not problems,
               problems + [f"waits logged: {waits}; measured: {[round(s, 2) for s in spacing]}"] +
               [t for _, t in lines[:6]])
    h.figures["failure: B's restart spacing"] = " s, ".join(f"{s:.2f}" for s in spacing) + " s"

    # B comes back as a new broadcast.
    pending = waits[-1] if waits else 8

    def back() -> list[str]:
        return [u for _, u in wb.appeared(restored) if broadcast_of(u) > k]
    wait_for(lambda: len(back()) >= 2, pending + 20, 0.1)
    fresh = back()
    problems = []
    if len(fresh) < 2:
        problems.append(f"{len(fresh)} new segments {pending + 20} s after the folder came back")
    else:
        problems += valid_segment(os.path.join(folder, fresh[-1]))
        took = wb.seen[fresh[0]][0] - restored
        h.figures["failure: B's first new segment after the folder came back"] = took
        h.figures["failure: B's first new segment after the first failure"] = wb.seen[fresh[0]][0] - failed
    b2 = h.info("B")
    if b2.get("state") != "live" or not (b2.get("broadcast") or 0) > k:
        problems.append(f"B: state {b2.get('state')}, broadcast {b2.get('broadcast')}")
    if fresh and any(broadcast_of(u) != b2.get("broadcast") for u in fresh):
        problems.append(f"new segments {fresh} are not of broadcast {b2.get('broadcast')}")
    tap.result("failure: with the folder back, B comes back with a new broadcast", not problems,
               problems + [f"B: {b2.get('state')}, broadcast {k} → {b2.get('broadcast')}; new segments {fresh}"])
    end = time.monotonic()
    on_time(tap, "failure: A's segments keep coming on time while B fails and restarts", h.watches["A"],
            start, end, h.figures)
    a = h.info("A")
    tap.result("failure: A's pipeline was never restarted",
               a.get("restarts") == h.a_restarts and a.get("state") == "live", [f"A: {h.brief('A')}"])


# --- case 4 ------------------------------------------------------------------


def sigterm(h: Harness) -> None:
    tap = h.tap
    h.case("sigterm")
    live = {n: h.info(n).get("state") for n in ("A", "B")}
    began = time.monotonic()
    code = h.server.stop(30)
    took = time.monotonic() - began
    h.figures["sigterm: serve took to exit"] = took
    problems = [f"{n} was {s} before SIGTERM" for n, s in live.items() if s != "live"]
    if code != 0:
        problems.append(f"exit code {code}")
    for name in ("A", "B"):
        try:
            pl = m3u8.read(h.playlist_path(name))
            if not pl.endlist:
                problems.append(f"{name}'s playlist has no EXT-X-ENDLIST")
            gone = [e.uri for e in pl.entries
                    if not os.path.exists(os.path.join(os.path.dirname(h.playlist_path(name)), e.uri))]
            if gone:
                problems.append(f"{name}'s playlist lists absent segments {gone}")
        except (OSError, m3u8.PlaylistError) as e:
            problems.append(f"{name}'s playlist: {e}")
    tap.result("sigterm: every playlist of every channel ends with EXT-X-ENDLIST, exit code 0",
               not problems, problems + [f"exit {code} after {took:.1f} s"] +
               ([h.server.log()[-1500:]] if problems else []))


# --- main ----------------------------------------------------------------------


def run_cases(h: Harness) -> None:
    tap = h.tap
    h.server.start()
    h.create("B", 15)
    h.b_created = time.monotonic()
    h.create("A", IDLE_TIMEOUT)
    h.publish("B")
    first = h.wait_segments("B", 2, 0, 20)
    if not tap.result("setup: B writes segments", len(first) >= 2,
                      [] if len(first) >= 2 else [h.server.log()[-2000:]]):
        return
    garbage(h)
    lifecycle(h)
    h.a_restarts = h.info("A").get("restarts")
    failure(h)
    sigterm(h)


def main() -> int:
    tap = Tap()
    for tool in ("gst-launch-1.0", "ffprobe"):
        if not shutil.which(tool):
            tap.result("resilience", True, skip=f"{tool} is missing")
            return tap.finish()
    h = Harness(tap)
    began = time.monotonic()
    try:
        run_cases(h)
    except Exception:   # a broken step fails the run, and the rest is still reported
        tap.result("the cases ran to their end", False, traceback.format_exc().splitlines())
    finally:
        h.close()
    for name, w in h.watches.items():
        tap.result(f"{name}'s playlist always parses, its media sequence never goes back, "
                   "and it lists only segments that are there",
                   not w.errors and not w.sequence_drops and not w.missing,
                   w.errors[:5] + w.sequence_drops[:5] + w.missing[:3] +
                   ([f"{len(w.missing)} reads, 100 ms apart, found absent segments listed"] if w.missing else []))
    for name, value in h.figures.items():
        shown = f"{value:.2f} s" if isinstance(value, float) else str(value)
        tap.diag(f"{name}: {shown}")
    tap.diag(f"took {time.monotonic() - began:.0f} s")
    if tap.failed:
        tap.diag(f"kept for a look: {h.server.data_dir} (serve.log has the launcher's log)")
    elif h.server.data_dir:
        shutil.rmtree(h.server.data_dir, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
