"""IO errors (issue 3, invariant 10): each must stop the pipeline with an
element error that names the path, and leave what was already written whole.

The tests run as root in CI, where permission bits stop nothing, so:
- no permission: the pipeline runs as user nobody (as root), or the folder
  is made read-only (as anyone else);
- not a folder: the segment folder's parent is a regular file (ENOTDIR);
- disk full: RLIMIT_FSIZE (with SIGXFSZ ignored) caps the size of any file
  the pipeline writes, so writes fail with EFBIG, as they would with ENOSPC,
  whether the element writes in place or to a temporary file it renames.
  Segments: the video turns from a ball into noise mid-stream and the first
  noisy segment outgrows the cap. Playlist: it outgrows the cap after some
  hundreds of entries; replaced atomically, the last whole version stays,
  written in place it would be cut.
  (A symbolic link to /dev/full would only test writers that write in place:
  a rename replaces the link.)
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess

import hlscheck
import m3u8
from e2elib import SINK, Media, Tap, Workdir, gst_launch, run_pipeline, sink_description

NOBODY = 65534
# The checks that say whether files are whole and decodable (not how well
# they were cut).
INTACT = ("playlist", "segments", "idr-start", "audio-continuity", "video-continuity",
          "ffmpeg-segments")


def _expect_error(tap: Tap, name: str, description: str, watch: str, names: list[str],
                  timeout: float = 90, preexec=None) -> bool:
    run = run_pipeline(gst_launch(description), watch, timeout=timeout, preexec=preexec)
    problems = []
    if run.timed_out:
        problems.append(f"still running after {timeout:.0f} s")
    elif run.rc == 0:
        problems.append("the pipeline ended without an error")
    if "ERROR: from element" not in run.output:
        problems.append("no element error was posted")
    elif not any(n in run.output for n in names):
        problems.append(f"the error does not name {names[0]}")
    error_lines = run.output[run.output.find("ERROR"):].splitlines()[:6] if "ERROR" in \
        run.output else run.why()
    return tap.result(f"io-errors: {name}: element error naming the path", not problems,
                      problems + error_lines)


def _intact(tap: Tap, name: str, playlist: str, target: float, must_exist: bool = True) -> bool:
    """What was written before the error is whole and decodes."""
    if not os.path.exists(playlist):
        return tap.result(f"io-errors: {name}: what was written is intact", not must_exist,
                          ["no playlist was written"] if must_exist else [],
                          skip=None if must_exist else "nothing was written")
    problems = []
    try:
        with open(playlist, encoding="utf-8") as f:
            m3u8.parse(f.read(), strict=True)
    except (OSError, m3u8.PlaylistError, UnicodeDecodeError) as e:
        problems.append(f"the playlist left behind is not whole: {e}")
    report = hlscheck.check(playlist, hlscheck.Options(target=target, decode_sample=60))
    for c in INTACT:
        problems += [f"{c}: {p}" for p in report.checks[c]]
    n = len(report.playlist.entries) if report.playlist else 0
    return tap.result(f"io-errors: {name}: what was written is intact", not problems,
                      problems + [f"{n} segments listed"])


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def missing_folder(tap: Tap, work: Workdir, media: Media) -> bool:
    folder = os.path.join(work.path, "missing")
    sink = sink_description(folder, 1.0)
    return _expect_error(tap, "segment folder missing", f"{sink}  {media.branches()}",
                         work.path, [folder])


def missing_playlist_folder(tap: Tap, work: Workdir, media: Media) -> bool:
    segments = work.sub("segments-ok")
    folder = os.path.join(work.path, "no-playlist-folder")
    sink = sink_description(folder, 1.0, segment_folder=segments)
    return _expect_error(tap, "playlist folder missing", f"{sink}  {media.branches()}",
                         segments, [os.path.join(folder, "index.m3u8"), folder])


def not_a_folder(tap: Tap, work: Workdir, media: Media) -> bool:
    parent = os.path.join(work.path, "a-file")
    with open(parent, "w") as f:
        f.write("a regular file\n")
    folder = os.path.join(parent, "hls")
    sink = sink_description(folder, 1.0)
    return _expect_error(tap, "parent is a regular file (ENOTDIR)", f"{sink}  {media.branches()}",
                         work.path, [folder])


def no_permission(tap: Tap, work: Workdir, media: Media) -> bool:
    folder = work.sub("read-only")
    os.chmod(folder, 0o555)
    preexec = None
    if os.geteuid() == 0:
        os.chmod(work.path, 0o755)
        preexec = _as_nobody
        probe = subprocess.run(["gst-inspect-1.0", SINK], preexec_fn=_as_nobody,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reach = subprocess.run(["test", "-r", folder], preexec_fn=_as_nobody)
        if probe.returncode != 0 or reach.returncode != 0:
            return tap.result("io-errors: no permission", True,
                              skip="user nobody cannot load the plugin or reach the folder")
    elif os.access(folder, os.W_OK):
        return tap.result("io-errors: no permission", True,
                          skip="this user may write a read-only folder")
    sink = sink_description(folder, 1.0)
    ok = _expect_error(tap, "no permission (EACCES)", f"{sink}  {media.branches()}", folder,
                       [folder], preexec=preexec)
    os.chmod(folder, 0o755)
    return ok


def disk_full_segment(tap: Tap, work: Workdir) -> bool:
    """Four seconds of a ball (~20 KB a segment at 1 s), then noise (~120 KB):
    with files capped at 64 KiB the first noisy segment cannot be written."""
    folder = work.sub("full")
    limit = 64 * 1024
    media = Media(8)
    caps = "video/x-raw,format=I420,width=64,height=64,framerate=30000/1001"
    frames = media.video_frames // 2
    video = (f"concat name=c ! x264enc speed-preset=ultrafast tune=zerolatency pass=quant "
             f"quantizer=18 ! h264parse ! s.video  "
             f"videotestsrc num-buffers={frames} pattern=ball ! {caps} ! c.  "
             f"videotestsrc num-buffers={frames} pattern=snow ! {caps} ! c.")
    sink = sink_description(folder, 1.0)
    _fresh_registry()
    ok = _expect_error(tap, f"disk full mid-stream: segments capped at {limit // 1024} KiB "
                       "(EFBIG)", f"{sink}  {video}  {media.audio_source()} ! s.audio", folder,
                       [folder], preexec=_file_size_limit(limit))
    return _intact(tap, "disk full mid-stream", os.path.join(folder, "index.m3u8"), 1.0) and ok


def _fresh_registry() -> None:
    """Loads the registry now: a process with a file size limit must not
    need to write it."""
    subprocess.run(["gst-inspect-1.0", SINK], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def playlist_too_big(tap: Tap, work: Workdir) -> bool:
    folder = work.sub("fsize")
    limit = 48 * 1024
    media = Media(3600)
    playlist = os.path.join(folder, "index.m3u8")
    sink = sink_description(folder, 1.0)
    _fresh_registry()
    ok = _expect_error(tap, f"playlist outgrows a {limit // 1024} KiB file size limit (EFBIG)",
                       f"{sink}  {media.branches()}", folder, [playlist, "index.m3u8"],
                       timeout=180, preexec=_file_size_limit(limit))
    sizes = [os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)
             if n.endswith(".ts")]
    if sizes and max(sizes) >= limit:
        tap.diag(f"a segment reached the limit too ({max(sizes)} bytes)")
    return _intact(tap, "playlist write failed", playlist, 1.0) and ok


def run_all(tap: Tap) -> None:
    work = Workdir("io-errors")
    media = Media(20)
    ok = missing_folder(tap, work, media)
    ok &= missing_playlist_folder(tap, work, media)
    ok &= not_a_folder(tap, work, media)
    ok &= no_permission(tap, work, media)
    ok &= disk_full_segment(tap, work)
    ok &= playlist_too_big(tap, work)
    work.failed = not ok
    work.close(tap)
