"""What the launcher tests share: a real `nagare serve` process on a free
port, HTTP requests to it, real RTP publishers (gst-launch-1.0, ffmpeg), and
a WebSocket client for Sora signaling.

The nagare binary comes from NAGARE_BIN (meson passes it); TAP output and
m3u8 parsing come from tests/e2e.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

from e2elib import Tap  # noqa: E402,F401  (re-exported for the tests)
import m3u8  # noqa: E402,F401

NAGARE = os.environ.get("NAGARE_BIN", "nagare")
CREATE = "ImageFlux_20180905.CreateChannel"
DELETE = "ImageFlux_20180905.DeleteChannel"
LIST = "ImageFlux_20180905.ListChannels"


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def request(url: str, method: str = "GET", body: bytes | str | dict | None = None,
            headers: dict | None = None, timeout: float = 10) -> Response:
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


@dataclass
class Server:
    """`nagare serve` on 127.0.0.1 with a port of its choosing."""
    args: list[str] = field(default_factory=list)
    data_dir: str = ""
    url: str = ""
    proc: subprocess.Popen | None = None
    log_path: str = ""

    def start(self, timeout: float = 10) -> "Server":
        if not self.data_dir:
            self.data_dir = tempfile.mkdtemp(prefix="nagare-serve-")
        self.log_path = os.path.join(self.data_dir, "serve.log")
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [NAGARE, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir, *self.args],
            stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on (http://\S+)", line or "")
            if m:
                self.url = m.group(1)
                return self
            if self.proc.poll() is not None:
                break
        raise RuntimeError(f"nagare serve did not start: {self.log()}")

    def log(self) -> str:
        try:
            return open(self.log_path).read()
        except OSError:
            return ""

    def call(self, target: str, body=None, token: str | None = None) -> Response:
        """The original service's style: POST / with X-Sora-Target."""
        headers = {"X-Sora-Target": target, "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return request(self.url + "/", "POST", body if body is not None else {}, headers)

    def create(self, body: dict, token: str | None = None) -> dict:
        r = self.call(CREATE, body, token)
        if r.status != 200:
            raise RuntimeError(f"CreateChannel: {r.status} {r.body!r}")
        return r.json()

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, as an operator would; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9

    def channel_dir(self, channel: dict) -> str:
        """Where the channel's files are: DATA/channels/<playback_id>."""
        playback_id = channel["playlist_url"].split("/hls/")[1].split("/")[0]
        return os.path.join(self.data_dir, "channels", playback_id)


def gst_publisher(video_port: int, audio_port: int, seconds: float = 0, width: int = 1280, height: int = 720,
                  fps: int = 30, kbps: int = 2500, host: str = "127.0.0.1",
                  impair: str = "") -> subprocess.Popen:
    """What a browser sends: H.264 constrained baseline in RTP (pt 96) and
    Opus in RTP (pt 111), live. `impair` is an element description (netsim
    ...) put before each udpsink."""
    impair = f"! {impair} " if impair else ""
    buffers = f" num-buffers={int(seconds * fps)}" if seconds else ""
    abuffers = f" num-buffers={int(seconds * 50)}" if seconds else ""
    desc = (f"videotestsrc is-live=true pattern=smpte{buffers} "
            f"! video/x-raw,width={width},height={height},framerate={fps}/1 ! timeoverlay "
            f"! x264enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} key-int-max={fps * 2} "
            f"! video/x-h264,profile=constrained-baseline "
            f"! rtph264pay pt=96 mtu=1200 aggregate-mode=zero-latency config-interval=-1 "
            f"{impair}! udpsink host={host} port={video_port} "
            f"audiotestsrc is-live=true wave=ticks samplesperbuffer=960{abuffers} "
            f"! audio/x-raw,rate=48000,channels=2 ! opusenc bitrate=64000 "
            f"! rtpopuspay pt=111 {impair}! udpsink host={host} port={audio_port}")
    return subprocess.Popen(["gst-launch-1.0", "-q", *desc.split()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(predicate, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class WebSocket:
    """Just enough of RFC 6455 for a signaling client: text frames out
    (masked), text and close frames in."""

    def __init__(self, url: str, timeout: float = 10):
        m = re.match(r"ws://([^:/]+):(\d+)(/.*)", url)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {m.group(3)} HTTP/1.1\r\nHost: {m.group(1)}:{m.group(2)}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def send_text(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_json(self, message: dict) -> None:
        self.send_text(json.dumps(message))

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def receive(self):
        """('text', str) or ('close', (code, reason)); pings are answered."""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b0 & 0x0F
            if opcode == 1:
                return "text", payload.decode()
            if opcode == 8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                return "close", (code, payload[2:].decode(errors="replace"))
            if opcode == 9:  # ping → pong
                mask = os.urandom(4)
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask +
                                  bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def until_close(self, timeout: float = 10):
        self.sock.settimeout(timeout)
        messages = []
        try:
            while True:
                kind, value = self.receive()
                if kind == "close":
                    return value, messages
                messages.append(json.loads(value))
        except (socket.timeout, ConnectionError) as e:
            return (None, str(e)), messages

    def close(self) -> None:
        self.sock.close()
