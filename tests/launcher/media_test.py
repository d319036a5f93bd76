#!/usr/bin/env python3
"""launcher-media: what real publishers get out of `nagare serve` and
`nagare run`, measured with ffprobe on the segments themselves.

1. serve + gst-launch: a channel of two renditions (640x480@30 1 Mb/s + MP3
   64 kb/s, 320x240@15 300 kb/s + AAC 96 kb/s, 1 s segments) fed 720p30
   constrained baseline + Opus. The multivariant playlist must describe what
   the segments really carry (CODECS from the rendition's own SPS, not the
   publisher's); frame rates are counted, not read from caps; bitrates are
   summed from packets over at least 8 s; DeleteChannel ends every playlist.
2. serve + ffmpeg (libx264 + libopus, two `-f rtp` outputs): one rendition,
   segments of the asked size.
3. `nagare run` with the same channel: the same layout and the same
   multivariant playlist, SIGINT ends the playlists and exits 0;
   --print-pipeline; bad channel files refused with the field named.

NAGARE_BIN is the binary (meson passes it). NAGARE_MEDIA_PIPELINE=FILE runs
serve and run with --pipeline FILE (e.g. pipelines/gpu.pipeline on a machine
with NVDEC). Output folders of a failed run are kept and named in the TAP.
About 35 s on two busy cores; a pipeline that fails (the log says
"restarting in") ends the wait for segments at once.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import serve_lib  # noqa: E402
from serve_lib import NAGARE, Server, Tap, m3u8, request, wait_for  # noqa: E402
from e2elib import free_udp_ports, tool_missing  # noqa: E402

PIPELINE = os.environ.get("NAGARE_MEDIA_PIPELINE", "")
PIPELINE_ARGS = ["--pipeline", PIPELINE] if PIPELINE else []

RENDITIONS = [
    {"video": {"width": 640, "height": 480, "fps": 30, "bps": 1_000_000},
     "audio": {"bps": 64000, "codec": "mp3"}},
    {"video": {"width": 320, "height": 240, "fps": 15, "bps": 300_000},
     "audio": {"bps": 96000, "codec": "aac"}},
]
# A window long enough that no segment of the run is deleted before it is
# measured (the launcher keeps playlist_length + 4 files).
CHANNEL = {"hls": RENDITIONS, "segment_duration": 1, "playlist_length": 40}

AUDIO_CODECS = {"mp3": "mp4a.40.34", "aac": "mp4a.40.2"}
# profile_idc (H.264 Annex A) of the names ffprobe gives.
PROFILE_IDC = {"Baseline": 66, "Constrained Baseline": 66, "Main": 77, "Extended": 88,
               "High": 100, "High 10": 110, "High 4:2:2": 122, "High 4:4:4 Predictive": 244}

MEASURE_SECONDS = 8.0     # the least media the rate checks average over
VIDEO_BPS_TOLERANCE = 0.20
AUDIO_BPS_TOLERANCE = 0.15
FPS_TOLERANCE = 0.05


# --- publishers ---------------------------------------------------------

def gst_publisher(video_port: int, audio_port: int) -> subprocess.Popen:
    """serve_lib.gst_publisher's stream with a tone instead of ticks: an AAC
    encoder spends its bitrate only on audio with something in it, and the
    ticks are mostly silence, so a bitrate check on them would measure the
    test signal rather than the encoder's settings."""
    desc = ("videotestsrc is-live=true pattern=smpte "
            "! video/x-raw,width=1280,height=720,framerate=30/1 ! timeoverlay "
            "! x264enc tune=zerolatency speed-preset=ultrafast bitrate=2500 key-int-max=60 "
            "! video/x-h264,profile=constrained-baseline "
            "! rtph264pay pt=96 mtu=1200 aggregate-mode=zero-latency config-interval=-1 "
            f"! udpsink host=127.0.0.1 port={video_port} "
            "audiotestsrc is-live=true wave=sine freq=440 samplesperbuffer=960 "
            "! audio/x-raw,rate=48000,channels=2 ! opusenc bitrate=64000 "
            f"! rtpopuspay pt=111 ! udpsink host=127.0.0.1 port={audio_port}")
    return subprocess.Popen(["gst-launch-1.0", "-q", *desc.split()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ffmpeg_publisher(video_port: int, audio_port: int, log_path: str) -> subprocess.Popen:
    """What an ffmpeg user would send: two RTP outputs, H.264 in pt 96 and
    Opus in pt 111, packets that fit a WebRTC-sized MTU."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
           "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
           "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
           "-map", "0:v", "-c:v", "libx264", "-profile:v", "baseline", "-tune", "zerolatency",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60", "-b:v", "800k",
           "-f", "rtp", "-payload_type", "96", "-pkt_size", "1200",
           f"rtp://127.0.0.1:{video_port}",
           "-map", "1:a", "-c:a", "libopus", "-b:a", "64k", "-ac", "2",
           "-f", "rtp", "-payload_type", "111", "-pkt_size", "1200",
           f"rtp://127.0.0.1:{audio_port}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


# --- ports ----------------------------------------------------------------

def rtp_port_range() -> str:
    """A range of our own for `serve --rtp-ports`, away from the default
    20000-20999 that other tests' servers on this machine use."""
    low = random.randrange(40000, 59000, 100)
    return f"{low}-{low + 99}"


# --- playlists --------------------------------------------------------------

def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def media_playlist(path: str) -> m3u8.Playlist | None:
    """The playlist on disk, or None while it is missing or unreadable."""
    text = read_text(path)
    if text is None:
        return None
    try:
        return m3u8.parse(text)
    except m3u8.PlaylistError:
        return None


def pipeline_failed(log: str) -> bool:
    """The launcher logs "…; restarting in N s" after a pipeline error: no
    segment is coming, so there is no point waiting for one."""
    return "restarting in" in log


def wait_segments(folder: str, renditions: int, count: int, log, timeout: float,
                  also=lambda: True) -> bool:
    """Until every rendition has `count` segments, the pipeline fails
    (`log()` says so) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if enough_segments(folder, renditions, count) and also():
            return True
        if pipeline_failed(log()):
            return False
        time.sleep(0.5)
    return False


def enough_segments(folder: str, renditions: int, count: int) -> bool:
    for n in range(renditions):
        pl = media_playlist(os.path.join(folder, str(n), "index.m3u8"))
        if pl is None or len(pl.entries) < count:
            return False
    return True


_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^",]*)')


def parse_multivariant(text: str) -> list[tuple[dict, str]]:
    """(attributes, URI) of each EXT-X-STREAM-INF; ValueError if malformed."""
    if not text.startswith("#EXTM3U\n"):
        raise ValueError(f"does not start with #EXTM3U: {text[:30]!r}")
    if not text.endswith("\n"):
        raise ValueError("the last line has no newline")
    lines = [line for line in text.split("\n")[:-1] if line]
    variants = []
    for i, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            if not line.startswith("#"):
                if i == 0 or not lines[i - 1].startswith("#EXT-X-STREAM-INF:"):
                    raise ValueError(f"URI {line!r} without an EXT-X-STREAM-INF before it")
            continue
        body = line.split(":", 1)[1]
        attrs = {k: v for k, v in _ATTRIBUTE.findall(body)}
        # What the regex read must be the whole list, or a value is malformed.
        if ",".join(f"{k}={v}" for k, v in _ATTRIBUTE.findall(body)) != body:
            raise ValueError(f"malformed attribute list: {body!r}")
        if i + 1 >= len(lines) or lines[i + 1].startswith("#"):
            raise ValueError(f"EXT-X-STREAM-INF without a URI after it: {line!r}")
        variants.append((attrs, lines[i + 1]))
    return variants


def layout(folder: str) -> set[str]:
    """The folder's files, segment names reduced to their pattern."""
    out = set()
    for root, _dirs, files in os.walk(folder):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), folder)
            out.add(re.sub(r"b(\d+)-\d+\.ts$", r"b\1-N.ts", rel))
    return out


