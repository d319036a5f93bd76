#!/usr/bin/env python3
"""API parity with the original service, end to end: every CreateChannel
field's effect seen with real processes. One `nagare serve` (with
--serve-keys, an archive destination, a 2 s webhook timeout and a queue of
20), real RTP publishers (gst-launch-1.0) and WebRTC ones (publish-test
--whip, a Sora WebSocket), and a real HTTP server started here that plays
every receiver the fields name: the event webhook (well, failing at first,
hanging), the auth webhook (allowing, denying, hanging) and the customer's
key server, which serves the keys the event webhook delivered.

 1-5   targets (both CreateChannel names; any other is a 400 naming it),
       unknown fields, `environment`, unknown archive destinations
 6-17  an encrypted, archived channel with two renditions
       (durationSeconds 1 and 2, startTimeOffset on one, a new key every 3
       segments): EXT-X-START; each rendition's target; key.created events
       arriving before any playlist names their key; openssl decrypting a
       segment with the delivered key and IV; ffmpeg reading every segment
       through the key server; the events in order with their payloads; the
       archive: VOD playlists ffmpeg reads end to end, and an MP4 whose
       duration matches the broadcast within one segment
 18-20 keys nagare serves itself ("encrypt": true)
 21-26 the auth webhook: a denied WHIP publish (403 with the reason) and
       Sora connect (4403), the request's fields; an allowed one publishing,
       with publisher.connected/disconnected; a hanging webhook refused after
       the timeout while another channel's segments keep coming on time
 27-29 event webhooks that fail (500 three times: nothing lost, in order),
       hang (media and the other channel unaffected), and a full queue
       (dropped, counted in /metrics, said in the log)
 30    SIGTERM: exit 0

About 90 s.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from serve_lib import NAGARE, Server, Tap, WebSocket, gst_publisher, m3u8, request, wait_for  # noqa: E402

MIGRATED = "ImageFlux_20200316.CreateMultistreamChannelWithHLS"


class Receiver:
    """The customer's side: event and auth webhooks and a key server.

    POST /events/<name>   records the event; names starting "fail3" answer
                          500 to their first three requests, "hang" never
                          answer in time.
    POST /auth/<mode>     allow, deny (with a reason) or hang.
    GET  /keys/<key_id>   the key a key.created event delivered, or 404.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: dict[str, list[tuple[float, dict]]] = collections.defaultdict(list)
        self.attempts: collections.Counter = collections.Counter()
        self.auth: list[tuple[str, dict]] = []
        self.keys: dict[str, bytes] = {}
        self.key_fetches: collections.Counter = collections.Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def reply(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = self.path.strip("/").split("/")
                if parts[0] == "events" and len(parts) == 2:
                    name = parts[1]
                    with receiver.lock:
                        receiver.attempts[name] += 1
                        attempt = receiver.attempts[name]
                    if name.startswith("hang"):
                        time.sleep(30)
                        return self.reply(200)
                    if name.startswith("fail3") and attempt <= 3:
                        return self.reply(500, b"not now")
                    event = json.loads(body)
                    with receiver.lock:
                        receiver.events[name].append((time.monotonic(), event))
                        if event.get("type") == "key.created":
                            receiver.keys[event["key_id"]] = bytes.fromhex(event["key"])
                    return self.reply(200, b"{}")
                if parts[0] == "auth" and len(parts) == 2:
                    with receiver.lock:
                        receiver.auth.append((parts[1], json.loads(body)))
                    if parts[1] == "allow":
                        return self.reply(200, b'{"allowed": true}')
                    if parts[1] == "deny":
                        return self.reply(200, b'{"allowed": false, "reason": "not on the list"}')
                    time.sleep(30)
                    return self.reply(200, b'{"allowed": true}')
                self.reply(404)

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                if parts[0] == "keys" and len(parts) == 2:
                    with receiver.lock:
                        key = receiver.keys.get(parts[1])
                        receiver.key_fetches[parts[1]] += 1
                    if key:
                        return self.reply(200, key, "application/octet-stream")
                self.reply(404)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def of(self, name: str) -> list[dict]:
        with self.lock:
            return [e for _, e in self.events[name]]

    def timed(self, name: str) -> list[tuple[float, dict]]:
        with self.lock:
            return list(self.events[name])

    def stop(self) -> None:
        self.httpd.shutdown()


def rendition(width: int, height: int, fps: int, bps: int, **extra) -> dict:
    return {"video": {"width": width, "height": height, "fps": fps, "bps": bps}, "audio": {"bps": 64000}, **extra}


def playlist_path(server: Server, channel: dict, n: int) -> str:
    return os.path.join(server.channel_dir(channel), str(n), "index.m3u8")


def read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def key_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#EXT-X-KEY:")]


def key_uri(line: str) -> str:
    m = re.search(r'URI="([^"]*)"', line)
    return m.group(1) if m else ""


def segments_of(text: str) -> list[tuple[str, str]]:
    """(segment URI, the EXT-X-KEY line in force) in playlist order."""
    out, key = [], ""
    for line in text.splitlines():
        if line.startswith("#EXT-X-KEY:"):
            key = line
        elif line and not line.startswith("#"):
            out.append((line, key))
    return out


def openssl_decrypt(path: str, key_hex: str, iv_hex: str) -> bytes | None:
    r = subprocess.run(["openssl", "aes-128-cbc", "-d", "-K", key_hex, "-iv", iv_hex, "-in", path],
                       capture_output=True, timeout=20)
    return r.stdout if r.returncode == 0 else None


def is_ts(data: bytes | None) -> bool:
    return bool(data) and len(data) % 188 == 0 and all(data[i] == 0x47 for i in range(0, len(data), 188))


def ffmpeg_frames(url: str, *extra: str) -> tuple[int, str]:
    """Video frames ffmpeg decodes from a playlist, and what it complained about."""
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", *extra, "-i", url, "-map", "0:v", "-f", "framemd5", "-"],
                       capture_output=True, text=True, timeout=120)
    frames = sum(1 for line in r.stdout.splitlines() if line and not line.startswith("#"))
    return (frames if r.returncode == 0 else -1), r.stderr[-2000:]


