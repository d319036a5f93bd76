"""What the e2e drivers share: synthetic media, pipelines, running them, TAP.

Environment (all optional):
  NAGARE_E2E_SINK      the element under test (default nagarehlssink); set it
                       to hlssink2 to see what the stock element does
  NAGARE_E2E_SECONDS   media seconds of the long variants (default 7200)
  NAGARE_E2E_KEEP      1: keep every output folder (failed ones are kept anyway)
  NAGARE_E2E_TMPDIR    where output folders go (default: /dev/shm when it has
                       2 GiB free, else the system's temp dir)
"""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction

SINK = os.environ.get("NAGARE_E2E_SINK", "nagarehlssink")
STOCK = SINK != "nagarehlssink"     # hlssink2 has fewer properties
LONG_SECONDS = float(os.environ.get("NAGARE_E2E_SECONDS", "7200"))
KEEP = os.environ.get("NAGARE_E2E_KEEP") == "1"

AUDIO_FRAME_SAMPLES = {"mp3": 1152, "aac": 1024}


@dataclass
class Media:
    """Synthetic media, pushed as fast as the encoders go (not live)."""
    seconds: float
    video: bool = True
    audio: str | None = "mp3"          # "mp3", "aac" or None
    rate: int = 48000
    fps: Fraction = Fraction(30000, 1001)
    size: int = 64
    key_int_max: int = 0               # 0: x264's default; IDRs come where asked
    jump_markers: bool = False         # identity jumpv/jumpa for e2e-jump-launch
    video_kbps: int = 64

    @property
    def video_frames(self) -> int:
        return round(self.seconds * self.fps)

    @property
    def audio_frames(self) -> int:
        return round(self.seconds * self.rate / AUDIO_FRAME_SAMPLES[self.audio])

    @property
    def audio_frame_seconds(self) -> float | None:
        return AUDIO_FRAME_SAMPLES[self.audio] / self.rate if self.audio else None

    def duration(self) -> float:
        """What the playlist's EXTINFs should add up to."""
        if self.audio:
            return self.audio_frames * AUDIO_FRAME_SAMPLES[self.audio] / self.rate
        return self.video_frames / self.fps

    def video_source(self, marker: str = "") -> str:
        """Raw video, `marker` (an element after the raw caps), x264enc."""
        key = f" key-int-max={self.key_int_max}" if self.key_int_max else ""
        return (f"videotestsrc num-buffers={self.video_frames} pattern=ball "
                f"! video/x-raw,format=I420,width={self.size},height={self.size},"
                f"framerate={self.fps.numerator}/{self.fps.denominator}{marker} "
                f"! x264enc speed-preset=ultrafast tune=zerolatency bitrate={self.video_kbps}{key} "
                f"! h264parse")

    def audio_source(self, marker: str = "") -> str:
        spf = AUDIO_FRAME_SAMPLES[self.audio]
        src = (f"audiotestsrc wave=ticks num-buffers={self.audio_frames} samplesperbuffer={spf} "
               f"! audio/x-raw,rate={self.rate},channels=1{marker}")
        if self.audio == "mp3":
            return src + " ! lamemp3enc bitrate=32 encoding-engine-quality=fast ! mpegaudioparse"
        return src + " ! voaacenc bitrate=32000 ! aacparse"

    def branches(self, sink: str = "s") -> str:
        """Both branches into the sink's request pads. With jump_markers,
        identity jumpv/jumpa before the encoders and flagv/flaga after the
        parsers, for e2e-jump-launch."""
        parts = []
        mark = self.jump_markers
        if self.video:
            parts.append(f"{self.video_source(' ! identity name=jumpv' if mark else '')}"
                         f"{' ! identity name=flagv' if mark else ''} ! {sink}.video")
        if self.audio:
            parts.append(f"{self.audio_source(' ! identity name=jumpa' if mark else '')}"
                         f"{' ! identity name=flaga' if mark else ''} ! {sink}.audio")
        return "  ".join(parts)


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sink_description(folder: str, target: float, playlist_length: int = 0, max_files: int = 0,
                     pdt: bool | None = None, requests: bool | None = None,
                     playlist: str = "index.m3u8", name: str = "s",
                     segment_folder: str | None = None) -> str:
    seg = os.path.join(segment_folder or folder, "seg%05d.ts")
    props = [f"location={quote(seg)}",
             f"playlist-location={quote(os.path.join(folder, playlist))}",
             f"playlist-length={playlist_length}", f"max-files={max_files}"]
    if STOCK:
        # hlssink2: whole seconds only, no program-date-time.
        props.append(f"target-duration={max(1, round(target))}")
    else:
        props.append(f"target-duration={target}")
        if pdt is not None:
            props.append(f"program-date-time={'true' if pdt else 'false'}")
    if requests is not None:
        props.append(f"send-keyframe-requests={'true' if requests else 'false'}")
    return f"{SINK} name={name} " + " ".join(props)