# --- ffprobe ---------------------------------------------------------------

def ffprobe(path: str, *extra: str) -> dict:
    p = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *extra, path],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"ffprobe {os.path.basename(path)}: {p.stderr.strip()[:300]}")
    return json.loads(p.stdout)


def hexdump_bytes(dump: str) -> bytes:
    """ffprobe's -show_data text ("00000000: 0000 0001 6764 …  ascii") as bytes."""
    out = bytearray()
    for line in dump.splitlines():
        if not re.match(r"^[0-9a-f]{8}: ", line):
            continue
        out += bytes.fromhex(line[10:49].replace(" ", ""))
    return bytes(out)


def first_sps(data: bytes) -> tuple[int, int, int] | None:
    """(profile_idc, constraint flags, level_idc) of the first SPS in Annex B."""
    i = data.find(b"\x00\x00\x01")
    while i >= 0 and i + 6 < len(data):
        if data[i + 3] & 0x1F == 7:
            return data[i + 4], data[i + 5], data[i + 6]
        i = data.find(b"\x00\x00\x01", i + 3)
    return None


class Measured:
    """What ffprobe finds in a run of consecutive segments of one rendition."""

    def __init__(self, folder: str, entries: list[m3u8.Entry]) -> None:
        self.seconds = sum(e.duration for e in entries)
        self.segments = len(entries)
        self.video_frames = 0
        self.video_bytes = 0
        self.video_pts: list[float] = []
        self.audio_bytes = 0
        self.audio_pts: list[float] = []
        self.audio_durations: list[float] = []
        self.sizes: set[tuple[int, int]] = set()
        self.video_codecs: set[str] = set()
        self.audio_codecs: set[str] = set()
        self.sample_rates: set[int] = set()
        self.profiles: set[tuple[str, int]] = set()
        self.streams_per_segment: set[tuple[str, ...]] = set()
        self.segment_bps: list[float] = []   # the whole file, MPEG-TS overhead and all
        self.not_key_first: list[str] = []   # segments whose first video frame is no key frame
        for e in entries:
            path = os.path.join(folder, e.uri)
            info = ffprobe(path, "-show_streams", "-show_packets")
            kinds = []
            for s in info.get("streams", []):
                kinds.append(s.get("codec_type", "?"))
                if s.get("codec_type") == "video":
                    self.sizes.add((s.get("width"), s.get("height")))
                    self.video_codecs.add(s.get("codec_name"))
                    self.profiles.add((s.get("profile"), s.get("level")))
                elif s.get("codec_type") == "audio":
                    self.audio_codecs.add(s.get("codec_name"))
                    self.sample_rates.add(int(s.get("sample_rate", 0)))
            self.streams_per_segment.add(tuple(sorted(kinds)))
            types = {s["index"]: s.get("codec_type") for s in info.get("streams", [])}
            first_video = True
            for p in info.get("packets", []):
                kind = types.get(p["stream_index"])
                if kind == "video":
                    if first_video and "K" not in p.get("flags", ""):
                        self.not_key_first.append(e.uri)
                    first_video = False
                    self.video_frames += 1
                    self.video_bytes += int(p["size"])
                    self.video_pts.append(float(p["pts_time"]))
                elif kind == "audio":
                    self.audio_bytes += int(p["size"])
                    self.audio_pts.append(float(p["pts_time"]))
                    self.audio_durations.append(float(p.get("duration_time", 0)))
            if e.duration > 0:
                self.segment_bps.append(os.path.getsize(path) * 8 / e.duration)

    @property
    def fps(self) -> float:
        return self.video_frames / self.seconds

    def video_span(self) -> float:
        """First to last frame, plus one frame: the time the video covers."""
        pts = sorted(self.video_pts)
        return pts[-1] - pts[0] + statistics.median(b - a for a, b in zip(pts, pts[1:]))

    def frame_interval(self) -> float:
        pts = sorted(self.video_pts)
        return statistics.median(b - a for a, b in zip(pts, pts[1:]))

    @property
    def video_bps(self) -> float:
        return self.video_bytes * 8 / self.seconds

    def audio_span(self) -> float:
        order = sorted(range(len(self.audio_pts)), key=lambda i: self.audio_pts[i])
        return self.audio_pts[order[-1]] - self.audio_pts[order[0]] + self.audio_durations[order[-1]]

    @property
    def audio_bps(self) -> float:
        return self.audio_bytes * 8 / self.audio_span()