def ffprobe_duration(path: str) -> float:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                       capture_output=True, text=True, timeout=30)
    try:
        return float(r.stdout.strip())
    except ValueError:
        return -1.0


def segment_times(server: Server, channel: dict, seconds: float) -> list[float]:
    """When each new segment of rendition 0 appeared, watched for `seconds`."""
    seen, times = set(), []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for uri, _ in segments_of(read(playlist_path(server, channel, 0))):
            if uri not in seen:
                seen.add(uri)
                times.append(time.monotonic())
        time.sleep(0.05)
    return times


def worst_gap(times: list[float]) -> float:
    return max((b - a for a, b in zip(times, times[1:])), default=float("inf"))


def main() -> int:
    tap = Tap()
    receiver = Receiver()
    vault = tempfile.mkdtemp(prefix="nagare-vault-")
    server = Server(args=["--serve-keys", "--archive-destination", f"vault={vault}", "--webhook-timeout", "2",
                          "--webhook-queue", "20"]).start()
    publishers: list[subprocess.Popen] = []
    try:
        run(tap, server, receiver, vault, publishers)
    finally:
        for p in publishers:
            if p.poll() is None:
                p.terminate()
                p.wait()
        code = server.stop()
        tap.check(code == 0, "SIGTERM: nagare serve ends every channel and exits 0", f"exit {code}")
        receiver.stop()
        if tap.failed:
            tap.diag(server.log()[-6000:])
        shutil.rmtree(vault, ignore_errors=True)
    return tap.finish()


