#!/usr/bin/env python3
"""The nagare launcher on the standard job: CPU against ffmpeg, memory and
capacity of one `nagare serve`.

The standard job: a publisher sends 720p30 H.264 (constrained baseline,
2.5 Mb/s, pt 96) and Opus (pt 111) over RTP, as `nagare publish-test`
does; the channel makes one 640x480@30 1 Mb/s rendition (x264 superfast,
zerolatency, a key frame every 30 frames) with MP3 64 kb/s, in 1 s HLS
segments, at 500 ms latency.

The publisher. Encoding 720p live costs most of a core, and on a 2-core
machine that would be taken from what is measured. So the publisher's
stream is encoded once, not live, with publish-test's settings into files
of RTP packets, and launcher_replay.py sends them in real time, looped
(see its header); that costs a few percent of a core per channel, and the
replayer is a separate process whose CPU is never counted.

1. CPU per media second. The same replayed stream goes, in real time, to
   (a) `nagare run CHANNEL.json --output DIR`, and
   (b) ffmpeg reading an SDP file that describes the two RTP streams
       (`-protocol_whitelist file,udp,rtp`), decoding, scaling to 640x480,
       encoding libx264 -preset superfast -tune zerolatency -b:v 1M with
       the GOP (-g 30) and VBV (-maxrate 1M -bufsize 1M, what x264enc's
       bitrate=1000 vbv-buf-capacity=1000 sets) of pipelines/cpu.pipeline,
       libmp3lame 64k at 48 kHz, into -f hls -hls_time 1.
   The scaling is the one nagare's pipeline does: videoscale keeps the
   picture's aspect (add-borders), so 1280x720 becomes 640x360 with black
   bars, and ffmpeg is asked for the same (scale to fit, bilinear as
   videoscale's default, pad). Each receiver's CPU (utime + stime of the
   process, all its threads, from /proc/PID/stat) is taken over a steady
   window: from --warmup s after its first segment for --seconds s, and
   divided by the media seconds of that window (the input is live, so
   media time is wall time). Runs alternate nagare, ffmpeg, nagare, ...
   for --rounds rounds; the medians and their ratio nagare/ffmpeg are
   printed (the goal is <= 0.9). Each run must produce segments: about
   one a second in the window, their EXTINFs adding up to the window's
   length, and the last full segment must hold H.264 640x480 and MP3
   48 kHz stereo (ffprobe); a run that does not is reported, and the
   bench exits 1.

2. and 3. One `nagare serve`, and channels added one by one through its
   API (CreateChannel, the standard job), each with its own replayer.
   After a channel's second segment, every channel is watched for --hold
   s (default 20): the playlists are polled every 0.1 s, and each
   channel's newest segment must appear no later than target + latency
   (1 s + 0.5 s) after the one before it (and none may be older than that
   at the end). VmRSS of the serve process is read after each hold. The
   bench stops at the first N that does not hold, or at --max-channels.
   Printed: RSS at 0 and at each N, the increment per channel, serve's
   CPU per channel, the worst segment gap, and the capacity, the largest
   N that held.

Run directly, from the source root after `ninja -C build`:
  GST_PLUGIN_PATH=build/plugins NAGARE_BIN=build/launcher/nagare \\
    python3 bench/launcher_bench.py [--seconds 40] [--rounds 3] [--warmup 5]
      [--max-channels 16] [--hold 20] [--skip-cpu] [--skip-serve] [--workdir DIR]
or through meson: meson test -C build --benchmark -v launcher
The environment variables NAGARE_BENCH_SECONDS, NAGARE_BENCH_ROUNDS,
NAGARE_BENCH_MAX_CHANNELS and NAGARE_BENCH_HOLD set the defaults of the
flags of the same names (for meson, where flags cannot be passed), e.g.
  NAGARE_BENCH_SECONDS=15 NAGARE_BENCH_ROUNDS=1 NAGARE_BENCH_MAX_CHANNELS=2 \\
    meson test -C build --benchmark -v launcher
Without NAGARE_BIN or GST_PLUGIN_PATH, build/launcher/nagare and
build/plugins are used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("NAGARE_BIN", os.path.join(ROOT, "build", "launcher", "nagare"))
os.environ.setdefault("GST_PLUGIN_PATH", os.path.join(ROOT, "build", "plugins"))
sys.path.insert(0, os.path.join(ROOT, "tests", "launcher"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import m3u8  # noqa: E402
import serve_lib  # noqa: E402  (starts `nagare serve`, reads NAGARE_BIN)
import launcher_replay  # noqa: E402

NAGARE = "nagare run"
PEER = "ffmpeg"
TARGET = 1.0      # segment duration, s
LATENCY = 0.5     # latency_ms / 1000
GAP_LIMIT = TARGET + LATENCY
POLL = 0.1        # s between looks at the playlists in the capacity test
RECORD_SECONDS = 20
CLK_TCK = os.sysconf("SC_CLK_TCK")

RENDITION = {"video": {"width": 640, "height": 480, "fps": 30, "bps": 1000000},
             "audio": {"bps": 64000, "codec": "mp3"}}
CHANNEL = {"hls": [RENDITION], "segment_duration": TARGET, "latency_ms": int(LATENCY * 1000),
           "playlist_length": 6, "idle_timeout": 15}


def log(text: str = "") -> None:
    print(text, flush=True)


class BenchFailed(RuntimeError):
    pass


def env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


# ---------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise BenchFailed(f"no VmRSS for {pid}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 15) -> tuple[int, bool]:
    """Signals the process and waits; (exit status, killed after timeout)."""
    if proc.poll() is not None:
        return proc.returncode, False
    proc.send_signal(sig)
    try:
        return proc.wait(timeout), False
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(), True


def free_udp_ports() -> tuple[int, int]:
    """(video, audio) ports with room for ffmpeg's RTCP at port + 1:
    four consecutive ports that bind now, starting at an even one."""
    for _ in range(200):
        base = random.randrange(40000, 60000, 4)
        socks = []
        try:
            for p in range(base, base + 4):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base, base + 2
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise BenchFailed("no free UDP ports")


def start_replayer(rec: str, video_port: int, audio_port: int, log_path: str) -> subprocess.Popen:
    out = open(log_path, "wb")
    return subprocess.Popen([sys.executable, os.path.join(HERE, "launcher_replay.py"), "replay", rec,
                             str(video_port), str(audio_port)],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def tail(path: str, chars: int = 1500) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-chars:]
    except OSError:
        return ""


# ---------------------------------------------------------------- playlists


def read_playlist(path: str) -> m3u8.Playlist | None:
    """The playlist, or None while it is missing or being replaced."""
    try:
        return m3u8.read(path, strict=False)
    except (OSError, ValueError):
        return None


def produced(pl: m3u8.Playlist | None) -> int:
    """Segments written so far: the sequence number after the newest."""
    if pl is None or not pl.entries:
        return 0
    return pl.entries[-1].seq + 1


@dataclass
class Watch:
    """Segments of one playlist as they appear: sequence number -> EXTINF."""
    path: str
    durations: dict[int, float] = field(default_factory=dict)
    newest: int = 0            # produced() at the last look
    changed_at: float = 0.0    # when produced() last grew
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds since the one before)

    def look(self) -> None:
        pl = read_playlist(self.path)
        if pl is None:
            return
        for e in pl.entries:
            self.durations[e.seq] = e.duration
        n = produced(pl)
        if n > self.newest:
            now = time.monotonic()
            if self.newest:
                self.gaps.append((now, now - self.changed_at))
            self.newest, self.changed_at = n, now

    def segments(self) -> int:
        return len(self.durations)


def probe(path: str) -> list[str]:
    """What is wrong with a segment of the standard job's rendition."""
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                           "stream=codec_type,codec_name,width,height,sample_rate,channels",
                           "-of", "json", path], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        return [f"ffprobe {os.path.basename(path)}: {done.stderr.strip()[-300:]}"]
    streams = json.loads(done.stdout).get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video"]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    problems = []
    if not (len(video) == 1 and video[0].get("codec_name") == "h264" and video[0].get("width") == 640
            and video[0].get("height") == 480):
        problems.append(f"{os.path.basename(path)}: video streams {video}, want one h264 640x480")
    if not (len(audio) == 1 and audio[0].get("codec_name") == "mp3" and audio[0].get("sample_rate") == "48000"
            and audio[0].get("channels") == 2):
        problems.append(f"{os.path.basename(path)}: audio streams {audio}, want one mp3 48000 Hz stereo")
    return problems


