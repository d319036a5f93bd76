#!/usr/bin/env python3
"""End-to-end tests of the HLS sink on synthetic streams (issue 3), as TAP.

    e2e.py CASE [--seconds S] [--jump-launch PATH]

Each case runs real pipelines (videotestsrc/audiotestsrc, x264enc,
lamemp3enc or voaacenc, the sink), pushed as fast as they go, then checks the
output with hlscheck (our own TS and playlist reader, plus ffmpeg and
ffprobe) and prints one TAP line per check. Cases:

  mp3-48k-t1, mp3-48k-t2, aac-48k-t1.5, mp3-44k-t2, audio-only, video-only,
  ignores-requests   two-hour streams (NAGARE_E2E_SECONDS or --seconds)
  sliding-window     playlist-length=5 max-files=8, a reader polling throughout
  discontinuity      a timestamp jump with DISCONT (needs e2e-jump-launch)
  eos                EOS mid-segment, program-date-time=false
  io-errors          missing folder, not a folder, no permission, disk full,
                     playlist write failing

See e2elib.py for the environment variables (NAGARE_E2E_SINK=hlssink2 runs
the same cases against the stock element).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hlscheck  # noqa: E402
import io_errors  # noqa: E402
import m3u8  # noqa: E402
from e2elib import (LONG_SECONDS, SINK, STOCK, CpuClock, Media, Tap, Workdir,  # noqa: E402
                    element_missing, gst_launch, run_pipeline, sink_description, tool_missing)
from poller import PlaylistPoller  # noqa: E402

PLAYLIST = "index.m3u8"


def report_checks(tap: Tap, case: str, report: hlscheck.Report, only=hlscheck.CHECKS) -> bool:
    ok = True
    for c in only:
        problems = report.checks[c]
        ok &= tap.result(f"{case}: {c}", not problems, problems, skip=report.skipped.get(c))
    m = report.metrics
    tap.diag("metrics: " + ", ".join(
        f"{k}={v:.6f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()))
    for n in report.notes[:5]:
        tap.diag(f"note: {n}")
    return ok


def fail_all(tap: Tap, case: str, why: str) -> None:
    for c in hlscheck.CHECKS:
        tap.result(f"{case}: {c}", False, [why])


def check_options(media: Media, target: float, run, **kw) -> hlscheck.Options:
    opts = hlscheck.Options(
        target=target, expect_endlist=True, expect_duration=media.duration(),
        expect_pdt=True, wall_clock=(run.started, run.first_file or run.started + 5),
        expect_playlist_type="EVENT", expect_audio=bool(media.audio), expect_video=media.video,
        decode_sample=200 if media.seconds > 900 else 0)
    for k, v in kw.items():
        setattr(opts, k, v)
    return opts


def streamed_case(tap: Tap, case: str, media: Media, target: float, honours: bool = True,
                  source_cmd=None, poll_interval: float = 0.25, parse_share: float = 0.03,
                  **check_kw) -> None:
    """One pipeline into an EVENT playlist, a reader polling it, every check."""
    work = Workdir(case)
    hls = work.sub("hls")
    playlist = os.path.join(hls, PLAYLIST)
    sink = sink_description(hls, target)
    source = source_cmd(work.path) if source_cmd else media.branches()
    poller = PlaylistPoller(playlist, interval=poll_interval, parse_share=parse_share)
    poller.start()
    cpu = CpuClock()
    run = run_pipeline(gst_launch(f"{sink}  {source}"), hls, playlist,
                       timeout=max(300, media.seconds / 10))
    polled = poller.stop()
    spent = cpu.lap()
    work.failed |= not tap.result(f"{case}: pipeline runs to EOS ({run.seconds:.1f} s)", run.ok,
                                  run.why())
    if not os.path.exists(playlist):
        fail_all(tap, case, "no playlist written")
        work.failed = True
        work.close(tap)
        return
    opts = check_options(media, target, run, honours_requests=honours, **check_kw)
    report = hlscheck.check(playlist, opts)
    checking = cpu.lap()
    work.failed |= not report_checks(tap, case, report)
    work.failed |= not tap.result(
        f"{case}: atomic-playlist", not polled,
        polled + [f"{poller.reads} reads, {poller.versions} versions seen, "
                  f"{poller.parsed} parsed in full"])
    tap.diag(f"time: pipeline {run.seconds:.1f} s wall, {spent[1]:.1f} s CPU (poller "
             f"{spent[0]:.1f} s); checks {checking[0] + checking[1]:.1f} s CPU "
             f"(ffmpeg/ffprobe {checking[1]:.1f} s)")
    work.close(tap)


def ignores_requests_source(media: Media):
    """Stage 1 encodes with a fixed GOP into a file; stage 2 reads it, so the
    sink's key-unit requests reach a demuxer that cannot honour them."""
    def build(folder: str) -> str:
        source = os.path.join(folder, "source.ts")
        enc = (f"mpegtsmux name=m ! filesink location={source}  "
               f"{media.video_source()} ! m.  {media.audio_source()} ! m.")
        r = run_pipeline(gst_launch(enc), folder, timeout=600)
        if not r.ok:
            raise RuntimeError("encoding the source failed: " + "; ".join(r.why()))
        return (f"filesrc location={source} ! tsdemux name=d  "
                f"d. ! video/x-h264 ! queue ! h264parse ! s.video  "
                f"d. ! audio/mpeg ! queue ! mpegaudioparse ! s.audio")
    return build