def run(tap: Tap, server: Server, receiver: Receiver, vault: str, publishers: list) -> None:
    r = server.call("ImageFlux_20180905.Nope", {"hls": [rendition(640, 360, 30, 800000)]})
    tap.check(r.status == 400 and "ImageFlux_20180905.Nope" in r.json().get("error", ""),
              "an unknown X-Sora-Target is a 400 naming it", f"{r.status} {r.body!r}")
    r = server.call(MIGRATED, {"hls": [rendition(640, 360, 30, 800000)], "environment": "production"})
    tap.check(r.status == 200 and "channel_id" in r.json(),
              "CreateMultistreamChannelWithHLS takes the same body, environment accepted and ignored",
              f"{r.status} {r.body!r}")
    r = server.call(MIGRATED, {"hls": [rendition(640, 360, 30, 800000)], "encrypt_key": "x"})
    tap.check(r.status == 400 and "encrypt_key" in r.json().get("error", ""), "an unknown field is a 400 naming it",
              f"{r.status} {r.body!r}")
    r = server.call(MIGRATED, {"hls": [rendition(640, 360, 30, 800000)], "archive": True,
                               "archive_destination_id": "elsewhere"})
    tap.check(r.status == 400 and "elsewhere" in r.json().get("error", ""),
              "an archive destination the server does not know is a 400 naming it", f"{r.status} {r.body!r}")
    r = server.call(MIGRATED, {"hls": [{"video": {"width": 640, "height": 360, "fps": 30, "bps": 800000},
                                        "audio": {"bps": 64000}, "durationSeconds": 0.1}]})
    tap.check(r.status == 400 and "hls[0].durationSeconds" in r.json().get("error", ""),
              "durationSeconds out of bounds is a 400 naming hls[0].durationSeconds", f"{r.status} {r.body!r}")

    encrypted_and_archived(tap, server, receiver, vault, publishers)
    self_served_keys(tap, server, receiver, publishers)
    auth_webhook(tap, server, receiver, publishers)
    failing_webhooks(tap, server, receiver, publishers)