@dataclass
class Run:
    rc: int | None = None
    output: str = ""
    started: float = 0.0              # wall clock just before the process started
    first_file: float | None = None   # wall clock when the first segment or playlist appeared
    seconds: float = 0.0
    timed_out: bool = False
    hung_after_eos: bool = False

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out and not self.hung_after_eos

    def why(self) -> list[str]:
        lines = []
        if self.timed_out:
            lines.append(f"timed out after {self.seconds:.0f} s")
        if self.hung_after_eos:
            lines.append("EXT-X-ENDLIST was written but the process did not exit; killed")
        if self.rc not in (0, None):
            lines.append(f"exit status {self.rc}")
        errors = [line for line in self.output.splitlines()
                  if "ERROR" in line or "WARNING" in line or "CRITICAL" in line]
        return lines + errors[:8]


def run_pipeline(cmd: list[str], watch_folder: str, playlist: str | None = None,
                 timeout: float = 600, eos_grace: float = 20, preexec=None,
                 env: dict | None = None) -> Run:
    """Runs a pipeline process to its end, watching its output folder."""
    r = Run(started=time.time())
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=preexec, env=env)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(proc.stdout.readline, b"")),
                              daemon=True)
    reader.start()
    endlist_at = None
    last_look = 0.0
    while proc.poll() is None:
        now = time.time()
        if r.first_file is None:
            try:
                if any(n.endswith((".ts", ".m3u8")) for n in os.listdir(watch_folder)):
                    r.first_file = now
            except OSError:
                pass
        if now - r.started > timeout:
            r.timed_out = True
            break
        if playlist and now - last_look > 0.5:
            last_look = now
            if endlist_at is None and has_endlist(playlist):
                endlist_at = now
            if endlist_at is not None and now - endlist_at > eos_grace:
                r.hung_after_eos = True
                break
        time.sleep(0.002 if r.first_file is None else 0.05)
    if proc.poll() is None:
        proc.kill()
    r.rc = proc.wait()
    reader.join(timeout=5)
    r.seconds = time.time() - r.started
    r.output = b"".join(chunks).decode("utf-8", "replace")
    return r


def has_endlist(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64))
            return b"#EXT-X-ENDLIST" in f.read()
    except OSError:
        return False


def gst_launch(description: str) -> list[str]:
    # gst-launch-1.0 escapes the spaces inside each argument, so the
    # description goes in as its tokens, quotes removed.
    return ["gst-launch-1.0", "-e"] + shlex.split(description)


class CpuClock:
    """CPU seconds of this process and of its finished children, by lap."""

    def __init__(self) -> None:
        self._last = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime

    def lap(self) -> tuple[float, float]:
        """(this process, children) since the last lap."""
        now = self._now()
        lap = (now[0] - self._last[0], now[1] - self._last[1])
        self._last = now
        return lap


class Tap:
    """TAP 13 for meson: one line per check, the plan at the end."""

    def __init__(self) -> None:
        self.count = 0
        self.failed = 0
        print("TAP version 13", flush=True)

    def result(self, name: str, ok: bool, details: list[str] | tuple = (),
               skip: str | None = None) -> bool:
        self.count += 1
        if not ok:
            self.failed += 1
        directive = f" # SKIP {skip}" if skip and ok else ""
        print(f"{'ok' if ok else 'not ok'} {self.count} - {name}{directive}", flush=True)
        for line in details:
            for part in str(line).splitlines():
                print(f"# {part}", flush=True)
        return ok

    def check(self, ok, name: str, detail: str = "") -> bool:
        """result() for a truthy `ok`, with `detail` printed when it fails."""
        return self.result(name, bool(ok), [detail] if detail and not ok else [])

    def diag(self, text: str) -> None:
        for part in text.splitlines():
            print(f"# {part}", flush=True)

    def finish(self) -> int:
        print(f"1..{self.count}", flush=True)
        return 1 if self.failed else 0


@dataclass
class Workdir:
    """An output folder, removed at the end unless something failed."""
    name: str
    path: str = ""
    failed: bool = False
    extra: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        base = os.environ.get("NAGARE_E2E_TMPDIR") or _memory_folder()
        if base:
            os.makedirs(base, exist_ok=True)
        self.path = tempfile.mkdtemp(prefix=f"nagare-e2e-{self.name}-", dir=base)

    def sub(self, *parts: str) -> str:
        p = os.path.join(self.path, *parts)
        os.makedirs(p, exist_ok=True)
        return p

    def close(self, tap: Tap) -> None:
        if self.failed or KEEP:
            tap.diag(f"output kept in {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def _memory_folder() -> str | None:
    """/dev/shm when it has room: the element fsyncs every segment and every
    playlist version (14,000 of each in a two-hour case at 1 s), which a
    loaded disk turns into minutes; what is tested is the same on tmpfs."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return None
    if st.f_bavail * st.f_frsize < 2 << 30 or not os.access("/dev/shm", os.W_OK):
        return None
    return "/dev/shm"


def free_udp_ports(count: int) -> list[int]:
    """Ports the kernel hands out now; all held at once so they differ."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tool_missing(*names: str) -> str | None:
    for n in names:
        if shutil.which(n) is None:
            return n
    return None


def element_missing(*factories: str) -> str | None:
    for f in factories:
        p = subprocess.run(["gst-inspect-1.0", f], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if p.returncode != 0:
            return f
    return None


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
