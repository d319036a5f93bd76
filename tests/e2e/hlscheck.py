#!/usr/bin/env python3
"""Independent checker of an HLS media playlist and its MPEG-TS segments.

It shares no code with nagare's C++ (nor with GStreamer): m3u8.py parses the
playlist, mpegts.py reads every segment's packets, PES headers, audio frame
headers and H.264 NAL types, and this file holds the invariants of issue 3
and the metrics a benchmark compares (worst |ΣEXTINF − N × target|, worst
A/V start misalignment, mean EXTINF). ffcheck.py adds what ffmpeg and ffprobe
say about the same files.

    python3 hlscheck.py out/index.m3u8 --target 1 --honours-requests
    python3 hlscheck.py out/index.m3u8 --target 2 --json

or, from Python:

    report = hlscheck.check("out/index.m3u8", hlscheck.Options(target=1.0))
    report.ok, report.failures(), report.metrics

The media span of a segment (what its EXTINF must equal within 1 ms):
start = PTS of its first audio frame (for the first segment of a timeline,
the earlier of the first audio and first video PTS); end = end of its last
audio frame. Without audio: start = its first video PTS, end = the next
segment's first video PTS (the last one: its last video PTS + one frame).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass, field

import m3u8
import mpegts
from mpegts import PTS_HZ, PTS_WRAP

# The checks, in report order; a TAP driver prints one line for each.
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
    wall_clock: tuple[float, float] | None = None  # the stream start was within this range (epoch s)
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


class _Unwrapper:
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


def _load(report: Report, path: str) -> bool:
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
    unwrap = _Unwrapper()
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


def _frame_durations(segs: list[Segment]) -> tuple[float | None, float | None]:
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


def _spans(report: Report, vframe: float | None) -> None:
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


def _check_playlist(report: Report, opts: Options) -> None:
    pl = report.playlist
    for p in pl.problems:
        report.fail("playlist", p)
    if pl.version is None:
        report.fail("playlist", "no #EXT-X-VERSION")
    elif pl.version < 3 and any("." in e.duration_text for e in pl.entries):
        report.fail("playlist", f"decimal EXTINF needs #EXT-X-VERSION 3 or more, not {pl.version}")
    if not pl.entries:
        report.fail("playlist", "no segments")
    for e in pl.entries:
        # RFC 8216 §4.3.3.1: each EXTINF, rounded to the nearest integer,
        # must be <= the target duration.
        if int(e.duration + 0.5) > pl.target_duration:
            report.fail("playlist", f"{e.uri}: EXTINF {e.duration_text} rounds above "
                        f"#EXT-X-TARGETDURATION:{pl.target_duration}")
        if e.duration <= 0:
            report.fail("playlist", f"{e.uri}: EXTINF {e.duration_text} is not positive")
    if opts.expect_playlist_type and pl.playlist_type != opts.expect_playlist_type:
        report.fail("playlist", f"#EXT-X-PLAYLIST-TYPE is {pl.playlist_type}, expected "
                    f"{opts.expect_playlist_type}")
    uris = [e.uri for e in pl.entries]
    if len(set(uris)) != len(uris):
        report.fail("playlist", "a segment URI is listed twice")
    if any("/" in u for u in uris):
        report.notes.append("segment URIs are not bare file names")


def _check_segments(report: Report, opts: Options) -> None:
    segs = report.segments
    has_video = any(s.info.video_pid is not None for s in segs)
    has_audio = any(s.info.audio_pid is not None for s in segs)
    if opts.expect_video is not None and has_video != opts.expect_video:
        report.fail("segments", f"video stream {'missing' if opts.expect_video else 'present'}")
    if opts.expect_audio is not None and has_audio != opts.expect_audio:
        report.fail("segments", f"audio stream {'missing' if opts.expect_audio else 'present'}")
    for i, s in enumerate(segs):
        info = s.info
        for p in info.problems:
            check = "audio-continuity" if p.startswith("audio PES") else "segments"
            report.fail(check, f"{s.name}: {p}")
        if not info.problems and not (info.pat_before_pes and info.pmt_before_pes):
            report.fail("segments", f"{s.name}: no PAT and PMT before the first PES; it cannot "
                        "be decoded on its own")
        is_last = i == len(segs) - 1
        if has_video and not info.video_pts and not is_last:
            report.fail("segments", f"{s.name}: no video")
        if has_audio and not info.audio and not is_last:
            report.fail("segments", f"{s.name}: no audio")
    if not has_video:
        report.skip("idr-start", "no video")
        report.skip("video-continuity", "no video")
        report.skip("av-alignment", "no video")
    if not has_audio:
        report.skip("audio-continuity", "no audio")
        report.skip("av-alignment", "no audio")


def _check_idr(report: Report) -> None:
    for s in report.segments:
        nals = s.info.first_video_nals
        if not s.info.video_pts:
            continue
        slices = [t for t in nals if 1 <= t <= 5]
        if not slices or slices[0] != mpegts.NAL_IDR:
            report.fail("idr-start", f"{s.name}: first picture is not an IDR "
                        f"(NAL types {nals})")
        elif mpegts.NAL_SPS not in nals or mpegts.NAL_PPS not in nals:
            report.fail("idr-start", f"{s.name}: the IDR has no SPS and PPS before it "
                        f"(NAL types {nals})")


def _check_audio_continuity(report: Report, opts: Options) -> None:
    tol = opts.continuity_tolerance * PTS_HZ
    unwrap = _Unwrapper()
    prev_end = prev_name = None
    prev_timeline = None
    for s in report.segments:
        for k, pes in enumerate(s.info.audio):
            pts = unwrap(pes.pts)
            if prev_end is not None and not (k == 0 and s.timeline != prev_timeline):
                gap = (pts - prev_end) / PTS_HZ
                if abs(gap) * PTS_HZ > tol:
                    frame = pes.samples / pes.frames / pes.rate
                    where = (f"between {prev_name} and {s.name}" if k == 0
                             else f"inside {s.name} at PTS {pes.pts}")
                    kind = "gap" if gap > 0 else "overlap"
                    report.fail("audio-continuity", f"audio {kind} of {ms(abs(gap))} "
                                f"({abs(gap) / frame:.2f} frames) {where}")
            prev_end = pts + pes.samples * PTS_HZ / pes.rate
            prev_name = s.name
        if s.info.audio:
            prev_timeline = s.timeline


def _check_video_continuity(report: Report, opts: Options, vframe: float | None) -> None:
    if vframe is None:
        return
    tol = opts.continuity_tolerance
    for a, b in zip(report.segments, report.segments[1:]):
        if b.timeline != a.timeline or a.v_last is None or b.v_first is None:
            continue
        step = (b.v_first - a.v_last) / PTS_HZ
        if abs(step - vframe) > tol:
            report.fail("video-continuity", f"{a.name} -> {b.name}: video steps {ms(step)} "
                        f"across the cut, one frame is {ms(vframe)} "
                        f"({step / vframe - 1:+.2f} frames)")


def _check_extinf(report: Report, opts: Options) -> None:
    worst = 0.0
    off = measured = 0
    for s in report.segments:
        if s.start is None or s.end is None:
            continue
        measured += 1
        span = s.end - s.start
        err = s.entry.duration - span
        worst = max(worst, abs(err))
        if abs(err) > opts.extinf_tolerance:
            off += 1
            if off <= 10:
                report.fail("extinf-accuracy", f"{s.name}: EXTINF {s.entry.duration_text} but "
                            f"the media spans {span:.6f} s ({err * 1000:+.3f} ms)")
    if off:
        report.fail("extinf-accuracy", f"{off} of {measured} segments off by more than "
                    f"{ms(opts.extinf_tolerance)}; the worst by {ms(worst)}")
    report.metrics["worst_extinf_error_s"] = worst


def _drift_tolerance(opts: Options, vframe: float | None, aframe: float | None) -> float:
    if opts.drift_tolerance is not None:
        return opts.drift_tolerance
    if aframe is not None:
        return aframe
    return (vframe or 0.0) / 2


def _check_drift(report: Report, opts: Options, vframe: float | None, aframe: float | None) -> None:
    tol = _drift_tolerance(opts, vframe, aframe)
    pl = report.playlist
    worst = 0.0
    worst_at = None
    by_timeline: dict[int, list[Segment]] = {}
    for s in report.segments:
        by_timeline.setdefault(s.timeline, []).append(s)
    for segs in by_timeline.values():
        # The last segment of a timeline is cut short by EOS or by the
        # discontinuity; the first one of a window that starts mid-timeline
        # carries an unknown error, so such a window gets twice the tolerance.
        if segs[-1].last_in_timeline and (pl.endlist or segs[-1] is not report.segments[-1]):
            segs = segs[:-1]
        allowed = tol if segs and segs[0].first_in_timeline else 2 * tol
        total = 0.0
        over = 0
        for n, s in enumerate(segs, start=1):
            total += s.entry.duration
            drift = total - n * opts.target
            if abs(drift) > worst:
                worst, worst_at = abs(drift), s.name
            if abs(drift) > allowed + 1e-6 and (opts.honours_requests
                                                or opts.drift_tolerance is not None):
                over += 1
                if over == 1:
                    report.fail("drift", f"after {s.name} (N={n}): ΣEXTINF {total:.6f} s, "
                                f"N × target {n * opts.target:.6f} s, drift "
                                f"{drift * 1000:+.3f} ms, more than {ms(allowed)}")
        if over:
            report.fail("drift", f"the drift is over the tolerance after {over} of "
                        f"{len(segs)} segments; at the end of the timeline it is "
                        f"{(total - len(segs) * opts.target) * 1000:+.3f} ms")
    report.metrics["worst_drift_s"] = worst
    report.metrics["worst_drift_at"] = worst_at
    if not opts.honours_requests and opts.drift_tolerance is None:
        report.skip("drift", f"the encoder does not honour key-unit requests; "
                    f"worst drift {ms(worst)}")


def _check_av(report: Report, opts: Options, aframe: float | None) -> None:
    tol = (opts.av_tolerance if opts.av_tolerance is not None else (aframe or 0.0)) + 1e-6
    worst = None
    for s in report.segments:
        if s.a_first is None or s.v_first is None or s.first_in_timeline:
            continue
        d = (s.a_first - s.v_first) / PTS_HZ
        worst = abs(d) if worst is None else max(worst, abs(d))
        if abs(d) > tol:
            report.fail("av-alignment", f"{s.name}: audio starts {d * 1000:+.3f} ms from the "
                        f"video (more than {ms(tol)})")
    report.metrics["worst_av_misalignment_s"] = worst


def _check_discontinuity(report: Report, opts: Options, vframe: float | None) -> None:
    pl = report.playlist
    jump = max(0.1, 2 * (vframe or 0))
    for a, b in zip(report.segments, report.segments[1:]):
        if a.end is None or b.start is None:
            continue
        gap = b.start - a.end
        if b.entry.discontinuity:
            if abs(gap) < opts.continuity_tolerance:
                report.notes.append(f"{b.name}: EXT-X-DISCONTINUITY where the timestamps "
                                    "run on")
        elif abs(gap) > jump:
            report.fail("discontinuity", f"timestamps jump {gap:+.3f} s from {a.name} to "
                        f"{b.name} with no EXT-X-DISCONTINUITY")
    for s in report.segments:
        pts = sorted(s.info.video_pts)
        steps = [b - a for a, b in zip(pts, pts[1:])]
        if steps and max(steps) > jump * PTS_HZ:
            report.fail("discontinuity", f"{s.name}: video timestamps jump "
                        f"{max(steps) / PTS_HZ:+.3f} s inside the segment")
        audio = s.info.audio
        for a, b in zip(audio, audio[1:]):
            gap = (b.pts - a.pts) / PTS_HZ - a.samples / a.rate
            if abs(gap) > jump:
                report.fail("discontinuity", f"{s.name}: audio timestamps jump {gap:+.3f} s "
                            "inside the segment")
                break
    count = pl.discontinuity_sequence + sum(e.discontinuity for e in pl.entries)
    report.metrics["discontinuities"] = count
    if opts.expect_discontinuities is not None and count != opts.expect_discontinuities:
        report.fail("discontinuity", f"{count} discontinuities (EXT-X-DISCONTINUITY-SEQUENCE "
                    f"{pl.discontinuity_sequence} + tags), expected {opts.expect_discontinuities}")


def _check_endlist(report: Report, opts: Options) -> None:
    pl = report.playlist
    if opts.expect_endlist is None:
        report.skip("endlist", "not asked for")
    elif pl.endlist != opts.expect_endlist:
        report.fail("endlist", "no #EXT-X-ENDLIST" if opts.expect_endlist
                    else "#EXT-X-ENDLIST in a playlist that should still be live")
    if opts.expect_duration is not None:
        total = sum(e.duration for e in pl.entries)
        if abs(total - opts.expect_duration) > opts.duration_tolerance:
            report.fail("endlist", f"the segments cover {total:.3f} s (ΣEXTINF), the stream "
                        f"was {opts.expect_duration:.3f} s: media lost at the end?")
        report.skipped.pop("endlist", None)


def _check_pdt(report: Report, opts: Options) -> None:
    with_pdt = [s for s in report.segments if s.entry.pdt is not None]
    if not with_pdt:
        if opts.expect_pdt:
            report.fail("program-date-time", "no #EXT-X-PROGRAM-DATE-TIME")
        else:
            report.skip("program-date-time", "no #EXT-X-PROGRAM-DATE-TIME in the playlist")
        return
    if opts.expect_pdt is False:
        report.fail("program-date-time", "#EXT-X-PROGRAM-DATE-TIME present though turned off")
    first = report.segments[0]
    if opts.expect_pdt and first.entry.pdt is None:
        report.fail("program-date-time", f"the first segment {first.name} has no PDT")
    anchors: dict[int, Segment] = {}
    for s in with_pdt:
        if s.start is None:
            continue
        a = anchors.setdefault(s.timeline, s)
        if a is s:
            continue
        wall = (s.entry.pdt - a.entry.pdt).total_seconds()
        media = s.start - a.start
        if abs(wall - media) > opts.pdt_tolerance:
            report.fail("program-date-time", f"{s.name}: PDT is {wall:.3f} s after {a.name}'s, "
                        f"the media {media:.3f} s ({(wall - media) * 1000:+.1f} ms)")
    if opts.wall_clock is not None and first.entry.pdt is not None and first.first_in_timeline:
        t = first.entry.pdt.timestamp()
        lo, hi = opts.wall_clock
        if not lo - 0.5 <= t <= hi + 0.5:
            report.fail("program-date-time", f"the first PDT {first.entry.pdt.isoformat()} is "
                        f"{t - lo:+.3f} s from the pipeline start; it should be the wall clock "
                        f"when the stream started (within {hi - lo + 0.5:.3f} s)")


def _metrics(report: Report) -> None:
    durs = [e.duration for e in report.playlist.entries]
    report.metrics.update(
        segments=len(durs),
        mean_extinf_s=statistics.fmean(durs) if durs else None,
        min_extinf_s=min(durs) if durs else None,
        max_extinf_s=max(durs) if durs else None,
        total_extinf_s=sum(durs),
    )


def check(playlist_path: str, opts: Options) -> Report:
    """Checks a playlist and its segments; never raises for bad input."""
    report = Report(playlist_path)
    if not _load(report, playlist_path):
        for c in CHECKS[1:]:
            report.skip(c, "the playlist could not be read")
        return report
    vframe, aframe = _frame_durations(report.segments)
    report.metrics["video_frame_s"] = vframe
    report.metrics["audio_frame_s"] = aframe
    _spans(report, vframe)
    _check_playlist(report, opts)
    _check_segments(report, opts)
    _check_idr(report)
    _check_audio_continuity(report, opts)
    _check_video_continuity(report, opts, vframe)
    _check_extinf(report, opts)
    _check_drift(report, opts, vframe, aframe)
    _check_av(report, opts, aframe)
    _check_discontinuity(report, opts, vframe)
    _check_endlist(report, opts)
    _check_pdt(report, opts)
    _metrics(report)
    if opts.ffmpeg:
        import ffcheck
        ffcheck.run(report, opts)
    else:
        for c in ("ffmpeg-segments", "ffprobe-keyframes", "ffmpeg-playlist"):
            report.skip(c, "ffmpeg checks turned off")
    return report


def print_report(report: Report, out=sys.stdout) -> None:
    for c in CHECKS:
        if report.checks[c]:
            print(f"FAIL {c}", file=out)
            for p in report.checks[c]:
                print(f"     {p}", file=out)
        elif c in report.skipped:
            print(f"skip {c}: {report.skipped[c]}", file=out)
        else:
            print(f"ok   {c}", file=out)
    for n in report.notes[:10]:
        print(f"note {n}", file=out)
    m = report.metrics
    parts = [f"{k}={v:.6f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()]
    print("metrics " + " ".join(parts), file=out)


def _args(argv: list[str]) -> tuple[argparse.Namespace, Options]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("playlist")
    p.add_argument("--target", type=float, required=True, help="target duration, seconds")
    p.add_argument("--honours-requests", action="store_true",
                   help="the encoder makes IDRs where asked: check invariant 1")
    p.add_argument("--drift-tolerance", type=float, help="seconds (default: one audio frame, "
                   "or half a video frame without audio)")
    p.add_argument("--av-tolerance", type=float, help="seconds (default: one audio frame)")
    p.add_argument("--extinf-tolerance", type=float, default=0.001)
    p.add_argument("--expect-endlist", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--expect-duration", type=float, help="media seconds of the whole stream")
    p.add_argument("--expect-discontinuities", type=int)
    p.add_argument("--expect-pdt", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--wall-clock", type=float, nargs=2, metavar=("FROM", "TO"),
                   help="the stream started between these epoch seconds")
    p.add_argument("--expect-type", choices=["EVENT", "VOD"])
    p.add_argument("--no-ffmpeg", action="store_true", help="skip the ffmpeg/ffprobe checks")
    p.add_argument("--decode-sample", type=int, default=0,
                   help="decode this many segments alone with ffmpeg (0: every one)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    a = p.parse_args(argv)
    opts = Options(target=a.target, honours_requests=a.honours_requests,
                   drift_tolerance=a.drift_tolerance, av_tolerance=a.av_tolerance,
                   extinf_tolerance=a.extinf_tolerance, expect_endlist=a.expect_endlist,
                   expect_duration=a.expect_duration,
                   expect_discontinuities=a.expect_discontinuities, expect_pdt=a.expect_pdt,
                   wall_clock=tuple(a.wall_clock) if a.wall_clock else None,
                   expect_playlist_type=a.expect_type, ffmpeg=not a.no_ffmpeg,
                   decode_sample=a.decode_sample)
    return a, opts


def main(argv: list[str]) -> int:
    a, opts = _args(argv)
    report = check(a.playlist, opts)
    if a.json:
        json.dump({"ok": report.ok, "checks": report.checks, "skipped": report.skipped,
                   "notes": report.notes, "metrics": report.metrics}, sys.stdout, indent=1)
        print()
    else:
        print_report(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