def encrypted_and_archived(tap: Tap, server: Server, receiver: Receiver, vault: str, publishers: list) -> None:
    ch = server.create({
        "hls": [rendition(640, 360, 30, 800000, durationSeconds=1, startTimeOffset=-3),
                rendition(320, 180, 15, 300000, durationSeconds=2)],
        "encrypt_key_uri": receiver.url + "/keys/{key_id}", "key_rotation": 3,
        "event_webhook_url": receiver.url + "/events/E",
        "archive": True, "archive_destination_id": "vault", "latency_ms": 200, "idle_timeout": 30})
    pub = gst_publisher(ch["rtp"]["video_port"], ch["rtp"]["audio_port"], seconds=12, width=640, height=360,
                        kbps=1000)
    publishers.append(pub)
    started = time.monotonic()
    # When each key URI first appears in rendition 0's playlist.
    first_listed: dict[str, float] = {}
    while time.monotonic() - started < 14 and (pub.poll() is None or time.monotonic() - started < 13):
        for line in key_lines(read(playlist_path(server, ch, 0))):
            first_listed.setdefault(key_uri(line), time.monotonic())
        time.sleep(0.05)
    pub.wait()
    live0 = read(playlist_path(server, ch, 0))
    live1 = read(playlist_path(server, ch, 1))

    tap.check("\n#EXT-X-START:TIME-OFFSET=-3.000\n" in live0 and "EXT-X-START" not in live1,
              "startTimeOffset: EXT-X-START:TIME-OFFSET=-3.000 in that rendition's playlist only",
              live0[:400] + "\n---\n" + live1[:400])
    p0, p1 = m3u8.parse(live0), m3u8.parse(live1)
    median = lambda p: statistics.median(e.duration for e in p.entries) if p.entries else 0  # noqa: E731
    # RFC 8216 4.3.3.1: no EXTINF, rounded, may exceed EXT-X-TARGETDURATION.
    within = lambda p: all(round(e.duration) <= p.target_duration for e in p.entries)  # noqa: E731
    tap.check(p0.target_duration == 1 and p1.target_duration == 2 and abs(median(p0) - 1) < 0.05 and
              abs(median(p1) - 2) < 0.1 and within(p0) and within(p1),
              "durationSeconds: each rendition cuts at its own target (1 s and 2 s), none longer",
              f"targets {p0.target_duration} {p1.target_duration}, "
              f"EXTINF {[e.duration for e in p0.entries]} {[e.duration for e in p1.entries]}")

    events = receiver.timed("E")
    keys = {e["uri"]: (t, e) for t, e in events if e["type"] == "key.created"}
    early = [uri for uri, listed in first_listed.items() if uri not in keys or keys[uri][0] >= listed]
    tap.check(first_listed and not early and len(first_listed) >= 3,
              "key.created reaches the event webhook before any playlist names the key (rotation every 3)",
              f"listed {len(first_listed)} keys, not delivered first: {early}")

    # openssl, with the key and IV the webhook delivered.
    segment, key_line = segments_of(live0)[-1]
    _, key_event = keys.get(key_uri(key_line), (0, {}))
    iv = re.search(r"IV=0x([0-9a-f]{32})", key_line)
    plain = openssl_decrypt(os.path.join(server.channel_dir(ch), "0", segment), key_event.get("key", ""),
                            iv.group(1) if iv else "") if key_event and iv else None
    tap.check(is_ts(plain) and key_event.get("iv") == "0x" + (iv.group(1) if iv else ""),
              "openssl decrypts a segment (AES-128-CBC) with the key and IV from key.created into a transport "
              "stream", f"{segment} {key_line} {key_event}")

    r = server.call("ImageFlux_20180905.DeleteChannel", {"channel_id": ch["channel_id"]})
    # Every segment, through the key server: the ended playlist, end to end.
    wait_for(lambda: "#EXT-X-ENDLIST" in read(playlist_path(server, ch, 0)), 10)
    ended0 = m3u8.parse(read(playlist_path(server, ch, 0)))
    frames, complaints = ffmpeg_frames(ch["playlist_url"].replace("index.m3u8", "0/index.m3u8"))
    expected = round(sum(e.duration for e in ended0.entries) * 30)
    tap.check(frames >= expected - 3 and not complaints.strip(),
              "ffmpeg reads every segment of the encrypted playlist, keys from the customer's key server",
              f"{frames} frames, expected about {expected}; {complaints}")
    fetched = sum(receiver.key_fetches.values())
    tap.check(fetched >= 1, "players fetched keys from encrypt_key_uri, not from nagare", f"{fetched} fetches")

    wait_for(lambda: any(e["type"] in ("archive.ready", "archive.failed") for e in receiver.of("E")), 60)
    events = receiver.of("E")
    types = [e["type"] for e in events]
    expected_order = ["channel.created", "hls.started", "hls.ended", "channel.deleted", "archive.ready"]
    in_order = [t for t in types if t in expected_order] == expected_order
    ids = [e["id"] for e in events]
    same = all(e.get("channel_id") == ch["channel_id"] and len(e.get("playback_id", "")) == 32 for e in events)
    started_event = next((e for e in events if e["type"] == "hls.started"), {})
    tap.check(in_order and ids == sorted(ids) and same and started_event.get("playlist_url") == ch["playlist_url"]
              and types.index("key.created") < types.index("hls.started"),
              "events arrive in order: channel.created, key.created, hls.started, hls.ended, channel.deleted, "
              "archive.ready; each with channel_id and playback_id, ids increasing", f"{types} {ids}")

    ready = next((e for e in events if e["type"] == "archive.ready"), {})
    where = ready.get("location", "")
    tap.check(where.startswith(vault) and os.path.isdir(where) and ready.get("broadcast") == 1,
              "archive.ready names the archive in the destination", json.dumps(ready))
    vod = read(os.path.join(where, "0", "index.m3u8"))
    vod1 = read(os.path.join(where, "1", "index.m3u8"))
    parsed_vod = m3u8.parse(vod) if vod else None
    tap.check("#EXT-X-PLAYLIST-TYPE:VOD" in vod and vod.rstrip().endswith("#EXT-X-ENDLIST") and
              "#EXT-X-PLAYLIST-TYPE:VOD" in vod1 and parsed_vod and parsed_vod.entries and
              all(os.path.exists(os.path.join(where, "0", e.uri)) for e in parsed_vod.entries) and
              os.path.exists(os.path.join(where, "index.m3u8")),
              "the archive: a VOD playlist per rendition with every segment, and the multivariant playlist",
              vod[:500])
    frames, complaints = ffmpeg_frames(os.path.join(where, "0", "index.m3u8"), "-protocol_whitelist",
                                       "file,http,tcp,crypto")
    vod_seconds = sum(e.duration for e in parsed_vod.entries) if parsed_vod else 0
    tap.check(frames >= round(vod_seconds * 30) - 3 and not complaints.strip(),
              "ffmpeg reads the archived VOD playlist end to end (encrypted, keys from the key server)",
              f"{frames} frames for {vod_seconds:.2f} s; {complaints}")
    mp4 = os.path.join(where, "broadcast.mp4")
    duration = ffprobe_duration(mp4)
    tap.check(ready.get("mp4") == mp4 and abs(duration - vod_seconds) <= 1.0 and 9 <= duration <= 13.5,
              "the archive's MP4 of the top rendition lasts the broadcast, within one segment",
              f"MP4 {duration:.3f} s, VOD {vod_seconds:.3f} s, published 12 s")


