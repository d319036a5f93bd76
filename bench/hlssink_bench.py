#!/usr/bin/env python3
"""nagarehlssink against hlssink2: CPU per media second, and segment accuracy.

CPU. One input is encoded once into a temporary folder: --cpu-minutes (10)
of 640x360 at 30000/1001 fps from x264enc (speed-preset=ultrafast,
bitrate=800, key-int-max=--gop (60 frames, 2.002 s), scenecut off, so the
GOP is fixed) and 48 kHz stereo MP3 from lamemp3enc (CBR 128k), in MPEG-TS
(90 kHz timestamps; Matroska would round them to the millisecond). Four
gst-launch-1.0 processes then read that same file as fast as they can:

  demux  filesrc ! tsdemux, video ! queue ! h264parse ! fakesink,
                            audio ! queue ! mpegaudioparse ! fakesink
  mux    the same into mpegtsmux ! fakesink
  hlssink2 / nagarehlssink
         the same into the sink's video and audio pads, target-duration 2,
         playlist-length=0, max-files=0, send-keyframe-requests=false

A round runs each once, in an order that rotates from round to round (one
warm-up round is thrown away). The CPU of a run is the user + system time
of the gst-launch-1.0 process and all its threads, from os.wait4(), so
process start, registry and plugin loading are in every run alike and the
subtraction takes them out:

  CPU ms per media second = (sink run - demux run of the same round) / media s
  segmenting share        = (sink run - mux run of the same round) / media s

the second being what each element costs beyond the stock mpegtsmux that
both use inside. Medians over rounds; the ratio is nagarehlssink/hlssink2.
(GST_TRACERS=cpuusage is not used: it samples, and misses the threads of
the sinks' internal elements.) The last round's output of the two sinks is
also checked for accuracy ("fixed GOP, no requests").

Accuracy, encoder in the loop. videotestsrc (--acc-size, 320x180) at
30000/1001 ! x264enc tune=zerolatency speed-preset=ultrafast (x264's own
key-int-max, 250 frames) ! h264parse, and audiotestsrc 48 kHz stereo !
lamemp3enc CBR 128k ! mpegaudioparse, --acc-minutes (20) of media, not
live, into each sink with send-keyframe-requests=true, for target 1 s and
2 s (hlssink2 takes whole seconds only). The playlists and segments are read
by tests/e2e/hlscheck.py (its check() and metrics; the ffmpeg part is off).
Per element it prints:

  segs        segments in the playlist
  TD          EXT-X-TARGETDURATION
  max EXTINF  and ">TD": EXTINFs that, rounded, exceed it (RFC 8216 4.3.3.1)
  shortest    the shortest EXTINF but the last (the last is cut by EOS)
  mean        the mean EXTINF but the last
  worst drift max over N of |sum EXTINF(1..N) - N x target|, the last
              segment left out (hlscheck's worst_drift_s)
  final drift sum EXTINF - N x target after the last full segment (signed)
  worst A/V   max over segments of |first video PTS - first audio PTS|; the
              first segment is left out (encoder delays; hlscheck's metric)
  EXTINF err  max |EXTINF - media span of the segment's PES timestamps|
  checker     hlscheck checks that failed (drift only counts as one where
              the encoder honours requests, so it is never listed here)

The run also records when a gst-launch-1.0 process wrote EXT-X-ENDLIST but
did not exit (it is killed after 10 s and the run still counts).

Run directly, from the source root after `ninja -C build`:
  GST_PLUGIN_PATH=build/plugins python3 bench/hlssink_bench.py
      [--rounds 7] [--cpu-minutes 10] [--acc-minutes 20] [--gop 60]
      [--acc-size 320x180] [--skip-cpu] [--skip-accuracy] [--workdir DIR]
or through meson: meson test -C build --benchmark -v hlssink
--workdir keeps the input and every output folder there (an input already
there with the same length and GOP is reused); without it a temporary
folder is used and removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import e2elib  # noqa: E402
import hlscheck  # noqa: E402  (the checker the e2e tests use)

NAGARE = "nagarehlssink"
PEER = "hlssink2"
SINKS = (NAGARE, PEER)
FPS = Fraction(30000, 1001)
RATE = 48000
SAMPLES_PER_BUFFER = 1024
VIDEO_PID, AUDIO_PID = 0x41, 0x42  # the input's PIDs, fixed so the demuxer's pads have known names
CPU_TARGET = 2
ACC_TARGETS = (1, 2)
EOS_GRACE = 10.0  # s a process may take to exit after writing EXT-X-ENDLIST


def log(text: str) -> None:
    print(text, flush=True)


def video_frames(seconds: float) -> int:
    return round(seconds * FPS)


def audio_buffers(seconds: float) -> int:
    return -(-round(seconds * RATE) // SAMPLES_PER_BUFFER)


def video_source(seconds: float, size: str, encoder: list[str]) -> list[str]:
    width, height = size.split("x")
    return ["videotestsrc", f"num-buffers={video_frames(seconds)}", "pattern=smpte",
            "horizontal-speed=4", "!",
            f"video/x-raw,format=I420,width={width},height={height},"
            f"framerate={FPS.numerator}/{FPS.denominator}", "!",
            "x264enc", "speed-preset=ultrafast", *encoder, "!", "h264parse"]


def audio_source(seconds: float) -> list[str]:
    return ["audiotestsrc", f"num-buffers={audio_buffers(seconds)}",
            f"samplesperbuffer={SAMPLES_PER_BUFFER}", "!",
            f"audio/x-raw,rate={RATE},channels=2", "!",
            "lamemp3enc", "target=bitrate", "bitrate=128", "cbr=true", "!", "mpegaudioparse"]


def sink(element: str, folder: str, target: int, requests: bool) -> list[str]:
    return [element, "name=s", f"target-duration={target}", "playlist-length=0", "max-files=0",
            f"location={os.path.join(folder, 'segment%05d.ts')}",
            f"playlist-location={os.path.join(folder, 'index.m3u8')}",
            f"send-keyframe-requests={'true' if requests else 'false'}"]


def demuxed(path: str, video_to: list[str], audio_to: list[str]) -> list[str]:
    return ["filesrc", f"location={path}", "!", "tsdemux", "name=d",
            f"d.video_0_{VIDEO_PID:04x}", "!", "queue", "!", "h264parse", "!",
            "video/x-h264,stream-format=byte-stream,alignment=au", "!", *video_to,
            f"d.audio_0_{AUDIO_PID:04x}", "!", "queue", "!", "mpegaudioparse", "!", *audio_to]


@dataclass
class Run:
    cpu: float       # user + system seconds of the process and its threads
    user: float
    system: float
    wall: float
    hung: bool       # wrote EXT-X-ENDLIST, then had to be killed


class PipelineFailed(RuntimeError):
    pass


def run(args: list[str], log_path: str, playlist: str | None = None, timeout: float = 900) -> Run:
    """Runs gst-launch-1.0 to its end; its CPU time comes from wait4()."""
    cmd = [shutil.which("gst-launch-1.0") or "gst-launch-1.0", "-q", *args]
    with open(log_path, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    hung = False
    endlist_at = None
    last_look = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now = time.monotonic()
        if playlist and now - last_look > 0.5:
            last_look = now
            if endlist_at is None and e2elib.has_endlist(playlist):
                endlist_at = now
        if endlist_at is not None and now - endlist_at > EOS_GRACE:
            hung = True
            os.kill(proc.pid, signal.SIGKILL)
        elif now - started > timeout:
            os.kill(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            raise PipelineFailed(f"timed out after {timeout:.0f} s: {' '.join(cmd)} (log {log_path})")
        time.sleep(0.05)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and not hung:
        with open(log_path, errors="replace") as f:
            tail = f.read()[-2000:]
        raise PipelineFailed(f"exit status {proc.returncode}: {' '.join(cmd)}\n{tail}")
    return Run(usage.ru_utime + usage.ru_stime, usage.ru_utime, usage.ru_stime, wall, hung)


def fresh(path: str) -> str:
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def median(values: list[float]) -> float:
    return statistics.median(values)


# ---------------------------------------------------------------- accuracy


@dataclass
class Accuracy:
    element: str
    segments: int = 0
    target_tag: int | None = None
    max_extinf: float = 0.0
    over_target: int = 0
    shortest: float | None = None
    mean: float | None = None
    worst_drift: float = 0.0
    final_drift: float = 0.0
    worst_av: float | None = None
    extinf_error: float | None = None
    failed: list[str] = field(default_factory=list)
    hung: bool = False


def measure(element: str, playlist: str, target: float, hung: bool) -> Accuracy:
    report = hlscheck.check(playlist, hlscheck.Options(target=float(target), ffmpeg=False))
    a = Accuracy(element, hung=hung)
    a.failed = [c for c in hlscheck.CHECKS if report.checks[c]]
    pl = report.playlist
    if pl is None or not pl.entries:
        return a
    durations = [e.duration for e in pl.entries]
    # The last segment is whatever EOS left over; the drift and runt
    # figures are about the segments the element chose to cut.
    full = durations[:-1] if pl.endlist and len(durations) > 1 else durations
    m = report.metrics
    a.segments = len(durations)
    a.target_tag = pl.target_duration
    a.max_extinf = max(durations)
    a.over_target = sum(int(d + 0.5) > pl.target_duration for d in durations)
    a.shortest = min(full)
    a.mean = statistics.fmean(full)
    a.worst_drift = m.get("worst_drift_s") or 0.0
    a.final_drift = sum(full) - len(full) * target
    a.worst_av = m.get("worst_av_misalignment_s")
    a.extinf_error = m.get("worst_extinf_error_s")
    return a


def ms(seconds: float | None, signed: bool = False) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:+.1f}" if signed else f"{seconds * 1000:.1f}"


def print_accuracy(title: str, rows: list[Accuracy]) -> None:
    log(f"\naccuracy: {title}")
    log(f"  {'element':<14}{'segs':>6}{'TD':>4}{'max EXTINF':>12}{'>TD':>5}{'shortest':>10}{'mean':>8}"
        f"{'worst drift':>13}{'final drift':>13}{'worst A/V':>11}{'EXTINF err':>12}  checker")
    for a in rows:
        failed = ",".join(a.failed) or "ok"
        if a.hung:
            failed += "; hung after ENDLIST"
        log(f"  {a.element:<14}{a.segments:>6}{a.target_tag or '-':>4}{a.max_extinf:>11.3f}s"
            f"{a.over_target:>5}{(a.shortest or 0):>9.3f}s{(a.mean or 0):>7.3f}s{ms(a.worst_drift):>10} ms"
            f"{ms(a.final_drift, True):>10} ms{ms(a.worst_av):>8} ms{ms(a.extinf_error):>9} ms  {failed}")


def accuracy_encoder(work: str, minutes: float, size: str) -> dict[str, list[Accuracy]]:
    seconds = minutes * 60
    results: dict[str, list[Accuracy]] = {}
    for target in ACC_TARGETS:
        rows = []
        for element in SINKS:
            folder = fresh(os.path.join(work, f"acc-{element}-t{target}"))
            playlist = os.path.join(folder, "index.m3u8")
            args = [*sink(element, folder, target, requests=True),
                    *video_source(seconds, size, ["tune=zerolatency", "bitrate=300"]), "!", "s.video",
                    *audio_source(seconds), "!", "s.audio"]
            r = run(args, os.path.join(work, f"acc-{element}-t{target}.log"), playlist)
            log(f"  ran {element} target {target} s: {r.wall:.1f} s wall"
                f"{' (hung after ENDLIST, killed)' if r.hung else ''}")
            rows.append(measure(element, playlist, target, r.hung))
        key = f"encoder, requests, target {target} s"
        results[key] = rows
        print_accuracy(f"{key}: x264enc tune=zerolatency {size}, {FPS.numerator}/{FPS.denominator} fps, "
                       f"lamemp3enc 48 kHz stereo 128k, {seconds:.0f} media s, key-unit requests on",
                       rows)
    return results


# ---------------------------------------------------------------- CPU


def make_input(work: str, minutes: float, gop: int) -> tuple[str, float]:
    seconds = minutes * 60
    path = os.path.join(work, f"input-{minutes:g}min-gop{gop}.ts")
    media = video_frames(seconds) / FPS
    if os.path.exists(path):
        log(f"input: reusing {path}")
        return path, float(media)
    encoder = ["bitrate=800", f"key-int-max={gop}", "option-string=scenecut=0"]
    args = ["mpegtsmux", "name=m", "!", "filesink", f"location={path}.part",
            *video_source(seconds, "640x360", encoder), "!", "queue", "!", f"m.sink_{VIDEO_PID}",
            *audio_source(seconds), "!", "queue", "!", f"m.sink_{AUDIO_PID}"]
    r = run(args, os.path.join(work, "input.log"))
    os.rename(f"{path}.part", path)
    log(f"input: {path}, {os.path.getsize(path) / 1e6:.1f} MB, {float(media):.1f} media s, "
        f"encoded in {r.wall:.1f} s")
    return path, float(media)


@dataclass
class CpuResult:
    media: float
    rounds: int
    runs: dict[str, list[Run]]

    def over(self, element: str, reference: str) -> list[float]:
        """Per-round CPU seconds of `element` beyond `reference`, per media second."""
        return [(e.cpu - r.cpu) / self.media for e, r in zip(self.runs[element], self.runs[reference])]


def cpu(work: str, path: str, media: float, rounds: int) -> CpuResult:
    def pipeline(kind: str, folder: str) -> list[str]:
        if kind == "demux":
            return demuxed(path, ["fakesink"], ["fakesink"])
        if kind == "mux":
            return ["mpegtsmux", "name=m", "!", "fakesink", *demuxed(path, ["m."], ["m."])]
        return [*sink(kind, folder, CPU_TARGET, requests=False), *demuxed(path, ["s.video"], ["s.audio"])]

    kinds = ["demux", "mux", PEER, NAGARE]
    runs: dict[str, list[Run]] = {k: [] for k in kinds}
    for round_no in range(rounds + 1):  # round 0 warms caches and is thrown away
        order = kinds[round_no % len(kinds):] + kinds[:round_no % len(kinds)]
        for kind in order:
            folder = fresh(os.path.join(work, f"cpu-{kind}"))
            playlist = os.path.join(folder, "index.m3u8") if kind in SINKS else None
            r = run(pipeline(kind, folder), os.path.join(work, f"cpu-{kind}.log"), playlist)
            if round_no:
                runs[kind].append(r)
        if round_no:
            log(f"  round {round_no}: " + ", ".join(f"{k} {runs[k][-1].cpu:.2f}" for k in kinds)
                + " CPU s")
    return CpuResult(media, rounds, runs)


def print_cpu(res: CpuResult) -> dict[str, float]:
    log(f"\ncpu: {res.media:.1f} media s, target-duration {CPU_TARGET}, medians of {res.rounds} rounds")
    for kind, runs in res.runs.items():
        log(f"  {kind:<14} process CPU {median([r.cpu for r in runs]):6.2f} s "
            f"(user {median([r.user for r in runs]):.2f}, sys {median([r.system for r in runs]):.2f}), "
            f"wall {median([r.wall for r in runs]):.2f} s"
            f"{'; hung after ENDLIST in %d' % sum(r.hung for r in runs) if any(r.hung for r in runs) else ''}")
    figures = {}
    for element in SINKS:
        total = [v * 1000 for v in res.over(element, "demux")]
        share = [v * 1000 for v in res.over(element, "mux")]
        figures[element] = median(total)
        figures[element + "/mux"] = median(share)
        log(f"  {element:<14} {median(total):.3f} CPU ms per media s over demux+parse "
            f"(rounds {min(total):.3f} to {max(total):.3f}); "
            f"beyond mpegtsmux alone {median(share):.3f} (rounds {min(share):.3f} to {max(share):.3f})")
    mux = [v * 1000 for v in res.over("mux", "demux")]
    log(f"  {'mpegtsmux':<14} {median(mux):.3f} CPU ms per media s over demux+parse (for scale)")
    return figures


# ---------------------------------------------------------------- main


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def print_summary(cpu_figures: dict[str, float] | None, acc: dict[str, list[Accuracy]]) -> None:
    log("\nsummary")
    if cpu_figures:
        n, p = cpu_figures[NAGARE], cpu_figures[PEER]
        log(f"  cpu ms per media s: {NAGARE} {n:.3f}, {PEER} {p:.3f}")
        log(f"  cpu ratio {NAGARE}/{PEER}: {ratio(n, p)} (medians; goal <= 1x)")
        n, p = cpu_figures[NAGARE + "/mux"], cpu_figures[PEER + "/mux"]
        log(f"  cpu ratio {NAGARE}/{PEER} beyond mpegtsmux: {ratio(n, p)} ({n:.3f} vs {p:.3f} ms per media s)")
    for key, rows in acc.items():
        by = {a.element: a for a in rows}
        n, p = by[NAGARE], by[PEER]
        log(f"  [{key}] worst drift {ms(n.worst_drift)} vs {ms(p.worst_drift)} ms, "
            f"final {ms(n.final_drift, True)} vs {ms(p.final_drift, True)} ms, "
            f"worst A/V {ms(n.worst_av)} vs {ms(p.worst_av)} ms, "
            f"mean EXTINF {n.mean or 0:.3f} vs {p.mean or 0:.3f} s, "
            f"TARGETDURATION {n.target_tag} vs {p.target_tag}, "
            f"EXTINF over TD {n.over_target} vs {p.over_target}, "
            f"segments {n.segments} vs {p.segments} ({NAGARE} vs {PEER})")
    hung = [f"{a.element} [{k}]" for k, rows in acc.items() for a in rows if a.hung]
    if hung:
        log(f"  hung after writing EXT-X-ENDLIST (killed): {', '.join(hung)}")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=7, help="CPU rounds (default 7)")
    p.add_argument("--cpu-minutes", type=float, default=10, help="media minutes of the CPU input")
    p.add_argument("--acc-minutes", type=float, default=20, help="media minutes with the encoder in the loop")
    p.add_argument("--gop", type=int, default=60, help="key-int-max of the CPU input, frames")
    p.add_argument("--acc-size", default="320x180", help="video size with the encoder in the loop")
    p.add_argument("--skip-cpu", action="store_true")
    p.add_argument("--skip-accuracy", action="store_true")
    p.add_argument("--workdir", help="keep the input and outputs here (default: a temporary folder)")
    a = p.parse_args(argv)

    for tool in ("gst-launch-1.0", "gst-inspect-1.0"):
        if shutil.which(tool) is None:
            log(f"hlssink-bench: {tool} is missing (gstreamer1.0-tools)")
            return 1
    for factory in (NAGARE, PEER, "x264enc", "lamemp3enc", "tsdemux", "mpegtsmux"):
        # This also builds the registry before anything is measured.
        if subprocess.run(["gst-inspect-1.0", factory], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            log(f"hlssink-bench: no element {factory} (is GST_PLUGIN_PATH the folder of libgstnagare.so?)")
            return 1

    if a.workdir:
        work = os.path.abspath(a.workdir)
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="nagare-hlssink-bench-")
    started = time.monotonic()
    try:
        cpu_figures = None
        acc: dict[str, list[Accuracy]] = {}
        if not a.skip_cpu:
            path, media = make_input(work, a.cpu_minutes, a.gop)
            res = cpu(work, path, media, a.rounds)
            cpu_figures = print_cpu(res)
            rows = []
            for element in SINKS:
                playlist = os.path.join(work, f"cpu-{element}", "index.m3u8")
                rows.append(measure(element, playlist, CPU_TARGET, res.runs[element][-1].hung))
            key = f"fixed GOP {a.gop}, no requests, target {CPU_TARGET} s"
            acc[key] = rows
            print_accuracy(f"{key}: the CPU input ({float(a.gop / FPS):.3f} s GOP), last round's output", rows)
        if not a.skip_accuracy:
            acc.update(accuracy_encoder(work, a.acc_minutes, a.acc_size))
        print_summary(cpu_figures, acc)
        log(f"\n(bench took {time.monotonic() - started:.0f} s)")
    except PipelineFailed as e:
        log(f"hlssink-bench: {e}")
        log(f"(files kept in {work})")
        return 1
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
