#!/usr/bin/env python3
"""Independent checker of an HLS media playlist and its MPEG-TS segments.

It shares no code with nagare's C++ (nor with GStreamer): m3u8.py parses the
playlist, mpegts.py reads every segment's packets, PES headers, audio frame
headers and H.264 NAL types, model.py lays the segments on a timeline,
invariants.py checks the invariants of issue 3 and computes the metrics a
benchmark compares (worst |ΣEXTINF − N × target|, worst A/V start
misalignment, mean EXTINF), and ffcheck.py adds what ffmpeg and ffprobe say
about the same files. This file is the entry point: check() and the CLI.

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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import invariants as inv  # noqa: E402
from model import CHECKS, Options, Report, frame_durations, load, spans  # noqa: E402

__all__ = ["CHECKS", "Options", "Report", "check", "print_report", "main"]


def check(playlist_path: str, opts: Options) -> Report:
    """Checks a playlist and its segments; never raises for bad input."""
    report = Report(playlist_path)
    if not load(report, playlist_path):
        for c in CHECKS[1:]:
            report.skip(c, "the playlist could not be read")
        return report
    vframe, aframe = frame_durations(report.segments)
    report.metrics["video_frame_s"] = vframe
    report.metrics["audio_frame_s"] = aframe
    spans(report, vframe)
    inv.check_playlist(report, opts)
    inv.check_segments(report, opts)
    inv.check_idr(report)
    inv.check_audio_continuity(report, opts)
    inv.check_video_continuity(report, opts, vframe)
    inv.check_extinf(report, opts)
    inv.check_drift(report, opts, vframe, aframe)
    inv.check_av(report, opts, aframe)
    inv.check_discontinuity(report, opts, vframe)
    inv.check_endlist(report, opts)
    inv.check_pdt(report, opts)
    inv.metrics(report)
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