def long_cases(seconds: float) -> dict:
    mp3 = dict(audio="mp3", rate=48000)
    gop = Media(seconds, key_int_max=30, **mp3)
    return {
        # The one long case whose reader polls hard (invariant 5 on a
        # half-megabyte playlist); the others look four times a second.
        "mp3-48k-t1": dict(media=Media(seconds, **mp3), target=1.0, poll_interval=0.05,
                           parse_share=0.05),
        "mp3-48k-t2": dict(media=Media(seconds, **mp3), target=2.0),
        "aac-48k-t1.5": dict(media=Media(seconds, audio="aac", rate=48000), target=1.5),
        "mp3-44k-t2": dict(media=Media(seconds, audio="mp3", rate=44100), target=2.0),
        "audio-only": dict(media=Media(seconds, video=False, **mp3), target=1.0),
        "video-only": dict(media=Media(seconds, audio=None), target=1.0),
        # A fixed GOP of 30 frames (1.001 s) and a 2 s target: cuts come at
        # the next IDR, so the running sum may lag by up to one GOP but must
        # not run away.
        "ignores-requests": dict(media=gop, target=2.0, honours=False,
                                 source_cmd=ignores_requests_source(gop),
                                 drift_tolerance=30 / float(gop.fps) + 1152 / 48000),
    }


def sliding_window(tap: Tap) -> None:
    case = "sliding-window"
    length, max_files, target = 5, 8, 1.0
    media = Media(600.5)
    work = Workdir(case)
    hls = work.sub("hls")
    playlist = os.path.join(hls, PLAYLIST)
    sink = sink_description(hls, target, playlist_length=length, max_files=max_files)
    poller = PlaylistPoller(playlist, max_files=max_files, interval=0)
    poller.start()
    run = run_pipeline(gst_launch(f"{sink}  {media.branches()}"), hls, playlist, timeout=240)
    polled = poller.stop()
    ok = tap.result(f"{case}: pipeline runs to EOS ({run.seconds:.1f} s)", run.ok, run.why())
    ok &= tap.result(f"{case}: a reader polling in a tight loop sees only whole playlists, "
                     "consistent sequence numbers, no listed segment deleted", not polled,
                     polled + [f"{poller.reads} reads, {poller.versions} versions, at most "
                               f"{poller.max_on_disk} segments on disk"])
    try:
        pl = m3u8.read(playlist, strict=False)
    except (OSError, m3u8.PlaylistError) as e:
        tap.result(f"{case}: final playlist", False, [str(e)])
        work.failed = True
        work.close(tap)
        return
    problems = []
    if len(pl.entries) != length:
        problems.append(f"{len(pl.entries)} entries, playlist-length is {length}")
    if not pl.endlist:
        problems.append("no EXT-X-ENDLIST")
    if pl.playlist_type == "EVENT":
        problems.append("a sliding window marked EVENT")
    # seg%05d numbers the segments from 0, as the media sequence numbers are.
    numbers = [int(e.uri[3:8]) for e in pl.entries if e.uri[3:8].isdigit()]
    if numbers and pl.media_sequence != numbers[0]:
        problems.append(f"EXT-X-MEDIA-SEQUENCE {pl.media_sequence}, but the first entry is "
                        f"segment number {numbers[0]}")
    offsets = {seq - int(uri[3:8]) for uri, seq in poller.seq_of.items() if uri[3:8].isdigit()}
    if len(offsets) > 1:
        problems.append(f"media sequence minus segment number took the values {sorted(offsets)}")
    if pl.discontinuity_sequence != 0:
        problems.append(f"EXT-X-DISCONTINUITY-SEQUENCE {pl.discontinuity_sequence} with no "
                        "discontinuity")
    ok &= tap.result(f"{case}: window of {length}, media sequence follows the segments",
                     not problems, problems)
    on_disk = sorted(n for n in os.listdir(hls) if n.endswith(".ts"))
    problems = []
    if len(on_disk) > max_files:
        problems.append(f"{len(on_disk)} segments on disk after EOS, max-files is {max_files}")
    missing = [e.uri for e in pl.entries if e.uri not in on_disk]
    if missing:
        problems.append(f"listed but not on disk: {missing}")
    if numbers and on_disk and on_disk[-1] != pl.entries[-1].uri:
        problems.append(f"the newest file on disk is {on_disk[-1]}, the playlist ends with "
                        f"{pl.entries[-1].uri}")
    if len(on_disk) < min(max_files, numbers[-1] + 1 if numbers else 0):
        problems.append(f"only {len(on_disk)} segments kept, max-files is {max_files}")
    ok &= tap.result(f"{case}: max-files={max_files} kept on disk, the oldest deleted",
                     not problems, problems + [f"on disk: {on_disk}"])
    run_first = run.first_file or run.started + 5
    opts = hlscheck.Options(target=target, honours_requests=True, expect_endlist=True,
                            expect_pdt=True, wall_clock=(run.started, run_first),
                            expect_audio=True, expect_video=True)
    report = hlscheck.check(playlist, opts)
    ok &= report_checks(tap, case, report)
    work.failed = not ok
    work.close(tap)


