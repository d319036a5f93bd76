"""The invariants of issue 3, one function per check (see CHECKS in model.py).

Part of hlscheck; each function appends what it finds to the report.
"""

from __future__ import annotations

import statistics

import mpegts
from model import Options, Report, Segment, Unwrapper, ms
from mpegts import PTS_HZ

def check_playlist(report: Report, opts: Options) -> None:
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


def check_segments(report: Report, opts: Options) -> None:
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


def check_idr(report: Report) -> None:
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


def check_audio_continuity(report: Report, opts: Options) -> None:
    tol = opts.continuity_tolerance * PTS_HZ
    unwrap = Unwrapper()
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


def check_video_continuity(report: Report, opts: Options, vframe: float | None) -> None:
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


def check_extinf(report: Report, opts: Options) -> None:
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


def check_drift(report: Report, opts: Options, vframe: float | None, aframe: float | None) -> None:
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


def check_av(report: Report, opts: Options, aframe: float | None) -> None:
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


def check_discontinuity(report: Report, opts: Options, vframe: float | None) -> None:
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
        pts = s.info.video_pts
        steps = [mpegts.pts_delta(a, b) for a, b in zip(pts, pts[1:])]
        if steps and max(map(abs, steps)) > jump * PTS_HZ:
            step = max(steps, key=abs)
            report.fail("discontinuity", f"{s.name}: video timestamps jump "
                        f"{step / PTS_HZ:+.3f} s inside the segment")
        audio = s.info.audio
        for a, b in zip(audio, audio[1:]):
            gap = mpegts.pts_delta(a.pts, b.pts) / PTS_HZ - a.samples / a.rate
            if abs(gap) > jump:
                report.fail("discontinuity", f"{s.name}: audio timestamps jump {gap:+.3f} s "
                            "inside the segment")
                break
    count = pl.discontinuity_sequence + sum(e.discontinuity for e in pl.entries)
    report.metrics["discontinuities"] = count
    if opts.expect_discontinuities is not None and count != opts.expect_discontinuities:
        report.fail("discontinuity", f"{count} discontinuities (EXT-X-DISCONTINUITY-SEQUENCE "
                    f"{pl.discontinuity_sequence} + tags), expected {opts.expect_discontinuities}")


def check_endlist(report: Report, opts: Options) -> None:
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


def check_pdt(report: Report, opts: Options) -> None:
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


def metrics(report: Report) -> None:
    durs = [e.duration for e in report.playlist.entries]
    report.metrics.update(
        segments=len(durs),
        mean_extinf_s=statistics.fmean(durs) if durs else None,
        min_extinf_s=min(durs) if durs else None,
        max_extinf_s=max(durs) if durs else None,
        total_extinf_s=sum(durs),
    )