# ---------------------------------------------------------------- CPU


SDP = """v=0
o=- 0 0 IN IP4 127.0.0.1
s=nagare launcher bench
c=IN IP4 127.0.0.1
t=0 0
m=video {video_port} RTP/AVP 96
a=rtpmap:96 H264/90000
a=fmtp:96 packetization-mode=1
m=audio {audio_port} RTP/AVP 111
a=rtpmap:111 opus/48000/2
"""


def nagare_command(folder: str, video_port: int, audio_port: int) -> tuple[list[str], str]:
    channel = dict(CHANNEL, input={"rtp": {"video_port": video_port, "audio_port": audio_port,
                                           "video_payload_type": 96, "audio_payload_type": 111,
                                           "bind": "127.0.0.1"}})
    path = os.path.join(folder, "channel.json")
    with open(path, "w") as f:
        json.dump(channel, f)
    out = os.path.join(folder, "out")
    # NAGARE_BENCH_PIPELINE: a description of your own (--pipeline), to
    # compare variants against the same ffmpeg.
    own = os.environ.get("NAGARE_BENCH_PIPELINE")
    return ([serve_lib.NAGARE, "run", path, "--output", out, *(["--pipeline", own] if own else [])],
            os.path.join(out, "0", "index.m3u8"))


def ffmpeg_command(folder: str, video_port: int, audio_port: int) -> tuple[list[str], str]:
    sdp = os.path.join(folder, "input.sdp")
    with open(sdp, "w") as f:
        f.write(SDP.format(video_port=video_port, audio_port=audio_port))
    out = os.path.join(folder, "out")
    os.makedirs(out)
    fit = ("scale=640:480:force_original_aspect_ratio=decrease:flags=bilinear,"
           "pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1")
    return (["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
             "-protocol_whitelist", "file,udp,rtp", "-i", sdp,
             "-map", "0:v:0", "-map", "0:a:0", "-vf", fit,
             "-c:v", "libx264", "-preset", "superfast", "-tune", "zerolatency",
             "-b:v", "1M", "-maxrate", "1M", "-bufsize", "1M", "-g", "30", "-pix_fmt", "yuv420p",
             "-c:a", "libmp3lame", "-b:a", "64k", "-ar", "48000", "-ac", "2",
             "-f", "hls", "-hls_time", str(int(TARGET)), "-hls_list_size", "6",
             "-hls_flags", "delete_segments",
             "-hls_segment_filename", os.path.join(out, "seg%05d.ts"), os.path.join(out, "index.m3u8")],
            os.path.join(out, "index.m3u8"))