def discontinuity(tap: Tap, jump_launch: str | None) -> None:
    case = "discontinuity"
    if not jump_launch or not os.path.exists(jump_launch):
        tap.result(f"{case}: e2e-jump-launch", True, skip="no e2e-jump-launch helper given")
        return
    target, at, by = 1.0, 90.37, 1000.5
    media = Media(180, jump_markers=True)
    work = Workdir(case)
    hls = work.sub("hls")
    playlist = os.path.join(hls, PLAYLIST)
    sink = sink_description(hls, target)
    poller = PlaylistPoller(playlist, interval=0.01)
    poller.start()
    run = run_pipeline([jump_launch, "--at", str(at), "--by", str(by),
                        f"{sink}  {media.branches()}"], hls, playlist, timeout=240)
    polled = poller.stop()
    ok = tap.result(f"{case}: pipeline with a +{by} s jump at {at} s runs to EOS", run.ok,
                    run.why())
    if not os.path.exists(playlist):
        fail_all(tap, case, "no playlist written")
        work.failed = True
        work.close(tap)
        return
    opts = check_options(media, target, run, honours_requests=True, expect_discontinuities=1)
    report = hlscheck.check(playlist, opts)
    ok &= report_checks(tap, case, report)
    # Planning restarts: the new timeline's first boundary is one target
    # after its own start, not where the old grid would have put it.
    after = [s for s in report.segments if s.entry.discontinuity]
    problems = []
    if after:
        first = after[0]
        tol = media.audio_frame_seconds + 1e-6
        if abs(first.entry.duration - target) > tol:
            problems.append(f"{first.name}, the first segment after the jump, is "
                            f"{first.entry.duration:.6f} s; a plan restarted on the new "
                            f"timeline makes it {target} s ± {tol * 1000:.0f} ms")
        before = report.segments[report.segments.index(first) - 1]
        problems.append(f"(the last segment before the jump, {before.name}, is "
                        f"{before.entry.duration:.6f} s)")
        bad = problems[:-1]
    else:
        bad = ["no EXT-X-DISCONTINUITY in the playlist"]
    ok &= tap.result(f"{case}: planning restarts on the new timeline", not bad, problems or bad)
    ok &= tap.result(f"{case}: atomic-playlist", not polled, polled)
    ok &= discontinuity_in_window(tap, work, jump_launch)
    work.failed = not ok
    work.close(tap)


