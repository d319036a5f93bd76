"""The checker's model: options, the report, and the segments of a playlist
laid on one timeline (PTS unwrapped, media spans per issue 3's definition).

Part of hlscheck; see hlscheck.py.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field

import m3u8
import mpegts
from mpegts import PTS_HZ, PTS_WRAP

CHECKS = (
    "playlist",            # syntax, tags, RFC 8216 §4.3.3.1 target duration
    "segments",            # TS packets, PAT/PMT first, PES complete (decodes on its own)
    "idr-start",           # 2: IDR with SPS and PPS first in every segment
    "audio-continuity",    # 3: no audio frame split, lost or duplicated
    "video-continuity",    # no video frame lost or duplicated at a cut
    "extinf-accuracy",     # 4: EXTINF = media span within 1 ms
    "drift",               # 1: |ΣEXTINF(1..N) − N × target| ≤ one audio frame
    "av-alignment",        # audio and video of a segment start together
    "discontinuity",       # 7: a timestamp jump has EXT-X-DISCONTINUITY
    "endlist",             # 8: EOS gives the last segment and EXT-X-ENDLIST
    "program-date-time",   # 9: PDT = wall clock at start + media time
    "ffmpeg-segments",     # every segment decodes on its own
    "ffprobe-keyframes",   # ffprobe sees a key frame first in every segment
    "ffmpeg-playlist",     # ffmpeg reads the playlist end to end, silently
)


@dataclass
class Options:
    target: float                               # seconds, what target-duration was set to
    honours_requests: bool = False              # the encoder makes IDRs where asked (invariant 1)
    drift_tolerance: float | None = None        # default: one audio frame, or half a video frame
    av_tolerance: float | None = None           # default: one audio frame
    extinf_tolerance: float = 0.001
    continuity_tolerance: float = 0.001
    expect_endlist: bool | None = None          # None: not checked
    expect_duration: float | None = None        # media seconds the whole stream should cover
    duration_tolerance: float = 0.1
    expect_discontinuities: int | None = None   # EXT-X-DISCONTINUITY count, the window's and before
    expect_pdt: bool | None = None              # None: checked only if present
    wall_clock: tuple[float, float] | None = None  # the stream started in this range (epoch s)
    pdt_tolerance: float = 0.002
    expect_playlist_type: str | None = None     # "EVENT" for playlist-length=0
    expect_audio: bool | None = None
    expect_video: bool | None = None
    ffmpeg: bool = True                         # run ffmpeg and ffprobe too
    decode_sample: int = 0                      # segments ffmpeg decodes alone; 0 = every one


@dataclass
class Segment:
    entry: m3u8.Entry
    info: mpegts.SegmentInfo
    timeline: int = 0
    first_in_timeline: bool = False
    last_in_timeline: bool = False
    v_first: int | None = None    # unwrapped 90 kHz ticks
    v_last: int | None = None
    a_first: int | None = None
    a_end: float | None = None    # end of the last audio frame, ticks
    start: float | None = None    # media span, seconds
    end: float | None = None

    @property
    def name(self) -> str:
        return self.entry.uri


@dataclass
class Report:
    playlist_path: str
    checks: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in CHECKS})
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    playlist: m3u8.Playlist | None = None
    segments: list[Segment] = field(default_factory=list)

    def fail(self, check: str, text: str) -> None:
        problems = self.checks[check]
        if len(problems) < 25:
            problems.append(text)
        elif len(problems) == 25:
            problems.append("(more problems not listed)")

    def skip(self, check: str, reason: str) -> None:
        if not self.checks[check]:
            self.skipped[check] = reason

    @property
    def ok(self) -> bool:
        return not any(self.checks.values())

    def failures(self) -> list[str]:
        return [f"{c}: {p}" for c in CHECKS for p in self.checks[c]]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


class Unwrapper:
    """33-bit PTS to a monotonic tick count: the value nearest the last one."""

    def __init__(self) -> None:
        self.ref: int | None = None

    def __call__(self, pts: int) -> int:
        if self.ref is None:
            self.ref = pts
            return pts
        k = round((self.ref - pts) / PTS_WRAP)
        value = pts + k * PTS_WRAP
        self.ref = value
        return value


def load(report: Report, path: str) -> bool:
    try:
        pl = m3u8.read(path, strict=False)
    except (OSError, UnicodeDecodeError) as e:
        report.fail("playlist", f"cannot read {path}: {e}")
        return False
    except m3u8.PlaylistError as e:
        report.fail("playlist", f"malformed: {e}")
        return False
    report.playlist = pl
    base = os.path.dirname(path)
    unwrap = Unwrapper()
    timeline = 0
    for i, entry in enumerate(pl.entries):
        info = mpegts.read_segment(os.path.join(base, entry.uri))
        if entry.discontinuity and i > 0:
            timeline += 1
        seg = Segment(entry, info, timeline)
        seg.first_in_timeline = entry.discontinuity or (
            i == 0 and (pl.media_sequence == 0 or pl.playlist_type in ("EVENT", "VOD")))
        if info.video_pts:
            pts = [unwrap(p) for p in info.video_pts]
            seg.v_first, seg.v_last = pts[0], max(pts)
        if info.audio:
            first = info.audio[0]
            seg.a_first = unwrap(first.pts)
            last = info.audio[-1]
            seg.a_end = unwrap(last.pts) + last.samples * PTS_HZ / last.rate
        report.segments.append(seg)
    for a, b in zip(report.segments, report.segments[1:]):
        a.last_in_timeline = b.timeline != a.timeline
    if report.segments:
        report.segments[-1].last_in_timeline = True
    return True


def frame_durations(segs: list[Segment]) -> tuple[float | None, float | None]:
    """(video frame, audio frame) durations in seconds, from the streams."""
    deltas = []
    for s in segs:
        pts = sorted(s.info.video_pts)
        deltas.extend(b - a for a, b in zip(pts, pts[1:]) if b > a)
        if len(deltas) > 5000:
            break
    video = statistics.median(deltas) / PTS_HZ if deltas else None
    audio = None
    for s in segs:
        if s.info.audio_rate and s.info.audio_frame_samples:
            audio = s.info.audio_frame_samples / s.info.audio_rate
            break
    return video, audio


def spans(report: Report, vframe: float | None) -> None:
    segs = report.segments
    has_audio = any(s.a_first is not None for s in segs)
    for i, s in enumerate(segs):
        if has_audio:
            if s.a_first is None:
                continue
            start = s.a_first
            if s.first_in_timeline and s.v_first is not None:
                start = min(start, s.v_first)
            s.start, s.end = start / PTS_HZ, s.a_end / PTS_HZ
        elif s.v_first is not None:
            s.start = s.v_first / PTS_HZ
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            if nxt is not None and not s.last_in_timeline and nxt.v_first is not None:
                s.end = nxt.v_first / PTS_HZ
            elif vframe is not None:
                s.end = s.v_last / PTS_HZ + vframe