def self_served_keys(tap: Tap, server: Server, receiver: Receiver, publishers: list) -> None:
    ch = server.create({"hls": [rendition(320, 180, 15, 300000)], "encrypt": True, "segment_duration": 1,
                        "event_webhook_url": receiver.url + "/events/S", "latency_ms": 200})
    pub = gst_publisher(ch["rtp"]["video_port"], ch["rtp"]["audio_port"], seconds=5, width=320, height=180,
                        fps=15, kbps=300)
    publishers.append(pub)
    path = playlist_path(server, ch, 0)
    wait_for(lambda: len(segments_of(read(path))) >= 2, 15)
    text = read(path)
    segment, line = segments_of(text)[-1] if segments_of(text) else ("", "")
    uri = key_uri(line)
    pid = server.channel_dir(ch).rsplit("/", 1)[1]
    tap.check(uri.startswith(f"{server.url}/keys/{pid}/"),
              "\"encrypt\": true without encrypt_key_uri: EXT-X-KEY points at nagare's own key URL", line)
    got = request(uri) if uri else None
    event = next((e for e in receiver.of("S") if e["type"] == "key.created" and e["uri"] == uri), {})
    tap.check(got is not None and got.status == 200 and len(got.body) == 16 and
              got.body.hex() == event.get("key") and got.headers.get("cache-control") == "no-store",
              "nagare serves the key (16 bytes, no-store), the same the event webhook got",
              f"{got.status if got else None} {event}")
    iv = re.search(r"IV=0x([0-9a-f]{32})", line)
    plain = openssl_decrypt(os.path.join(server.channel_dir(ch), "0", segment), got.body.hex(), iv.group(1)) \
        if got is not None and iv else None
    bad = request(f"{server.url}/keys/{pid}/0000000000000000")
    tap.check(is_ts(plain) and bad.status == 404,
              "the served key decrypts the segment; an unknown key id is a 404", f"{bad.status}")
    pub.wait()