def discontinuity_in_window(tap: Tap, work: Workdir, jump_launch: str) -> bool:
    """A sliding window the discontinuity passes through: once its tag has
    left the window, EXT-X-DISCONTINUITY-SEQUENCE must count it (RFC 8216
    §4.3.3.3), and every segment keeps its discontinuity sequence number."""
    case = "discontinuity, sliding window"
    length, max_files, at, by = 5, 8, 20.37, 1000.5
    media = Media(40, jump_markers=True)
    hls = work.sub("window")
    playlist = os.path.join(hls, PLAYLIST)
    sink = sink_description(hls, 1.0, playlist_length=length, max_files=max_files)
    poller = PlaylistPoller(playlist, max_files=max_files, interval=0)
    poller.start()
    run = run_pipeline([jump_launch, "--at", str(at), "--by", str(by),
                        f"{sink}  {media.branches()}"], hls, playlist, timeout=120)
    polled = poller.stop()
    ok = tap.result(f"{case}: pipeline runs to EOS", run.ok, run.why())
    problems = list(polled)
    try:
        pl = m3u8.read(playlist, strict=False)
        if pl.discontinuity_sequence != 1:
            problems.append(f"EXT-X-DISCONTINUITY-SEQUENCE is {pl.discontinuity_sequence} after "
                            "the one discontinuity left the window, not 1")
        if any(e.discontinuity for e in pl.entries):
            problems.append("the discontinuity is still in the last window")
    except (OSError, m3u8.PlaylistError) as e:
        problems.append(f"final playlist: {e}")
    discs = sorted(set(poller.disc_of.values()))
    if discs != [0, 1]:
        problems.append(f"discontinuity sequence numbers seen: {discs}, expected [0, 1]")
    return tap.result(f"{case}: EXT-X-DISCONTINUITY-SEQUENCE counts the tags that left",
                      not problems, problems + [f"{poller.reads} reads, {poller.versions} "
                                                "versions"]) and ok


def eos(tap: Tap) -> None:
    case = "eos"
    target = 2.0
    media = Media(31.3)
    work = Workdir(case)
    hls = work.sub("hls")
    playlist = os.path.join(hls, PLAYLIST)
    sink = sink_description(hls, target, pdt=False)
    run = run_pipeline(gst_launch(f"{sink}  {media.branches()}"), hls, playlist, timeout=120)
    ok = tap.result(f"{case}: pipeline runs to EOS", run.ok, run.why())
    if not os.path.exists(playlist):
        fail_all(tap, case, "no playlist written")
        work.failed = True
        work.close(tap)
        return
    report = hlscheck.check(playlist, check_options(media, target, run, honours_requests=True,
                                                    expect_pdt=None if STOCK else False))
    ok &= report_checks(tap, case, report)
    problems = []
    if report.playlist.entries:
        last = report.playlist.entries[-1]
        if not 0 < last.duration < target:
            problems.append(f"the last segment is {last.duration:.6f} s; the stream ends "
                            f"{media.duration() % target:.3f} s into a segment")
    ok &= tap.result(f"{case}: the last, short segment is written", not problems, problems)
    work.failed = not ok
    work.close(tap)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("case")
    p.add_argument("--seconds", type=float, default=LONG_SECONDS,
                   help="media seconds of the long variants")
    p.add_argument("--jump-launch", help="the e2e-jump-launch helper")
    a = p.parse_args(argv)
    tap = Tap()
    missing = tool_missing("gst-launch-1.0", "gst-inspect-1.0", "ffmpeg", "ffprobe")
    missing = missing or element_missing("x264enc", "lamemp3enc", "voaacenc", "mpegaudioparse",
                                         "aacparse", "h264parse", "tsdemux", "concat")
    if missing:
        tap.result(f"{a.case}", True, skip=f"{missing} is not installed")
        return tap.finish()
    if element_missing(SINK):
        # The element under test is built with the tests: its absence fails.
        tap.result(f"{a.case}: {SINK} loads", False,
                   [f"gst-inspect-1.0 {SINK} fails; is GST_PLUGIN_PATH set to the build?"])
        return tap.finish()
    tap.diag(f"sink: {SINK}")
    longs = long_cases(a.seconds)
    if a.case in longs:
        try:
            streamed_case(tap, a.case, **longs[a.case])
        except RuntimeError as e:
            tap.result(f"{a.case}: source", False, [str(e)])
    elif a.case == "sliding-window":
        sliding_window(tap)
    elif a.case == "discontinuity":
        discontinuity(tap, a.jump_launch)
    elif a.case == "eos":
        eos(tap)
    elif a.case == "io-errors":
        io_errors.run_all(tap)
    else:
        p.error(f"unknown case {a.case}")
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