@dataclass
class CpuRun:
    kind: str
    cpu: float          # CPU seconds in the window
    window: float       # wall (= media) seconds of the window
    segments: int       # segments that appeared in the window
    media_out: float    # their EXTINFs added up
    exit_status: int
    problems: list[str]

    @property
    def per_media_s(self) -> float:
        return self.cpu / self.window


def cpu_run(kind: str, work: str, rec: str, seconds: float, warmup: float, index: int) -> CpuRun:
    folder = os.path.join(work, f"cpu-{index:02d}-{kind.split()[0]}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    video_port, audio_port = free_udp_ports()
    make = nagare_command if kind == NAGARE else ffmpeg_command
    cmd, playlist = make(folder, video_port, audio_port)
    receiver_log = os.path.join(folder, "receiver.log")
    with open(receiver_log, "wb") as out:
        receiver = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    replayer = None
    problems: list[str] = []
    try:
        time.sleep(1.0)  # both bind their ports well within this
        if receiver.poll() is not None:
            raise BenchFailed(f"{kind} exited at once ({receiver.returncode}): {tail(receiver_log)}")
        replayer = start_replayer(rec, video_port, audio_port, os.path.join(folder, "replayer.log"))
        watch = Watch(playlist)
        deadline = time.monotonic() + 30
        while watch.newest == 0:
            if time.monotonic() > deadline or receiver.poll() is not None:
                raise BenchFailed(f"{kind}: no segment within 30 s of the first packet "
                                  f"(exit {receiver.poll()}): {tail(receiver_log)}")
            time.sleep(0.1)
            watch.look()
        time.sleep(warmup)
        watch.look()
        first_seq = watch.newest
        cpu0, t0 = cpu_seconds(receiver.pid), time.monotonic()
        while time.monotonic() < t0 + seconds:
            time.sleep(min(0.5, max(0.0, t0 + seconds - time.monotonic())))
            watch.look()
            if receiver.poll() is not None:
                raise BenchFailed(f"{kind} exited during the run ({receiver.returncode}): {tail(receiver_log)}")
        cpu1, t1 = cpu_seconds(receiver.pid), time.monotonic()
        watch.look()
        last_seq = watch.newest
        # Stopped while packets still come: ffmpeg's RTP input does not
        # notice a signal while it waits for a packet that never comes.
        status, killed = stop(receiver)
        if killed:
            problems.append("did not exit within 15 s of SIGINT (killed)")
        elif kind == NAGARE and status != 0:
            problems.append(f"exit status {status} after SIGINT, want 0")
    finally:
        if receiver.poll() is None:
            stop(receiver, signal.SIGKILL)
        if replayer is not None:
            stop(replayer, signal.SIGTERM)

    window = t1 - t0
    new = [watch.durations[s] for s in range(first_seq, last_seq) if s in watch.durations]
    media_out = sum(new)
    if len(new) < 0.8 * window / TARGET:
        problems.append(f"{len(new)} segments in a {window:.1f} s window, want about {window / TARGET:.0f}")
    if not 0.8 * window <= media_out <= 1.2 * window:
        problems.append(f"segments of the window hold {media_out:.1f} s of media in {window:.1f} s")
    final = read_playlist(playlist)
    if final is None or len(final.entries) < 2:
        problems.append("no final playlist with two segments or more")
    else:
        if kind == NAGARE and not final.endlist:
            problems.append("no EXT-X-ENDLIST after SIGINT")
        # The very last segment is what the stop cut short; the one before
        # it is a whole one.
        problems += probe(os.path.join(os.path.dirname(playlist), final.entries[-2].uri))
    return CpuRun(kind, cpu1 - cpu0, window, len(new), media_out, status, problems)


def cpu_bench(work: str, rec: str, seconds: float, warmup: float, rounds: int) -> dict[str, list[CpuRun]]:
    runs: dict[str, list[CpuRun]] = {NAGARE: [], PEER: []}
    index = 0
    for round_no in range(1, rounds + 1):
        for kind in (NAGARE, PEER):
            index += 1
            r = cpu_run(kind, work, rec, seconds, warmup, index)
            runs[kind].append(r)
            log(f"  round {round_no} {kind:<10} {r.per_media_s * 1000:7.1f} CPU ms per media s "
                f"({r.cpu:.2f} CPU s in {r.window:.1f} s; {r.segments} segments, {r.media_out:.1f} s of media)"
                + (f"  PROBLEMS: {'; '.join(r.problems)}" if r.problems else ""))
    return runs


# ---------------------------------------------------------------- serve: RSS and capacity


@dataclass
class Step:
    channels: int
    rss: int                  # serve's VmRSS after the hold
    cpu_per_channel: float    # serve's CPU s per wall s in the hold, over channels
    worst_gap: float          # the longest wait for a new segment in the hold, any channel
    worst_channel: int        # which (1-based)
    held: bool
    why: str = ""
    startup_gap: float = 0.0  # the longest wait of the channels already there while this one started


def serve_bench(work: str, rec: str, max_channels: int, hold: float) -> tuple[int, list[Step]]:
    lo = random.randrange(30000, 39000, 2)
    hi = lo + 4 * max_channels + 16
    server = serve_lib.Server(args=["--rtp-ports", f"{lo}-{hi}", "--rtp-bind", "127.0.0.1"],
                              data_dir=os.path.join(work, "serve"))
    os.makedirs(server.data_dir, exist_ok=True)
    server.start()
    pid = server.proc.pid
    replayers: list[subprocess.Popen] = []
    watches: list[Watch] = []
    ids: list[str] = []
    steps = [Step(0, 0, 0.0, 0.0, 0, True)]
    capacity = 0
    try:
        time.sleep(1.0)
        steps[0].rss = rss_bytes(pid)
        log(f"  0 channels: serve RSS {steps[0].rss / 2**20:.1f} MiB")

        def look_all() -> None:
            for w in watches:
                w.look()

        for n in range(1, max_channels + 1):
            before = [len(w.gaps) for w in watches]
            ch = server.create(dict(CHANNEL))
            ids.append(ch["channel_id"])
            replayers.append(start_replayer(rec, ch["rtp"]["video_port"], ch["rtp"]["audio_port"],
                                            os.path.join(work, f"replayer-{n}.log")))
            watches.append(Watch(os.path.join(server.channel_dir(ch), "0", "index.m3u8")))
            deadline = time.monotonic() + 30
            while watches[-1].newest < 2:
                if time.monotonic() > deadline:
                    break
                if server.proc.poll() is not None:
                    raise BenchFailed(f"nagare serve exited ({server.proc.returncode}): {server.log()[-1500:]}")
                time.sleep(POLL)
                look_all()
            startup = max((g for w, b in zip(watches, before) for _, g in w.gaps[b:]), default=0.0)
            if watches[-1].newest < 2:
                steps.append(Step(n, rss_bytes(pid), 0.0, 0.0, n, False,
                                  f"channel {n} made {watches[-1].newest} segments in 30 s", startup))
                break
            t0, cpu0 = time.monotonic(), cpu_seconds(pid)
            while time.monotonic() < t0 + hold:
                time.sleep(POLL)
                look_all()
                if server.proc.poll() is not None:
                    raise BenchFailed(f"nagare serve exited ({server.proc.returncode}): {server.log()[-1500:]}")
            t1, cpu1 = time.monotonic(), cpu_seconds(pid)
            worst, worst_at = 0.0, 0
            for i, w in enumerate(watches):
                # A stall that has not ended by the end of the hold counts
                # as the wait so far.
                waits = [g for at, g in w.gaps if at >= t0] + [t1 - w.changed_at]
                if max(waits) > worst:
                    worst, worst_at = max(waits), i + 1
            held = worst <= GAP_LIMIT
            states = []
            for cid in ids:
                r = serve_lib.request(f"{server.url}/api/channels/{cid}")
                states.append(r.json().get("state", "?") if r.status == 200 else f"HTTP {r.status}")
            not_live = [f"{i + 1}:{s}" for i, s in enumerate(states) if s != "live"]
            why = "" if held else f"channel {worst_at} waited {worst:.2f} s for a segment"
            if not_live:
                held = False
                why = "; ".join(x for x in (why, f"not live: {', '.join(not_live)}") if x)
            step = Step(n, rss_bytes(pid), (cpu1 - cpu0) / (t1 - t0) / n, worst, worst_at, held, why, startup)
            steps.append(step)
            log(f"  {n} channel{'s' if n > 1 else ' '}: serve RSS {step.rss / 2**20:.1f} MiB, "
                f"serve CPU {step.cpu_per_channel * 100:.1f}% of a core per channel, "
                f"worst segment gap {worst:.2f} s (channel {worst_at}; limit {GAP_LIMIT:.1f} s), "
                f"while starting {startup:.2f} s: {'held' if held else 'FAILED: ' + why}")
            if not held:
                break
            capacity = n
    finally:
        for p in replayers:
            stop(p, signal.SIGTERM)
        status = server.stop()
        if status != 0:
            log(f"  nagare serve exited {status} after SIGTERM (want 0); log: {server.log()[-1500:]}")
    return capacity, steps


# ---------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=env_number("NAGARE_BENCH_SECONDS", 40),
                   help="measured seconds per CPU run (NAGARE_BENCH_SECONDS, default 40)")
    p.add_argument("--rounds", type=int, default=int(env_number("NAGARE_BENCH_ROUNDS", 3)),
                   help="CPU rounds, each runs nagare and ffmpeg once (NAGARE_BENCH_ROUNDS, default 3)")
    p.add_argument("--warmup", type=float, default=5, help="s after the first segment before measuring")
    p.add_argument("--max-channels", type=int, default=int(env_number("NAGARE_BENCH_MAX_CHANNELS", 16)),
                   help="stop adding channels here (NAGARE_BENCH_MAX_CHANNELS, default 16)")
    p.add_argument("--hold", type=float, default=env_number("NAGARE_BENCH_HOLD", 20),
                   help="s every channel must keep up after one is added (NAGARE_BENCH_HOLD, default 20)")
    p.add_argument("--skip-cpu", action="store_true")
    p.add_argument("--skip-serve", action="store_true")
    p.add_argument("--workdir", help="keep the recorded input and the outputs here (default: a temporary folder)")
    a = p.parse_args(argv)

    for tool in ("gst-launch-1.0", "ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            log(f"launcher-bench: {tool} is missing")
            return 1
    if not os.access(serve_lib.NAGARE, os.X_OK):
        log(f"launcher-bench: no nagare binary at {serve_lib.NAGARE} (NAGARE_BIN)")
        return 1

    if a.workdir:
        work = os.path.abspath(a.workdir)
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="nagare-launcher-bench-")
    started = time.monotonic()
    failed = []
    try:
        rec = os.path.join(work, f"publisher-{RECORD_SECONDS}s")
        launcher_replay.record(rec, RECORD_SECONDS)
        vs, vbps = launcher_replay.stream_bitrate(os.path.join(rec, launcher_replay.VIDEO_FILE), 90000)
        _, abps = launcher_replay.stream_bitrate(os.path.join(rec, launcher_replay.AUDIO_FILE), 48000)
        log(f"input: publish-test's stream, {vs:.1f} s looped: H.264 720p30 {vbps / 1000:.0f} kb/s, "
            f"Opus {abps / 1000:.0f} kb/s (RTP bytes)")
        log(f"job: 640x480@30 1 Mb/s x264 superfast zerolatency GOP 30 + MP3 64 kb/s, "
            f"{TARGET:g} s segments, latency {LATENCY * 1000:.0f} ms")

        runs = None
        if not a.skip_cpu:
            log(f"\ncpu: {a.rounds} rounds, {a.seconds:g} s measured per run after {a.warmup:g} s of warm-up")
            runs = cpu_bench(work, rec, a.seconds, a.warmup, a.rounds)
            for kind, rs in runs.items():
                for i, r in enumerate(rs):
                    failed += [f"cpu {kind} run {i + 1}: {x}" for x in r.problems]
        capacity, steps = None, []
        if not a.skip_serve:
            log(f"\nserve: channels added one by one, each held {a.hold:g} s, up to {a.max_channels}")
            capacity, steps = serve_bench(work, rec, a.max_channels, a.hold)

        log("\nsummary")
        if runs:
            med = {k: statistics.median(r.per_media_s for r in rs) * 1000 for k, rs in runs.items()}
            log(f"  {'CPU ms per media s':<24}{'median':>8}{'min':>8}{'max':>8}  runs")
            for kind, rs in runs.items():
                vals = [r.per_media_s * 1000 for r in rs]
                log(f"  {kind:<24}{med[kind]:8.1f}{min(vals):8.1f}{max(vals):8.1f}  {len(vals)}")
            ratio = med[NAGARE] / med[PEER] if med[PEER] else float("nan")
            log(f"  ratio nagare/ffmpeg: {ratio:.2f} (medians; goal <= 0.90)")
        if steps:
            rss0 = steps[0].rss
            last = [s for s in steps if s.held][-1]
            log(f"  {'channels':<10}{'RSS MiB':>9}{'+MiB':>7}{'CPU %/ch':>10}{'worst gap':>11}  held")
            for prev, s in zip([None, *steps], steps):
                inc = (s.rss - prev.rss) / 2**20 if prev else 0.0
                log(f"  {s.channels:<10}{s.rss / 2**20:9.1f}{inc:7.1f}{s.cpu_per_channel * 100:10.1f}"
                    f"{s.worst_gap:10.2f}s  {'yes' if s.held else 'no: ' + s.why}")
            if last.channels:
                # The first channel also loads the codecs' libraries and
                # plugins into serve; the ones after it show what a
                # channel itself costs.
                first = steps[1].rss - rss0
                further = ((last.rss - steps[1].rss) / (last.channels - 1) / 2**20
                           if last.channels > 1 else None)
                log(f"  RSS: {rss0 / 2**20:.1f} MiB at 0 channels, {last.rss / 2**20:.1f} MiB at {last.channels}; "
                    f"{(last.rss - rss0) / last.channels / 2**20:.1f} MiB per channel on average, "
                    f"the first +{first / 2**20:.1f} MiB"
                    + (f", each further +{further:.1f} MiB" if further is not None else ""))
            more = "" if steps[-1].held is False else f" (the most tried: --max-channels {a.max_channels})"
            log(f"  capacity: {capacity} channel{'s' if capacity != 1 else ''} held {a.hold:g} s with every "
                f"segment within {GAP_LIMIT:.1f} s of the one before{more}")
        if failed:
            log("  runs that did not do the job:")
            for f in failed:
                log(f"    {f}")
        log(f"\n(bench took {time.monotonic() - started:.0f} s)")
    except RuntimeError as e:  # BenchFailed, and serve_lib's (a refused CreateChannel)
        log(f"launcher-bench: {e}")
        log(f"(files kept in {work})")
        return 1
    if failed:
        log(f"(files kept in {work})")
        return 1
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