def auth_webhook(tap: Tap, server: Server, receiver: Receiver, publishers: list) -> None:
    denied = server.create({"hls": [rendition(320, 180, 15, 300000)], "auth_webhook_url": receiver.url + "/auth/deny"})
    out = subprocess.run([NAGARE, "publish-test", "--whip", denied["whip_url"], "--token", denied["channel_id"],
                          "--seconds", "3"], capture_output=True, text=True, timeout=30)
    asked = [body for mode, body in receiver.auth if mode == "deny"]
    tap.check(out.returncode != 0 and "403" in out.stdout + out.stderr and "not on the list" in out.stdout + out.stderr,
              "a WHIP publish the auth webhook denies gets 403 with the webhook's reason",
              (out.stdout + out.stderr)[-800:])
    body = asked[0] if asked else {}
    tap.check(body.get("channel_id") == denied["channel_id"] and body.get("protocol") == "whip" and
              body.get("remote_address") == "127.0.0.1" and "metadata" in body,
              "the auth request carries channel_id, protocol, remote_address and metadata", json.dumps(body))

    ws = WebSocket(denied["sora_url"])
    ws.send_json({"type": "connect", "role": "sendonly", "channel_id": denied["channel_id"],
                  "metadata": {"user": "mallory"}})
    (code, reason), _ = ws.until_close()
    ws.close()
    sora_body = next((b for m, b in receiver.auth if m == "deny" and b.get("protocol") == "sora"), {})
    tap.check(code == 4403 and "not on the list" in reason and sora_body.get("metadata") == {"user": "mallory"},
              "a Sora connect the auth webhook denies closes 4403 with the reason; the metadata reached it",
              f"{code} {reason!r} {sora_body}")

    allowed = server.create({"hls": [rendition(320, 180, 15, 300000)], "segment_duration": 1,
                             "auth_webhook_url": receiver.url + "/auth/allow",
                             "event_webhook_url": receiver.url + "/events/W"})
    pub = subprocess.Popen([NAGARE, "publish-test", "--whip", allowed["whip_url"], "--token", allowed["channel_id"],
                            "--seconds", "6"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    publishers.append(pub)
    got_segments = wait_for(lambda: len(segments_of(read(playlist_path(server, allowed, 0)))) >= 2, 20)
    pub.wait(timeout=30)
    wait_for(lambda: any(e["type"] == "publisher.disconnected" for e in receiver.of("W")), 10)
    types = [e["type"] for e in receiver.of("W")]
    tap.check(got_segments and pub.returncode == 0 and "publisher.connected" in types and
              "publisher.disconnected" in types and types.index("publisher.connected") < types.index(
                  "publisher.disconnected"),
              "an allowed WHIP publisher publishes; publisher.connected and publisher.disconnected arrive",
              f"{types} exit {pub.returncode}")

    # A hanging auth webhook: refused after the 2 s timeout, while another
    # channel goes on as before.
    busy = server.create({"hls": [rendition(320, 180, 15, 300000)], "segment_duration": 1, "latency_ms": 200})
    feed = gst_publisher(busy["rtp"]["video_port"], busy["rtp"]["audio_port"], seconds=12, width=320, height=180,
                         fps=15, kbps=300)
    publishers.append(feed)
    wait_for(lambda: len(segments_of(read(playlist_path(server, busy, 0)))) >= 2, 15)
    hang = server.create({"hls": [rendition(320, 180, 15, 300000)], "auth_webhook_url": receiver.url + "/auth/hang"})
    result: dict = {}

    def publish_to_hanging() -> None:
        t = time.monotonic()
        out = subprocess.run([NAGARE, "publish-test", "--whip", hang["whip_url"], "--token", hang["channel_id"],
                              "--seconds", "3"], capture_output=True, text=True, timeout=30)
        result.update(code=out.returncode, text=out.stdout + out.stderr, seconds=time.monotonic() - t)

    t = threading.Thread(target=publish_to_hanging)
    t.start()
    times = segment_times(server, busy, 5)
    t.join()
    tap.check(result.get("code") != 0 and "did not answer" in result.get("text", "") and
              result.get("seconds", 99) < 10,
              "a hanging auth webhook refuses the publish after the timeout", str(result))
    tap.check(len(times) >= 4 and worst_gap(times) < 1.6,
              "meanwhile another channel's segments keep coming on time",
              f"{len(times)} segments, worst gap {worst_gap(times):.2f} s")
    feed.wait()


def failing_webhooks(tap: Tap, server: Server, receiver: Receiver, publishers: list) -> None:
    flaky = server.create({"hls": [rendition(320, 180, 15, 300000)], "event_webhook_url": receiver.url + "/events/fail3"})
    server.call("ImageFlux_20180905.DeleteChannel", {"channel_id": flaky["channel_id"]})
    wait_for(lambda: len(receiver.of("fail3")) >= 2, 15)  # retries after 1 and 2 s, then 4
    types = [e["type"] for e in receiver.of("fail3")]
    tap.check(types == ["channel.created", "channel.deleted"] and receiver.attempts["fail3"] == 5,
              "an event webhook that answers 500 three times gets every event, in order, by retrying",
              f"{types}, {receiver.attempts['fail3']} attempts")

    # A hanging receiver holds up only its own events.
    stuck = server.create({"hls": [rendition(320, 180, 15, 300000)], "segment_duration": 1, "latency_ms": 200,
                           "event_webhook_url": receiver.url + "/events/hang"})
    feed = gst_publisher(stuck["rtp"]["video_port"], stuck["rtp"]["audio_port"], seconds=8, width=320, height=180,
                         fps=15, kbps=300)
    publishers.append(feed)
    wait_for(lambda: len(segments_of(read(playlist_path(server, stuck, 0)))) >= 1, 15)
    times = segment_times(server, stuck, 4)
    tap.check(len(times) >= 3 and worst_gap(times) < 1.6,
              "a hanging event webhook never stalls the channel's media",
              f"{len(times)} segments, worst gap {worst_gap(times):.2f} s")

    # A full queue: 20 events wait on the hanging receiver; more are dropped.
    for _ in range(12):
        c = server.create({"hls": [rendition(320, 180, 15, 300000)], "event_webhook_url": receiver.url + "/events/hang"})
        server.call("ImageFlux_20180905.DeleteChannel", {"channel_id": c["channel_id"]})
    metrics = request(server.url + "/metrics").body.decode()
    dropped = re.search(r'nagare_webhook_events_total\{result="dropped"\} (\d+)', metrics)
    tap.check(dropped and int(dropped.group(1)) > 0 and "dropped" in server.log(),
              "past the queue's bound events are dropped, counted in /metrics and said in the log",
              dropped.group(0) if dropped else metrics[-800:])
    feed.wait()


if __name__ == "__main__":
    sys.exit(main())