def measured_entries(pl: m3u8.Playlist) -> list[m3u8.Entry]:
    """The segments a rate can be measured over: not the first two (the
    encoders settle, the first cut comes where the first key frame was) nor
    the last (cut short at the end of the broadcast)."""
    return pl.entries[2:-1]


def within(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance * target


# --- the checks on one rendition ------------------------------------------

def check_rendition(tap: Tap, label: str, folder: str, pl: m3u8.Playlist, spec: dict,
                    variant: dict | None) -> Measured | None:
    """ffprobe on the rendition's segments against what the channel asked
    for and what the multivariant playlist says."""
    entries = measured_entries(pl)
    seconds = sum(e.duration for e in entries)
    if not tap.result(f"{label}: at least {MEASURE_SECONDS:.0f} s of whole segments to measure",
                      seconds >= MEASURE_SECONDS,
                      [f"{len(entries)} segments, {seconds:.2f} s"]):
        return None
    try:
        m = Measured(folder, entries)
    except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        tap.result(f"{label}: ffprobe reads every segment", False, [str(e)])
        return None
    video, audio = spec["video"], spec["audio"]
    tap.result(f"{label}: every segment has one video and one audio stream",
               m.streams_per_segment == {("audio", "video")},
               [f"streams per segment: {sorted(m.streams_per_segment)}"])
    tap.result(f"{label}: H.264 at {video['width']}x{video['height']} (from the SPS)",
               m.video_codecs == {"h264"} and m.sizes == {(video["width"], video["height"])},
               [f"codecs {m.video_codecs}, sizes {m.sizes}"])

    # The multivariant playlist says EXT-X-INDEPENDENT-SEGMENTS.
    tap.result(f"{label}: every segment starts with a key frame",
               not m.not_key_first, [f"not: {m.not_key_first[:5]}"] if m.not_key_first else [])

    # Frames counted against the playlist's durations, and the timestamps'
    # own span against the same durations: a rendition whose caps say 15
    # but carries 30 frames a second, or EXTINFs that do not match the
    # media, fail one or the other.
    span = m.video_span()
    tap.result(f"{label}: {video['fps']} frames a second, counted",
               within(m.fps, video["fps"], FPS_TOLERANCE)
               and within(1 / m.frame_interval(), video["fps"], FPS_TOLERANCE)
               and within(span, m.seconds, FPS_TOLERANCE),
               [f"{m.video_frames} frames in {m.seconds:.3f} s of EXTINF = {m.fps:.2f}/s; "
                f"median interval {m.frame_interval() * 1000:.2f} ms; "
                f"PTS span {span:.3f} s"])
    tap.result(f"{label}: video at {video['bps']} b/s ±{VIDEO_BPS_TOLERANCE:.0%} over {m.seconds:.1f} s",
               within(m.video_bps, video["bps"], VIDEO_BPS_TOLERANCE),
               [f"{m.video_bytes} bytes of H.264 in {m.seconds:.3f} s = {m.video_bps:.0f} b/s"])

    want_codec = {"mp3": "mp3", "aac": "aac"}[audio["codec"]]
    aspan = m.audio_span()
    tap.result(f"{label}: {audio['codec']} at 48 kHz, {audio['bps']} b/s ±{AUDIO_BPS_TOLERANCE:.0%}",
               m.audio_codecs == {want_codec} and m.sample_rates == {48000}
               and within(m.audio_bps, audio["bps"], AUDIO_BPS_TOLERANCE)
               and within(aspan, m.seconds, FPS_TOLERANCE),
               [f"codecs {m.audio_codecs}, sample rates {m.sample_rates}, "
                f"{m.audio_bytes} bytes in {aspan:.3f} s = {m.audio_bps:.0f} b/s "
                f"(segments: {m.seconds:.3f} s)"])

    if variant is not None:
        check_variant(tap, label, folder, pl, spec, variant, m)
    return m


def check_variant(tap: Tap, label: str, folder: str, pl: m3u8.Playlist, spec: dict,
                  attrs: dict, m: Measured) -> None:
    video, audio = spec["video"], spec["audio"]
    # The rendition's own SPS, from the first packet of its first segment
    # (a key frame with SPS and PPS in front).
    first = os.path.join(folder, pl.entries[0].uri)
    sps = None
    try:
        info = ffprobe(first, "-select_streams", "v", "-show_packets", "-show_data",
                       "-read_intervals", "%+#1")
        sps = first_sps(hexdump_bytes(info["packets"][0].get("data", "")))
    except (RuntimeError, IndexError, KeyError, ValueError) as e:
        tap.diag(f"{label}: no packet data: {e}")
    ((profile_name, level),) = m.profiles if len(m.profiles) == 1 else ((None, None),)
    expected = None
    if sps and PROFILE_IDC.get(profile_name) == sps[0] and level == sps[2]:
        expected = f"avc1.{sps[0]:02x}{sps[1]:02x}{sps[2]:02x},{AUDIO_CODECS[audio['codec']]}"
    codecs = attrs.get("CODECS", "").strip('"')
    tap.result(f"{label}: CODECS is the rendition's SPS (profile, constraints, level) and its audio",
               expected is not None and codecs == expected,
               [f"CODECS {codecs!r}; ffprobe: profile {profile_name!r} level {level}; "
                f"SPS bytes {sps}; expected {expected!r}"])
    tap.result(f"{label}: RESOLUTION and FRAME-RATE as asked",
               attrs.get("RESOLUTION") == f"{video['width']}x{video['height']}"
               and abs(float(attrs.get("FRAME-RATE", "0")) - video["fps"]) < 0.001,
               [f"RESOLUTION={attrs.get('RESOLUTION')} FRAME-RATE={attrs.get('FRAME-RATE')}"])

    # RFC 8216 §4.3.4.2: BANDWIDTH is the peak segment bit rate, AVERAGE-
    # BANDWIDTH the average; both count the whole segment files. The peak
    # gets the 10% Apple's validator allows. The average gets 20% either
    # way: the launcher estimates it from the asked rates and a fixed MPEG-TS
    # overhead, which at 300 kb/s + 96 kb/s AAC is about 16%, not 6% (seen:
    # 11% over); what this catches is a figure that leaves out the audio or
    # the overhead altogether, or is off by a unit.
    try:
        bandwidth = int(attrs["BANDWIDTH"])
        average = int(attrs["AVERAGE-BANDWIDTH"])
    except (KeyError, ValueError):
        tap.result(f"{label}: BANDWIDTH and AVERAGE-BANDWIDTH are integers", False, [str(attrs)])
        return
    peak = max(m.segment_bps)
    mean = sum(e_bps * e.duration for e_bps, e in zip(m.segment_bps, measured_entries(pl))) / m.seconds
    asked = video["bps"] + audio["bps"]
    tap.result(f"{label}: BANDWIDTH ≥ AVERAGE-BANDWIDTH ≥ the asked rates, and the segments keep to them",
               bandwidth >= average >= asked and peak <= 1.1 * bandwidth
               and within(mean, average, 0.20),
               [f"BANDWIDTH={bandwidth} AVERAGE-BANDWIDTH={average} asked {asked}; "
                f"segments: peak {peak:.0f} b/s, mean {mean:.0f} b/s"])


# --- case 1 and 2: nagare serve --------------------------------------------

def channel_log(server: Server, channel: dict) -> str:
    """The serve log's lines about one channel ("nagare[<playback id:8>]")."""
    tag = f"[{channel['playlist_url'].split('/hls/')[1][:8]}]"
    records: list[str] = []
    for line in server.log().splitlines():
        # A GStreamer debug string can span lines; they belong to the
        # record that the last time stamp started.
        if re.match(r"^\d{4}-\d\d-\d\dT", line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return "\n".join(r for r in records if tag in r)


def http_playlist(url: str) -> tuple[m3u8.Playlist | None, str]:
    r = request(url)
    if r.status != 200:
        return None, f"{url}: HTTP {r.status}"
    try:
        return m3u8.parse(r.body.decode()), ""
    except (m3u8.PlaylistError, UnicodeDecodeError) as e:
        return None, f"{url}: {e}"


def serve_gst(tap: Tap, server: Server) -> tuple[str, str] | None:
    """Returns (channel folder, multivariant text) for case 3 to compare."""
    try:
        ch = server.create(CHANNEL)
    except RuntimeError as e:
        tap.result("serve: CreateChannel with two renditions", False, [str(e)])
        return None
    folder = server.channel_dir(ch)
    base = ch["playlist_url"].rsplit("/", 1)[0]
    pub = gst_publisher(ch["rtp"]["video_port"], ch["rtp"]["audio_port"])
    started = time.monotonic()
    result = None
    try:
        # 14 segments of 1 s: the first two and the last are left out of the
        # measurements, which leaves 11 s (≥ 8 s even with short ones).
        live = wait_segments(folder, 2, 14, lambda: channel_log(server, ch), timeout=75)
        tap.result("serve+gst: both renditions have 14 segments", live,
                   [f"after {time.monotonic() - started:.1f} s"] +
                   ([] if live else channel_log(server, ch).splitlines()[-15:]))
        if not live:
            return None

        r = request(ch["playlist_url"])
        mv_text = r.body.decode(errors="replace")
        try:
            variants = parse_multivariant(mv_text) if r.status == 200 else []
        except ValueError as e:
            variants = []
            tap.diag(str(e))
        tap.result("serve+gst: the multivariant playlist over HTTP lists both renditions",
                   [uri for _a, uri in variants] == ["0/index.m3u8", "1/index.m3u8"]
                   and all(k in a for a, _u in variants
                           for k in ("BANDWIDTH", "AVERAGE-BANDWIDTH", "RESOLUTION", "FRAME-RATE",
                                     "CODECS")),
                   [f"HTTP {r.status}"] + mv_text.splitlines())
        live_problems = []
        for n in range(2):
            pl, why = http_playlist(f"{base}/{n}/index.m3u8")
            if pl is None:
                live_problems.append(why)
            elif pl.endlist or pl.target_duration != 1 or not pl.entries:
                live_problems.append(f"{n}: endlist {pl.endlist}, target {pl.target_duration}, "
                                     f"{len(pl.entries)} segments")
        tap.result("serve+gst: each media playlist over HTTP parses strictly, live, target 1 s",
                   not live_problems, live_problems)
        thumb = request(f"{base}/thumbnail.jpg")
        tap.result("serve+gst: thumbnail.jpg over HTTP is a JPEG",
                   thumb.status == 200 and thumb.body[:3] == b"\xff\xd8\xff"
                   and thumb.headers.get("content-type", "").startswith("image/jpeg"),
                   [f"HTTP {thumb.status} {thumb.headers.get('content-type')} {thumb.body[:4]!r}"])

        # Deleted while the publisher still sends: the pipeline must drain.
        d = server.call(serve_lib.DELETE, {"channel_id": ch["channel_id"]})
        paths = [os.path.join(folder, str(n), "index.m3u8") for n in range(2)]
        ended = d.status == 200 and wait_for(
            lambda: all((media_playlist(p) or m3u8.Playlist()).endlist for p in paths), timeout=20)
        problems = []
        for n in range(2):
            pl_disk = media_playlist(paths[n])
            pl_http, why = http_playlist(f"{base}/{n}/index.m3u8")
            if pl_disk is None or not pl_disk.endlist:
                problems.append(f"{n}: on disk: {'unparseable' if pl_disk is None else 'no ENDLIST'}")
            if pl_http is None or not pl_http.endlist:
                problems.append(f"{n}: over HTTP: {why or 'no ENDLIST'}")
            if pl_disk is not None:
                missing = [e.uri for e in pl_disk.entries
                           if not os.path.isfile(os.path.join(folder, str(n), e.uri))]
                bad_names = [e.uri for e in pl_disk.entries if not re.fullmatch(r"b1-\d+\.ts", e.uri)]
                if missing or bad_names:
                    problems.append(f"{n}: missing {missing[:3]}, odd names {bad_names[:3]}")
        tap.result("serve+gst: DeleteChannel → every media playlist ends with EXT-X-ENDLIST "
                   "(disk and HTTP)", ended and not problems,
                   [f"DeleteChannel: HTTP {d.status} {d.body[:120]!r}"] + problems)
        stop(pub)
        pub = None

        by_uri = {uri: a for a, uri in variants}
        for n, spec in enumerate(RENDITIONS):
            pl = media_playlist(paths[n])
            if pl is None:
                tap.result(f"serve+gst rendition {n}: final playlist", False, ["unreadable"])
                continue
            check_rendition(tap, f"serve+gst rendition {n}", os.path.join(folder, str(n)), pl,
                            spec, by_uri.get(f"{n}/index.m3u8"))
        result = (folder, mv_text)
    finally:
        stop(pub)
    return result


def serve_ffmpeg(tap: Tap, server: Server, work: str) -> None:
    spec = {"video": {"width": 480, "height": 270, "fps": 30, "bps": 500_000},
            "audio": {"bps": 64000, "codec": "aac"}}
    try:
        ch = server.create({"hls": [spec], "segment_duration": 1, "playlist_length": 40})
    except RuntimeError as e:
        tap.result("serve+ffmpeg: CreateChannel", False, [str(e)])
        return
    folder = server.channel_dir(ch)
    log_path = os.path.join(work, "ffmpeg.log")
    pub = ffmpeg_publisher(ch["rtp"]["video_port"], ch["rtp"]["audio_port"], log_path)
    try:
        live = wait_segments(folder, 1, 6, lambda: channel_log(server, ch), timeout=45)
        if not tap.result("serve+ffmpeg: the rendition has 6 segments", live,
                          [] if live else (channel_log(server, ch).splitlines()[-10:] +
                                           (read_text(log_path) or "").splitlines()[-5:])):
            return
        pl = media_playlist(os.path.join(folder, "0", "index.m3u8"))
        problems = []
        frames = 0
        seconds = 0.0
        for e in pl.entries[1:-1]:
            try:
                info = ffprobe(os.path.join(folder, "0", e.uri), "-show_streams", "-show_packets")
            except RuntimeError as err:
                problems.append(str(err))
                continue
            streams = info.get("streams", [])
            v = [s for s in streams if s.get("codec_type") == "video"]
            a = [s for s in streams if s.get("codec_type") == "audio"]
            if len(v) != 1 or (v[0].get("codec_name"), v[0].get("width"), v[0].get("height")) != \
                    ("h264", 480, 270):
                problems.append(f"{e.uri}: video {[(s.get('codec_name'), s.get('width'), s.get('height')) for s in v]}")
            if len(a) != 1 or a[0].get("codec_name") != "aac":
                problems.append(f"{e.uri}: audio {[s.get('codec_name') for s in a]}")
            vindex = {s["index"] for s in v}
            frames += sum(1 for p in info.get("packets", []) if p["stream_index"] in vindex)
            seconds += e.duration
        fps = frames / seconds if seconds else 0
        tap.result("serve+ffmpeg: ffprobe reads 480x270 H.264 + AAC in every segment, 30 frames a second",
                   not problems and within(fps, 30, 0.1),
                   problems[:6] + [f"{frames} frames in {seconds:.2f} s = {fps:.1f}/s"])
        d = server.call(serve_lib.DELETE, {"channel_id": ch["channel_id"]})
        tap.result("serve+ffmpeg: DeleteChannel ends the playlist",
                   d.status == 200 and wait_for(
                       lambda: (media_playlist(os.path.join(folder, "0", "index.m3u8"))
                                or m3u8.Playlist()).endlist, timeout=20),
                   [f"HTTP {d.status}"])
    finally:
        stop(pub)


# --- case 3: nagare run ----------------------------------------------------

def gst_launch_printed(tap: Tap, channel_file: str, out: str, video_port: int, audio_port: int) -> None:
    """The printed description runs in gst-launch-1.0 -e as the README says,
    and Ctrl-C ends it: EOS reaches every sink (an appsink that waited for
    its samples to be pulled once kept gst-launch waiting forever)."""
    p = subprocess.run([NAGARE, "run", channel_file, "--output", out, "--print-pipeline", *PIPELINE_ARGS],
                       capture_output=True, text=True, timeout=20)
    for n in range(len(RENDITIONS)):
        os.makedirs(os.path.join(out, str(n)), exist_ok=True)
    log_path = out + ".log"
    proc = subprocess.Popen(["gst-launch-1.0", "-e", *p.stdout.split()], stdout=subprocess.DEVNULL,
                            stderr=open(log_path, "w"))
    pub = gst_publisher(video_port, audio_port)
    rc = None
    try:
        live = wait_segments(out, len(RENDITIONS), 2, lambda: read_text(log_path) or "", timeout=40)
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
    finally:
        stop(pub)
        if proc.poll() is None:
            stop(proc, signal.SIGKILL)
    ended = [n for n in range(len(RENDITIONS))
             if (pl := media_playlist(os.path.join(out, str(n), "index.m3u8"))) is not None and pl.endlist]
    tap.result("gst-launch-1.0 -e $(nagare run --print-pipeline): writes segments, and SIGINT ends it "
               "within 15 s with EXT-X-ENDLIST in every playlist",
               live and rc == 0 and len(ended) == len(RENDITIONS),
               [f"segments: {live}, exit {rc}, ended renditions {ended}"]
               + (read_text(log_path) or "").splitlines()[-5:])


def run_channel(tap: Tap, work: str, serve_result: tuple[str, str] | None) -> None:
    video_port, audio_port = free_udp_ports(2)
    doc = dict(CHANNEL, input={"rtp": {"video_port": video_port, "audio_port": audio_port}})
    channel_file = os.path.join(work, "channel.json")
    with open(channel_file, "w") as f:
        json.dump(doc, f)
    out = os.path.join(work, "run-out")

    p = subprocess.run([NAGARE, "run", channel_file, "--output", out, "--print-pipeline", *PIPELINE_ARGS],
                       capture_output=True, text=True, timeout=20)
    names = ["nagarealign", "nagareh264depay", "nagarehlssink"]
    tap.result("run --print-pipeline names nagarealign, nagareh264depay, nagarehlssink, the ports "
               "and the output folder, and starts nothing",
               p.returncode == 0 and all(n in p.stdout for n in names)
               and f"port={video_port}" in p.stdout and f"port={audio_port}" in p.stdout
               and os.path.join(out, "1") in p.stdout and not os.path.exists(out),
               [f"exit {p.returncode}", p.stderr.strip()[:300]] + p.stdout.splitlines()[:4])

    gst_launch_printed(tap, channel_file, os.path.join(work, "gst-launch-out"), video_port, audio_port)

    log_path = os.path.join(work, "run.log")
    proc = subprocess.Popen([NAGARE, "run", channel_file, "--output", out, *PIPELINE_ARGS],
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    pub = gst_publisher(video_port, audio_port)
    try:
        live = wait_segments(out, 2, 6, lambda: read_text(log_path) or "", timeout=60,
                             also=lambda: os.path.exists(os.path.join(out, "index.m3u8"))
                             and os.path.exists(os.path.join(out, "thumbnail.jpg")))
        tap.result("run+gst: both renditions have 6 segments, the multivariant playlist and a thumbnail",
                   live, [] if live else (read_text(log_path) or "").splitlines()[-15:])
        if not live:
            return
        # SIGINT while the publisher still sends, as Ctrl-C would.
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        stop(pub)
        pub = None
        problems = []
        for n in range(2):
            pl = media_playlist(os.path.join(out, str(n), "index.m3u8"))
            if pl is None or not pl.endlist:
                problems.append(f"{n}/index.m3u8: {'unparseable' if pl is None else 'no ENDLIST'}")
        tap.result("run+gst: SIGINT → exit 0 and every playlist ends with EXT-X-ENDLIST",
                   rc == 0 and not problems,
                   [f"exit {rc}"] + problems + (read_text(log_path) or "").splitlines()[-5:])

        got = layout(out)
        want = {"index.m3u8", "thumbnail.jpg", "0/index.m3u8", "1/index.m3u8", "0/b1-N.ts", "1/b1-N.ts"}
        same_as_serve = serve_result is None or layout(serve_result[0]) == got
        tap.result("run+gst: DIR/index.m3u8, DIR/{0,1}/index.m3u8, b1-*.ts, thumbnail.jpg, as serve writes",
                   got == want and same_as_serve,
                   [f"run: {sorted(got)}"] + ([f"serve: {sorted(layout(serve_result[0]))}"]
                                                if serve_result else []))
        thumb = b""
        try:
            with open(os.path.join(out, "thumbnail.jpg"), "rb") as f:
                thumb = f.read()
            info = ffprobe(os.path.join(out, "thumbnail.jpg"), "-show_streams")
            shape = [(s.get("codec_name"), s.get("width"), s.get("height")) for s in info["streams"]]
        except (OSError, RuntimeError) as e:
            shape = [str(e)]
        tap.result("run+gst: thumbnail.jpg is a 320x180 JPEG",
                   thumb[:3] == b"\xff\xd8\xff" and thumb[-2:] == b"\xff\xd9"
                   and shape == [("mjpeg", 320, 180)], [f"{len(thumb)} bytes, {shape}"])

        mv = read_text(os.path.join(out, "index.m3u8")) or ""
        if serve_result is not None:
            # Same channel, same encoders: the same CODECS, sizes and rates.
            tap.result("run+gst: the multivariant playlist is the one serve wrote",
                       mv == serve_result[1], ["run:"] + mv.splitlines() + ["serve:"] +
                       serve_result[1].splitlines())
        for n, spec in enumerate(RENDITIONS):
            pl = media_playlist(os.path.join(out, str(n), "index.m3u8"))
            if pl is None or len(pl.entries) < 3:
                tap.result(f"run+gst rendition {n}: segments to probe", False, [])
                continue
            info = ffprobe(os.path.join(out, str(n), pl.entries[1].uri), "-show_streams")
            shapes = sorted((s.get("codec_name"), s.get("width"), s.get("height"), s.get("sample_rate"))
                            for s in info["streams"])
            v = spec["video"]
            want_shapes = sorted([("h264", v["width"], v["height"], None),
                                  (spec["audio"]["codec"], None, None, "48000")])
            tap.result(f"run+gst rendition {n}: a segment holds {v['width']}x{v['height']} H.264 + "
                       f"{spec['audio']['codec']} 48 kHz", shapes == want_shapes, [str(shapes)])
    finally:
        stop(pub)
        if proc.poll() is None:
            stop(proc, signal.SIGKILL)


PORTS = {"input": {"rtp": {"video_port": 5004, "audio_port": 5006}}}


def one(video: dict | None = None, audio: dict | None = None) -> dict:
    """A channel of one rendition, RENDITIONS[0] changed as given."""
    return {"hls": [{"video": dict(RENDITIONS[0]["video"], **(video or {})),
                     "audio": dict(RENDITIONS[0]["audio"], **(audio or {}))}], **PORTS}


BAD_CHANNELS = [
    # (what, file contents, what the message must name)
    ("bad JSON", '{"hls": [', "not valid JSON"),
    ("unknown codec", one(audio={"codec": "opus"}), "hls[0].audio.codec"),
    ("odd width", one(video={"width": 641}), "hls[0].video.width"),
    ("fps 0", {"hls": [RENDITIONS[0], {"video": dict(RENDITIONS[1]["video"], fps=0),
                                       "audio": RENDITIONS[1]["audio"]}], **PORTS}, "hls[1].video.fps"),
    ("bps 1", one(video={"bps": 1}), "hls[0].video.bps"),
    ("9 renditions", {"hls": [RENDITIONS[1]] * 9, **PORTS}, "hls: must have at most 8"),
    ("no input ports", {"hls": [RENDITIONS[0]]}, "input.rtp.video_port"),
    ("no audio port", {"hls": [RENDITIONS[0]], "input": {"rtp": {"video_port": 5004}}},
     "input.rtp.audio_port"),
]


def bad_channels(tap: Tap, work: str) -> None:
    for what, content, field in BAD_CHANNELS:
        path = os.path.join(work, "bad.json")
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        out = os.path.join(work, "bad-out")
        try:
            p = subprocess.run([NAGARE, "run", path, "--output", out, *PIPELINE_ARGS],
                               capture_output=True, text=True, timeout=15)
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            rc, err = None, "still running after 15 s"
        # A positive status: refused, not killed by a signal; and refused
        # before anything was written.
        tap.result(f"run refuses a channel file with {what}: {field!r} in the message",
                   rc is not None and rc > 0 and field in err and not os.path.exists(out),
                   [f"exit {rc}", err.strip()[:300]])
        shutil.rmtree(out, ignore_errors=True)
    for command in ("run", "serve", "publish-test"):
        p = subprocess.run([NAGARE, command, "--help"], capture_output=True, text=True, timeout=15)
        tap.result(f"{command} --help prints the usage and exits 0",
                   p.returncode == 0 and f"nagare {command}" in p.stdout, [f"exit {p.returncode}", p.stderr[:300]])
    p = subprocess.run([NAGARE, "serve", "--data-dir", work, "--no-such-flag"], capture_output=True, text=True,
                       timeout=15)
    tap.result("an unknown option is refused, named", p.returncode > 0 and "--no-such-flag" in p.stderr,
               [f"exit {p.returncode}", p.stderr[:300]])


# --- main ---------------------------------------------------------------------

def main() -> int:
    tap = Tap()
    missing = tool_missing("gst-launch-1.0", "ffmpeg", "ffprobe")
    if missing:
        tap.result("launcher-media", True, skip=f"{missing} is not installed")
        return tap.finish()
    work = tempfile.mkdtemp(prefix="nagare-media-")
    started = time.monotonic()
    server = None
    serve_result = None
    try:
        os.makedirs(os.path.join(work, "serve"))
        server = Server(args=["--rtp-ports", rtp_port_range(), *PIPELINE_ARGS],
                        data_dir=os.path.join(work, "serve")).start()
        serve_result = serve_gst(tap, server)
        tap.diag(f"serve+gst done at {time.monotonic() - started:.0f} s")
        serve_ffmpeg(tap, server, work)
        tap.diag(f"serve+ffmpeg done at {time.monotonic() - started:.0f} s")
    except RuntimeError as e:
        tap.result("nagare serve starts", False, [str(e)])
    finally:
        if server is not None:
            rc = server.stop()
            tap.diag(f"nagare serve exited {rc}")
    run_channel(tap, work, serve_result)
    bad_channels(tap, work)
    tap.diag(f"{time.monotonic() - started:.0f} s in all")
    if tap.failed:
        tap.diag(f"output kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
