"""What ffmpeg and ffprobe say about an HLS output (part of hlscheck).

- ffmpeg-segments: every segment decodes on its own, i.e. with a fresh
  demuxer and decoders, `ffmpeg -v error -i SEG -f null -` printing nothing.
  Starting one ffmpeg per segment costs ~0.1 s, too much for the 7,000
  segments of a two-hour stream, so segments are decoded in batches: one
  ffmpeg with many inputs, each mapped to its own null output (each input
  gets its own demuxer and decoders). A batch that says anything is decoded
  again one segment at a time to name the culprit. With a sample size, the
  first and last segments, those next to a discontinuity and an even spread
  of the rest are decoded.
- ffprobe-keyframes: ffprobe decodes the video of the playlist and the frame
  at each segment's first video PTS must be a key frame (an I picture).
- ffmpeg-playlist: `ffmpeg -v error -i PLAYLIST -f null -` reads it end to
  end, exits 0 and prints nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from mpegts import PTS_WRAP

BATCH = 40
TIMEOUT = 900


def _run(cmd: list[str], timeout: float = TIMEOUT) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout} s"
    return p.returncode, p.stdout.decode("utf-8", "replace")


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    more = f" (+{len(lines) - 1} more lines)" if len(lines) > 1 else ""
    return (lines[0][:200] + more) if lines else ""


def sample_indices(report, size: int) -> list[int]:
    n = len(report.segments)
    if size <= 0 or size >= n:
        return list(range(n))
    chosen = set(range(min(size // 4, n)))
    chosen.update(range(max(0, n - size // 4), n))
    for i, s in enumerate(report.segments):
        if s.entry.discontinuity:
            chosen.update(j for j in (i - 1, i, i + 1) if 0 <= j < n)
    left = max(size - len(chosen), 1)
    step = n / left
    chosen.update(min(n - 1, int(k * step)) for k in range(left))
    return sorted(chosen)


def _decode_one(path: str) -> str:
    rc, out = _run(["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", path,
                    "-threads", "1", "-f", "null", "-"])
    if rc != 0 or out.strip():
        return f"exit {rc}: {_first_line(out) or '(no output)'}"
    return ""


def _decode_segments(report, opts, base: str) -> None:
    indices = sample_indices(report, opts.decode_sample)
    paths = [os.path.join(base, report.segments[i].entry.uri) for i in indices]
    for k in range(0, len(paths), BATCH):
        batch = paths[k:k + BATCH]
        cmd = ["ffmpeg", "-nostdin", "-v", "error"]
        for p in batch:
            cmd += ["-threads", "1", "-i", p]
        for i in range(len(batch)):
            cmd += ["-map", str(i), "-threads", "1", "-f", "null", "-"]
        rc, out = _run(cmd)
        if rc == 0 and not out.strip():
            continue
        for p in batch:
            why = _decode_one(p)
            if why:
                report.fail("ffmpeg-segments", f"{os.path.basename(p)} alone: {why}")
    report.metrics["segments_decoded_alone"] = len(paths)


def _frames_by_pts(out: str) -> dict[int, tuple[str, str]]:
    frames = {}
    for line in out.splitlines():
        fields = dict(f.split("=", 1) for f in line.split("|") if "=" in f)
        pts = fields.get("pts", "N/A")
        if pts.lstrip("-").isdigit():
            frames[int(pts) % PTS_WRAP] = (fields.get("key_frame", "?"),
                                           fields.get("pict_type", "?"))
    return frames


def _keyframes(report, opts, base: str) -> None:
    segs = [s for s in report.segments if s.info.video_pts]
    if not segs:
        report.skip("ffprobe-keyframes", "no video")
        return
    # Only key frames are decoded (-skip_frame nokey): a segment whose first
    # frame is not one has no frame at its first PTS in the output.
    show = ["-threads", "1", "-skip_frame", "nokey", "-select_streams", "v:0",
            "-show_entries", "frame=pts,key_frame,pict_type", "-of", "compact=p=0"]
    if report.playlist.endlist:
        rc, out = _run(["ffprobe", "-v", "error"] + show + [report.playlist_path])
        if rc != 0:
            report.fail("ffprobe-keyframes", f"ffprobe {report.playlist_path}: exit {rc}: "
                        f"{_first_line(out)}")
            return
        frames = _frames_by_pts(out)
        targets = segs
    else:
        # A live playlist: ffprobe would wait for more, so probe segments.
        frames = {}
        targets = [report.segments[i] for i in sample_indices(report, opts.decode_sample)
                   if report.segments[i].info.video_pts]
        for s in targets:
            rc, out = _run(["ffprobe", "-v", "error", "-read_intervals", "%+#1"] + show
                           + [os.path.join(base, s.entry.uri)])
            frames.update(_frames_by_pts(out))
    for s in targets:
        first = s.info.video_pts[0] % PTS_WRAP
        got = frames.get(first)
        if got is None:
            report.fail("ffprobe-keyframes", f"{s.name}: ffprobe shows no key frame at the "
                        f"segment's first video PTS {first}")
        elif got[0] != "1" or got[1] != "I":
            report.fail("ffprobe-keyframes", f"{s.name}: first frame key_frame={got[0]} "
                        f"pict_type={got[1]}")


def _playlist(report, opts) -> None:
    if not report.playlist.endlist:
        report.skip("ffmpeg-playlist", "no EXT-X-ENDLIST: ffmpeg would wait for more segments")
        return
    rc, out = _run(["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i",
                    report.playlist_path, "-threads", "1", "-f", "null", "-"])
    if rc != 0 or out.strip():
        report.fail("ffmpeg-playlist", f"exit {rc}: {_first_line(out) or '(no output)'}")


def run(report, opts) -> None:
    if not shutil.which("ffmpeg") or not shutil.which("ffprobe"):
        for c in ("ffmpeg-segments", "ffprobe-keyframes", "ffmpeg-playlist"):
            report.skip(c, "ffmpeg or ffprobe not installed")
        return
    if not report.segments:
        return
    base = os.path.dirname(report.playlist_path)
    _decode_segments(report, opts, base)
    _keyframes(report, opts, base)
    _playlist(report, opts)
