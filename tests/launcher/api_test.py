#!/usr/bin/env python3
"""The HTTP API of `nagare serve`, end to end, as TAP.

    NAGARE_BIN=build/launcher/nagare python3 tests/launcher/api_test.py

Real `nagare serve` processes on loopback and real HTTP requests (urllib,
and http.client where a path must reach the server exactly as written). No
media is sent: channels stay "waiting", and the HLS files the server serves
are a fake tree this test writes into DATA/channels/<playback_id>/.

Four servers, each on its own small RTP port range chosen at random from
ports nobody holds:
  A  the channel API: create, list, get, delete, every kind of bad request,
     HLS files and path traversal, pages, /metrics, /healthz, SIGTERM
  B  --token: 401 without the right bearer token, public files stay public
  C  a range with two pairs: the third channel gets 503 until one is deleted
  D  ports held by another process (this one) are skipped
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
if "NAGARE_BIN" not in os.environ:
    # Run by hand from the repository: the usual build folder.
    os.environ["NAGARE_BIN"] = os.path.join(HERE, "..", "..", "build", "launcher", "nagare")
sys.path.insert(0, HERE)

import serve_lib as sl  # noqa: E402
from serve_lib import Tap  # noqa: E402

CHANNEL = {"hls": [{"video": {"width": 640, "height": 360, "fps": 30, "bps": 800_000},
                    "audio": {"bps": 64_000, "codec": "mp3"}}]}
HEX_ID = re.compile(r"^[0-9a-f]+$")
JSON_HEADERS = {"Content-Type": "application/json"}
SECRET = "nagare-api-test-secret-7d1f"  # in files no URL may reach


# --- helpers ------------------------------------------------------------------


def udp_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port_block(count: int) -> int:
    """An even first port of `count` UDP ports nobody holds now. Below the
    kernel's ephemeral range (32768-60999), so no client socket takes one
    meanwhile, and away from serve's default 20000-20999, which other tests
    on this machine may use."""
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(21000, 32700 - count, 2)
        if all(udp_free(p) for p in range(base, base + count)):
            return base
    raise RuntimeError(f"no {count} free UDP ports in 21000-32700")


def channel(**changes) -> dict:
    """A valid channel with top-level fields changed."""
    body = json.loads(json.dumps(CHANNEL))
    body.update(changes)
    return body


def video(**changes) -> dict:
    body = channel()
    body["hls"][0]["video"].update(changes)
    return body


def audio(**changes) -> dict:
    body = channel()
    body["hls"][0]["audio"].update(changes)
    return body


def raw(server: sl.Server, method: str, path: str, body: bytes | None = None,
        headers: dict | None = None, chunked: bool = False) -> sl.Response:
    """One request with the path sent exactly as given (urllib would
    normalise dot segments and percent escapes)."""
    host, port = urllib.parse.urlsplit(server.url).netloc.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None and chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            if body is not None and chunked:
                for i in range(0, len(body), 8192):
                    piece = body[i:i + 8192]
                    conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                conn.send(b"0\r\n\r\n")
            elif body is not None:
                conn.send(body)
        except OSError:
            pass  # a server may answer (413) and close before reading it all
        r = conn.getresponse()
        return sl.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def api(server: sl.Server, method: str, path: str, body=None, token: str | None = None,
        headers: dict | None = None) -> sl.Response:
    h = dict(JSON_HEADERS)
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return sl.request(server.url + path, method, body, h)


def rpc(server: sl.Server, target: str, body=None, token: str | None = None,
        headers: dict | None = None) -> sl.Response:
    return api(server, "POST", "/", body if body is not None else {}, token,
               {"X-Sora-Target": target, **(headers or {})})


def json_of(r: sl.Response):
    try:
        return json.loads(r.body)
    except ValueError:
        return None


def error_of(r: sl.Response) -> str | None:
    """The "error" of a JSON error answer; None if it is not one."""
    doc = json_of(r)
    if isinstance(doc, dict) and isinstance(doc.get("error"), str) and doc["error"]:
        return doc["error"]
    return None


def show(r: sl.Response) -> str:
    return f"{r.status} {r.body[:300]!r}"


def channel_ids(server: sl.Server, token: str | None = None) -> set[str] | None:
    r = api(server, "GET", "/api/channels", token=token)
    doc = json_of(r)
    if r.status != 200 or not isinstance(doc, dict):
        return None
    return {c["channel_id"] for c in doc.get("channels", [])}


def folders(server: sl.Server) -> set[str]:
    return set(os.listdir(os.path.join(server.data_dir, "channels")))


def playback_id(answer: dict) -> str:
    return urllib.parse.urlsplit(answer["playlist_url"]).path.split("/")[2]


def check_answer(server: sl.Server, a: dict, video_port: int) -> list[str]:
    """What is wrong with a CreateChannel answer."""
    bad = []
    for key in ("channel_id", "playlist_url", "watch_url", "whip_url", "sora_url", "rtp", "created_at"):
        if key not in a:
            bad.append(f"no {key}")
    if bad:
        return bad
    cid = a["channel_id"]
    if not (isinstance(cid, str) and HEX_ID.match(cid) and len(cid) >= 32):
        bad.append(f"channel_id {cid!r} is not hex of at least 128 bits")
    pl = urllib.parse.urlsplit(a["playlist_url"])
    parts = pl.path.split("/")
    if not (a["playlist_url"].startswith(server.url + "/hls/") and len(parts) == 4
            and parts[3] == "index.m3u8"):
        bad.append(f"playlist_url {a['playlist_url']!r} is not {server.url}/hls/<playback_id>/index.m3u8")
        return bad
    pid = parts[2]
    if not (HEX_ID.match(pid) and len(pid) >= 32):
        bad.append(f"playback id {pid!r} is not hex of at least 128 bits")
    for key in ("playlist_url", "watch_url"):
        if cid in a[key]:
            bad.append(f"{key} contains the channel_id (the publish credential)")
    if pid == cid:
        bad.append("playback id == channel_id")
    if a["watch_url"] != f"{server.url}/watch/{pid}":
        bad.append(f"watch_url {a['watch_url']!r}")
    if not (isinstance(a["whip_url"], str) and a["whip_url"].startswith(server.url + "/")):
        bad.append(f"whip_url {a['whip_url']!r}")
    if not (isinstance(a["sora_url"], str) and a["sora_url"].startswith("ws://127.0.0.1:")):
        bad.append(f"sora_url {a['sora_url']!r}")
    rtp = a["rtp"]
    if not isinstance(rtp, dict) or rtp.get("video_port") != video_port or rtp.get("audio_port") != video_port + 1:
        bad.append(f"rtp {rtp!r}, expected video_port {video_port}, audio_port {video_port + 1}")
    if not (isinstance(a["created_at"], str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", a["created_at"])):
        bad.append(f"created_at {a['created_at']!r}")
    return bad


def parse_prometheus(text: str) -> tuple[list[tuple[str, dict, float]], list[str]]:
    """Prometheus text format 0.0.4: (samples, problems). Every sample must
    belong to a family with HELP and TYPE given before it."""
    name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
    sample_re = re.compile(rf"^({name_re})(?:\{{(.*)\}})?\s+(\S+)(?:\s+(-?\d+))?$")
    label_re = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"\s*(,|$)')
    types: dict[str, str] = {}
    helps: set[str] = set()
    seen: set[tuple] = set()
    samples, problems = [], []
    if not text.endswith("\n"):
        problems.append("does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            m = re.match(rf"^# (HELP|TYPE) ({name_re})(?: (.*))?$", line)
            if not m:
                continue  # a plain comment
            kind, name, rest = m.groups()
            if kind == "HELP":
                if name in helps:
                    problems.append(f"line {n}: second HELP for {name}")
                helps.add(name)
            else:
                if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    problems.append(f"line {n}: TYPE {rest!r}")
                if name in types:
                    problems.append(f"line {n}: second TYPE for {name}")
                types[name] = rest
            continue
        m = sample_re.match(line)
        if not m:
            problems.append(f"line {n}: not a sample: {line!r}")
            continue
        name, labels_text, value_text, _ = m.groups()
        labels = {}
        pos = 0
        while labels_text and pos < len(labels_text):
            lm = label_re.match(labels_text, pos)
            if not lm:
                problems.append(f"line {n}: bad labels {labels_text!r}")
                break
            if lm.group(1) in labels:
                problems.append(f"line {n}: label {lm.group(1)} twice")
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        try:
            value = float(value_text)
        except ValueError:
            problems.append(f"line {n}: value {value_text!r}")
            continue
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
                family = base
        if family not in types or family not in helps:
            problems.append(f"line {n}: {name} has no HELP and TYPE before it")
        if types.get(family) == "counter" and not (value >= 0 or math.isnan(value)):
            problems.append(f"line {n}: counter {name} is negative")
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            problems.append(f"line {n}: {name}{labels} twice")
        seen.add(key)
        samples.append((name, labels, value))
    return samples, problems


def wait_exit(proc: subprocess.Popen, timeout: float) -> tuple[int | None, float]:
    t0 = time.monotonic()
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        rc = None
    return rc, time.monotonic() - t0


# --- the cases ------------------------------------------------------------------


def create_and_list(tap: Tap, a: sl.Server, base: int) -> list[dict]:
    """CreateChannel both ways, then ListChannels and GET both ways."""
    r1 = rpc(a, sl.CREATE, CHANNEL)
    first = json_of(r1) if r1.status == 200 else None
    tap.result("CreateChannel (POST / + X-Sora-Target): 200 with ids, URLs and the first port pair",
               first is not None and not check_answer(a, first, base),
               [show(r1)] + (check_answer(a, first, base) if first else []))

    r2 = api(a, "POST", "/api/channels", CHANNEL)
    second = json_of(r2) if r2.status == 201 else None
    bad = check_answer(a, second, base + 2) if second else [show(r2)]
    location = r2.headers.get("location", "")
    if second and not location.endswith("/api/channels/" + second.get("channel_id", "?")):
        bad.append(f"Location {location!r}")
    tap.result("POST /api/channels: 201, Location /api/channels/<id>, the next port pair", not bad, bad)

    made = [c for c in (first, second) if c]
    if len(made) == 2:
        distinct = (first["channel_id"] != second["channel_id"]
                    and playback_id(first) != playback_id(second)
                    and first["rtp"]["video_port"] != second["rtp"]["video_port"]
                    and first["rtp"]["audio_port"] != second["rtp"]["audio_port"])
        tap.result("two channels get different ids, playback ids and ports", distinct,
                   [json.dumps(first["rtp"]), json.dumps(second["rtp"])])
        on_disk = folders(a) >= {playback_id(first), playback_id(second)}
        tap.result("each channel has DATA/channels/<playback_id>/", on_disk, [repr(folders(a))])

    want = {c["channel_id"]: c for c in made}
    for name, r in (("ListChannels (RPC)", rpc(a, sl.LIST)), ("GET /api/channels", api(a, "GET", "/api/channels"))):
        doc = json_of(r)
        listed = {c.get("channel_id"): c for c in doc.get("channels", [])} if isinstance(doc, dict) else {}
        bad = [] if r.status == 200 else [show(r)]
        if set(listed) != set(want):
            bad.append(f"listed {sorted(listed)}, created {sorted(want)}")
        for cid, c in listed.items():
            if cid in want and (c.get("state") != "waiting" or c.get("playlist_url") != want[cid]["playlist_url"]
                                or c.get("rtp") != want[cid]["rtp"]):
                bad.append(f"{cid}: state {c.get('state')!r}, playlist_url {c.get('playlist_url')!r}, "
                           f"rtp {c.get('rtp')!r}")
        tap.result(f"{name}: 200, both channels, state \"waiting\"", not bad, bad)

    bad = []
    for c in made:
        r = api(a, "GET", f"/api/channels/{c['channel_id']}")
        doc = json_of(r)
        if r.status != 200 or not isinstance(doc, dict):
            bad.append(show(r))
            continue
        if (doc.get("channel_id") != c["channel_id"] or doc.get("state") != "waiting"
                or doc.get("rtp") != c["rtp"] or not isinstance(doc.get("broadcast"), int)
                or doc.get("restarts") != 0):
            bad.append(f"{c['channel_id']}: {doc!r}")
    r = api(a, "GET", "/api/channels/" + "0" * 32)
    if r.status != 404 or not error_of(r):
        bad.append(f"unknown id: {show(r)}")
    tap.result("GET /api/channels/<id>: 200 with state, broadcast, restarts; an unknown id 404",
               bool(made) and not bad, bad)
    return made


BIG_PADDING = 100 * 1024


def bad_requests(tap: Tap, a: sl.Server, next_port: int) -> None:
    """Every kind of bad CreateChannel body, through both routes: its 4xx, a
    JSON error naming the field, and nothing created."""
    nine = channel(hls=[CHANNEL["hls"][0]] * 9)
    two = channel(hls=[CHANNEL["hls"][0], {"video": {"width": 320, "height": 181, "fps": 30, "bps": 300_000},
                                            "audio": {"bps": 64_000, "codec": "mp3"}}])
    no_audio = channel(hls=[{"video": CHANNEL["hls"][0]["video"]}])
    cases = [
        # name, body (bytes or JSON), what the error must contain
        ("not JSON", b'{"hls": [', "JSON"),
        ("a number no double holds (1e400)", b'{"hls": [], "segment_duration": 1e400}', "JSON"),
        ("an empty body", b"", "JSON"),
        ("JSON, not an object (array)", b"[1, 2]", "object"),
        ("JSON, not an object (string)", b'"hls"', "object"),
        ("JSON, not an object (null)", b"null", "object"),
        ("missing hls", {}, "hls"),
        ("empty hls", channel(hls=[]), "hls"),
        ("hls not an array", channel(hls=CHANNEL["hls"][0]), "hls"),
        ("9 renditions", nine, "hls"),
        ("a rendition that is not an object", channel(hls=["720p"]), "hls[0]"),
        ("missing audio", no_audio, "hls[0].audio"),
        ("missing video width", channel(hls=[{"video": {"height": 360, "fps": 30, "bps": 800_000},
                                              "audio": {"bps": 64_000}}]), "hls[0].video.width"),
        ("odd width", video(width=641), "hls[0].video.width"),
        ("odd height in the second rendition", two, "hls[1].video.height"),
        ("width 0", video(width=0), "hls[0].video.width"),
        ("fps 0", video(fps=0), "hls[0].video.fps"),
        ("fps 61", video(fps=61), "hls[0].video.fps"),
        ("video bps too low", video(bps=49_999), "hls[0].video.bps"),
        ("video bps too high", video(bps=50_000_001), "hls[0].video.bps"),
        ("unknown audio codec", audio(codec="opus"), "hls[0].audio.codec"),
        ("MP3 bitrate not in the Layer III list", audio(bps=100_000), "hls[0].audio.bps"),
        ("MP3 bitrate below the list", audio(bps=16_000), "hls[0].audio.bps"),
        ("unknown top-level field", channel(latency=500), "latency"),
        ("unknown video field", video(bitrate=800_000), "hls[0].video.bitrate"),
        ("input.rtp.video_port given", channel(input={"rtp": {"video_port": 30000}}), "input.rtp.video_port"),
        ("input.rtp.audio_port given", channel(input={"rtp": {"audio_port": 30001}}), "input.rtp.audio_port"),
        ("input.rtp.bind given", channel(input={"rtp": {"bind": "0.0.0.0"}}), "input.rtp.bind"),
        ("width as a string", video(width="640"), "hls[0].video.width"),
        ("fps as a fraction", video(fps=29.97), "hls[0].video.fps"),
        ("fps as a boolean", video(fps=True), "hls[0].video.fps"),
        ("audio bps as a string", audio(bps="64k"), "hls[0].audio.bps"),
        ("video as an array", channel(hls=[{"video": [640, 360], "audio": {"bps": 64_000}}]), "hls[0].video"),
        ("segment_duration as a string", channel(segment_duration="2"), "segment_duration"),
        ("latency_ms as a word", channel(latency_ms="fast"), "latency_ms"),
        ("input as a string", channel(input="rtp"), "input"),
    ]
    ids_before = channel_ids(a)
    folders_before = folders(a)
    for name, body, field in cases:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        bad = []
        for route, r in (("RPC", rpc(a, sl.CREATE, data)), ("REST", api(a, "POST", "/api/channels", data))):
            err = error_of(r)
            if not (400 <= r.status < 500) or r.status in (401, 404) or not err or field not in err:
                bad.append(f"{route}: {show(r)}; the error should name {field!r}")
            elif not r.headers.get("content-type", "").startswith("application/json"):
                bad.append(f"{route}: Content-Type {r.headers.get('content-type')!r}")
        if channel_ids(a) != ids_before:
            bad.append(f"the channel list changed: {sorted(channel_ids(a) or [])}")
        if folders(a) != folders_before:
            bad.append(f"new folders: {sorted(folders(a) - folders_before)}")
        tap.result(f"bad request, {name}: 4xx naming {field!r}, nothing created", not bad, bad)

    # Over 64 KiB, and valid JSON: only the size is wrong with it.
    big = (json.dumps(CHANNEL)[:-1] + " " * BIG_PADDING + "}").encode()
    bad = []
    for route, path, headers in (("RPC", "/", {"X-Sora-Target": sl.CREATE}), ("REST", "/api/channels", {})):
        r = raw(a, "POST", path, big, {**JSON_HEADERS, **headers})
        if r.status != 413 or not error_of(r):
            bad.append(f"{route}: {show(r)}")
    if channel_ids(a) != ids_before or folders(a) != folders_before:
        bad.append("a channel was created")
    tap.result("a body over 64 KiB (Content-Length): 413, nothing created", not bad, bad)

    # The same body sent chunked has no Content-Length to refuse it by; the
    # limit has to hold all the same (else a client can make the server
    # buffer any amount).
    bad = []
    for route, path, headers in (("RPC", "/", {"X-Sora-Target": sl.CREATE}), ("REST", "/api/channels", {})):
        r = raw(a, "POST", path, big, {**JSON_HEADERS, **headers}, chunked=True)
        if r.status != 413 or not error_of(r):
            bad.append(f"{route}: {show(r)}")
    created = (channel_ids(a) or set()) - (ids_before or set())
    for cid in created:  # leave the server as the next checks expect it
        api(a, "DELETE", f"/api/channels/{cid}")
    if created:
        bad.append(f"{len(created)} channel(s) created from it")
    tap.result("a body over 64 KiB sent chunked: 413, nothing created", not bad, bad)
    if created:
        # The deleted ones give their ports back once their pipelines end.
        sl.wait_for(lambda: _pair_free(next_port), 10)
        time.sleep(1)

    # A body just under the limit is fine: the limit is not lower than said.
    under = (json.dumps(CHANNEL)[:-1] + " " * (60 * 1024) + "}").encode()
    r = api(a, "POST", "/api/channels", under)
    doc = json_of(r) if r.status == 201 else None
    bad = check_answer(a, doc, next_port) if doc else [show(r)]
    tap.result("after all of them a 60 KiB body creates a channel on the same first free pair "
               f"({next_port}/{next_port + 1}): no bad request took a port", not bad, bad)
    if doc:
        api(a, "DELETE", f"/api/channels/{doc['channel_id']}")


def _pair_free(port: int) -> bool:
    return udp_free(port) and udp_free(port + 1)


def deletes(tap: Tap, a: sl.Server, made: list[dict]) -> None:
    if len(made) < 2:
        tap.result("DeleteChannel and DELETE /api/channels/<id>", False, ["the channels were not created"])
        return
    first, second = made
    # The playback id is public: it must not delete anything.
    r = api(a, "DELETE", f"/api/channels/{playback_id(first)}")
    r2 = rpc(a, sl.DELETE, {"channel_id": playback_id(first)})
    still = first["channel_id"] in (channel_ids(a) or set())
    tap.result("deleting by playback id: 404, the channel stays",
               r.status == 404 and r2.status == 404 and still, [show(r), show(r2)])

    bad = []
    r = rpc(a, sl.DELETE, {"channel_id": first["channel_id"]})
    if r.status != 200:
        bad.append(f"DeleteChannel: {show(r)}")
    r = api(a, "GET", f"/api/channels/{first['channel_id']}")
    if r.status != 404 or not error_of(r):
        bad.append(f"GET after delete: {show(r)}")
    if first["channel_id"] in (channel_ids(a) or set()):
        bad.append("still listed")
    r = rpc(a, sl.DELETE, {"channel_id": first["channel_id"]})
    if r.status != 404 or not error_of(r):
        bad.append(f"DeleteChannel again: {show(r)}")
    tap.result("DeleteChannel {channel_id}: 200, then GET 404, not listed, deleting again 404", not bad, bad)

    bad = []
    r = api(a, "DELETE", f"/api/channels/{second['channel_id']}")
    if r.status != 200:
        bad.append(f"DELETE: {show(r)}")
    r = api(a, "GET", f"/api/channels/{second['channel_id']}")
    if r.status != 404 or not error_of(r):
        bad.append(f"GET after delete: {show(r)}")
    ids = channel_ids(a)
    if ids is None or second["channel_id"] in ids:
        bad.append(f"listed: {ids}")
    r = rpc(a, sl.LIST)
    doc = json_of(r)
    if r.status != 200 or not isinstance(doc, dict) or any(
            c.get("channel_id") == second["channel_id"] for c in doc.get("channels", [])):
        bad.append(f"ListChannels: {show(r)}")
    r = api(a, "DELETE", f"/api/channels/{second['channel_id']}")
    if r.status != 404 or not error_of(r):
        bad.append(f"DELETE again: {show(r)}")
    tap.result("DELETE /api/channels/<id>: 200, then GET 404, not listed, deleting again 404", not bad, bad)

    bad = []
    for name, body in (("not JSON", b"{"), ("a number no double holds", b'{"channel_id": 1e400}'),
                       ("no channel_id", {}), ("channel_id a number", {"channel_id": 5}),
                       ("an array", [first["channel_id"]])):
        r = rpc(a, sl.DELETE, body)
        if r.status != 400 or not error_of(r):
            bad.append(f"{name}: {show(r)}")
    tap.result("DeleteChannel with a bad body: 400 with an error", not bad, bad)


def targets(tap: Tap, a: sl.Server) -> None:
    name = "ImageFlux_20180905.CreateChannels"
    before = channel_ids(a)
    r = rpc(a, name, CHANNEL)
    err = error_of(r) or ""
    tap.result("an unknown X-Sora-Target: 400 naming it, nothing created",
               r.status == 400 and name in err and channel_ids(a) == before, [show(r)])
    r = api(a, "POST", "/", CHANNEL)
    err = error_of(r) or ""
    tap.result("POST / without X-Sora-Target: 400 naming the header, nothing created",
               r.status == 400 and "X-Sora-Target" in err and channel_ids(a) == before, [show(r)])


def fake_tree(data_dir: str) -> tuple[str, dict[str, bytes]]:
    """A channel folder as a pipeline would leave it, under a playback id no
    channel has: the server serves whatever is there."""
    pid = os.urandom(16).hex()
    root = os.path.join(data_dir, "channels", pid)
    os.makedirs(os.path.join(root, "0"))
    ts = bytes([0x47, 0x40, 0x00, 0x10]) + bytes(184)
    files = {
        "index.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\n0/index.m3u8\n",
        "0/index.m3u8": b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
                        b"#EXTINF:2.000,\nb1-00000.ts\n",
        "0/b1-00000.ts": ts * 40,
        "thumbnail.jpg": b"\xff\xd8\xff\xe0" + bytes(200) + b"\xff\xd9",
    }
    for rel, data in files.items():
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
    return pid, files


def max_age(cache_control: str) -> int | None:
    m = re.search(r"max-age=(\d+)", cache_control or "")
    return int(m.group(1)) if m else None


def hls_serving(tap: Tap, a: sl.Server) -> str:
    pid, files = fake_tree(a.data_dir)
    kinds = {
        "index.m3u8": ("application/vnd.apple.mpegurl", "playlist"),
        "0/index.m3u8": ("application/vnd.apple.mpegurl", "playlist"),
        "0/b1-00000.ts": ("video/mp2t", "segment"),
        "thumbnail.jpg": ("image/jpeg", "thumbnail"),
    }
    for rel, (ctype, kind) in kinds.items():
        r = sl.request(f"{a.url}/hls/{pid}/{rel}", headers={"Origin": "http://player.example"})
        cc = r.headers.get("cache-control", "")
        bad = [] if r.status == 200 else [show(r)]
        if r.body != files[rel]:
            bad.append(f"body of {len(r.body)} bytes, the file has {len(files[rel])}")
        if r.headers.get("content-type", "").split(";")[0].strip().lower() != ctype:
            bad.append(f"Content-Type {r.headers.get('content-type')!r}, expected {ctype}")
        if r.headers.get("access-control-allow-origin") not in ("*", "http://player.example"):
            bad.append(f"Access-Control-Allow-Origin {r.headers.get('access-control-allow-origin')!r}")
        if kind == "playlist" and not ("no-cache" in cc or "no-store" in cc
                                       or (max_age(cc) is not None and max_age(cc) <= 1)):
            bad.append(f"Cache-Control {cc!r}: a live playlist must not be cached over 1 s")
        if kind == "segment" and not ((max_age(cc) or 0) >= 86400 and "immutable" in cc):
            bad.append(f"Cache-Control {cc!r}: a segment never changes (long max-age, immutable)")
        if kind == "thumbnail" and "immutable" in cc:
            bad.append(f"Cache-Control {cc!r}: the thumbnail is rewritten every second")
        tap.result(f"HLS {kind} /hls/<pid>/{rel}: 200, {ctype}, Cache-Control, CORS", not bad,
                   bad + [f"Cache-Control: {cc}"])

    r = raw(a, "HEAD", f"/hls/{pid}/0/b1-00000.ts")
    tap.result("HEAD on a segment: 200, no body", r.status == 200 and r.body == b"", [show(r)])

    bad = []
    r = raw(a, "OPTIONS", f"/hls/{pid}/index.m3u8",
            headers={"Origin": "http://player.example", "Access-Control-Request-Method": "GET"})
    origin = r.headers.get("access-control-allow-origin")
    if not (200 <= r.status < 300) or origin not in ("*", "http://player.example") \
            or "GET" not in r.headers.get("access-control-allow-methods", ""):
        bad.append(f"/hls: {show(r)} {r.headers}")
    r = raw(a, "OPTIONS", "/api/channels",
            headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, content-type, x-sora-target"})
    allowed = r.headers.get("access-control-allow-headers", "").lower()
    if not (200 <= r.status < 300) or r.headers.get("access-control-allow-origin") not in ("*", "http://app.example") \
            or "POST" not in r.headers.get("access-control-allow-methods", "") \
            or not all(h in allowed for h in ("authorization", "content-type", "x-sora-target")):
        bad.append(f"/api/channels: {show(r)} {r.headers}")
    tap.result("OPTIONS preflight: 2xx with Allow-Origin, Allow-Methods and Allow-Headers", not bad, bad)

    r = sl.request(f"{a.url}/hls/{pid}/1/index.m3u8")
    tap.result("a file the channel does not have: 404", r.status == 404, [show(r)])
    return pid


def refusals(path: str) -> tuple[int, ...]:
    """The statuses that refuse `path`: 404, or 400 where libsoup answers
    before nagare sees the request: it refuses a path whose percent-decoding
    makes a new ".." segment (such as "..%2f")."""
    decoded = urllib.parse.unquote(path)
    return (404, 400) if "/../" in decoded or decoded.endswith("/..") else (404,)


def traversal(tap: Tap, a: sl.Server, pid: str) -> None:
    """Paths that try to leave the channel folder, sent raw. Every target
    exists on disk, so only the server's refusal stops them."""
    data = a.data_dir
    chans = os.path.join(data, "channels")
    root = os.path.join(chans, pid)
    for path in (os.path.join(data, "secret.m3u8"), os.path.join(chans, "secret.m3u8")):
        with open(path, "w") as f:
            f.write(SECRET + "\n")
    secret_dir = os.path.join(data, "secretdir")
    os.makedirs(secret_dir, exist_ok=True)
    with open(os.path.join(secret_dir, "index.m3u8"), "w") as f:
        f.write(SECRET + "\n")
    # A playback id that is not hex, with a file in it.
    nonhex = "z" * 32
    os.makedirs(os.path.join(chans, nonhex), exist_ok=True)
    with open(os.path.join(chans, nonhex, "index.m3u8"), "w") as f:
        f.write(SECRET + "\n")
    upper = pid.upper()
    os.makedirs(os.path.join(chans, upper), exist_ok=True)
    with open(os.path.join(chans, upper, "index.m3u8"), "w") as f:
        f.write(SECRET + "\n")
    # Deeper than <n>/<file>.
    os.makedirs(os.path.join(root, "0", "deep"), exist_ok=True)
    with open(os.path.join(root, "0", "deep", "index.m3u8"), "w") as f:
        f.write(SECRET + "\n")
    # Symlinks planted in the channel folder.
    os.symlink("/etc/passwd", os.path.join(root, "passwd.m3u8"))
    os.symlink("/etc/passwd", os.path.join(root, "0", "passwd.ts"))
    os.symlink("/etc", os.path.join(root, "7"))
    os.symlink(secret_dir, os.path.join(root, "8"))
    os.symlink(os.path.join(root, "0", "b1-00000.ts"), os.path.join(root, "0", "link.ts"))
    # A dot file that exists: hidden names are not served either.
    with open(os.path.join(root, ".secret.m3u8"), "w") as f:
        f.write(SECRET + "\n")

    attempts = [
        f"/hls/{pid}/../secret.m3u8",
        f"/hls/{pid}/../../secret.m3u8",
        f"/hls/{pid}/../../../../../../etc/passwd",
        f"/hls/{pid}/%2e%2e/secret.m3u8",
        f"/hls/{pid}/%2e%2e/%2e%2e/etc/passwd",
        f"/hls/{pid}/%2E%2E/%2E%2E/secret.m3u8",
        f"/hls/{pid}/0/%2e%2e/%2e%2e/secret.m3u8",
        f"/hls/{pid}/..%2fsecret.m3u8",
        f"/hls/{pid}/%2e%2e%2fsecret.m3u8",
        f"/hls/{pid}/0%2f..%2f..%2fsecret.m3u8",
        f"/hls/{pid}/%2E%2E%2F%2E%2E%2Fsecret.m3u8",
        f"/hls/{pid}/%252e%252e/%252e%252e/secret.m3u8",
        f"/hls/{pid}/%252e%252e%252fsecret.m3u8",
        f"/hls/{pid}/..%5csecret.m3u8",
        "/hls/../../etc/passwd",
        "/hls/%2e%2e/%2e%2e/etc/passwd",
        "/hls/%2e%2e/secret.m3u8",
        f"/hls/{nonhex}/index.m3u8",
        f"/hls/{upper}/index.m3u8",
        f"/hls/{pid[:-1]}/index.m3u8",
        f"/hls/{pid}/0/deep/index.m3u8",
        f"/hls/{pid}/passwd.m3u8",
        f"/hls/{pid}/0/passwd.ts",
        f"/hls/{pid}/7/passwd",
        f"/hls/{pid}/8/index.m3u8",
        f"/hls/{pid}/0/link.ts",
        f"/hls/{pid}/.secret.m3u8",
        f"/hls/{pid}/0",
        f"/hls/{pid}/",
        f"/hls/{pid}",
    ]
    for path in attempts:
        r = raw(a, "GET", path)
        leaked = SECRET.encode() in r.body or b"root:" in r.body
        tap.result(f"GET {path.replace(pid, '<pid>')}: {' or '.join(map(str, refusals(path)))}",
                   r.status in refusals(path) and not leaked,
                   [show(r)] + (["the body has what the path points at"] if leaked else []))
    # NUL cannot be in a file name; a 400 from the HTTP layer is as good.
    r = raw(a, "GET", f"/hls/{pid}/index.m3u8%00.jpg")
    tap.result("GET /hls/<pid>/index.m3u8%00.jpg: refused (4xx), nothing served",
               400 <= r.status < 500 and not r.body.startswith(b"#EXTM3U"), [show(r)])


def pages(tap: Tap, a: sl.Server, chan: dict, fake_pid: str) -> None:
    r = sl.request(a.url + "/healthz")
    doc = json_of(r)
    tap.result("/healthz: 200 JSON", r.status == 200 and isinstance(doc, dict)
               and r.headers.get("content-type", "").startswith("application/json"), [show(r)])

    # Players poll playlists every second: a new TCP connection per request
    # would cost a handshake each time (libsoup keeps connections only while
    # it has a listener of its own; launcher/acceptor.cpp).
    host, port = a.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    statuses, sockets = [], []
    for _ in range(3):
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        statuses.append(resp.status)
        sockets.append(id(conn.sock) if conn.sock else None)
    conn.close()
    tap.result("HTTP/1.1 keep-alive: three requests on one connection", statuses == [200] * 3
               and None not in sockets and len(set(sockets)) == 1, [f"{statuses} sockets {sockets}"])

    r = sl.request(a.url + "/metrics")
    text = r.body.decode("utf-8", "replace")
    samples, problems = parse_prometheus(text)
    ctype = r.headers.get("content-type", "")
    if r.status != 200 or not ctype.startswith("text/plain"):
        problems.insert(0, f"{r.status} Content-Type {ctype!r}")
    if not samples:
        problems.append("no samples")
    tap.result("/metrics: valid Prometheus text, every family with HELP and TYPE", not problems, problems[:20])

    listed = {}
    doc = json_of(api(a, "GET", "/api/channels"))
    for c in (doc or {}).get("channels", []):
        listed[playback_id(c)] = c["channel_id"]
    labelled = {lab["channel"] for _, lab, _ in samples if "channel" in lab}
    bad = []
    if playback_id(chan) not in labelled:
        bad.append(f"no series labelled channel=\"{playback_id(chan)}\"")
    if labelled - set(listed):
        bad.append(f"series for channels that do not exist: {sorted(labelled - set(listed))}")
    for cid in listed.values():
        if cid in text:
            bad.append(f"the channel_id {cid} appears in /metrics")
    per_channel = {n for n, lab, _ in samples if lab.get("channel") == playback_id(chan)}
    count = [v for n, lab, v in samples if n == "nagare_channels" and not lab]
    if count and count[0] != len(listed):
        bad.append(f"nagare_channels {count[0]}, {len(listed)} listed")
    tap.result("/metrics: per-channel series labelled with the playback id, never the channel id", not bad,
               bad + [f"{len(per_channel)} series for the channel: {sorted(per_channel)}"])

    pid = playback_id(chan)
    r = sl.request(f"{a.url}/watch/{pid}")
    page = r.body.decode("utf-8", "replace")
    bad = [] if r.status == 200 else [show(r)]
    if not r.headers.get("content-type", "").startswith("text/html"):
        bad.append(f"Content-Type {r.headers.get('content-type')!r}")
    if f"/hls/{pid}/index.m3u8" not in page:
        bad.append("the page does not reference the playlist")
    if "/static/hls.min.js" not in page:
        bad.append("the page does not load /static/hls.min.js")
    if chan["channel_id"] in page:
        bad.append("the page contains the channel_id")
    tap.result("/watch/<pid>: 200 HTML with the playlist URL and /static/hls.min.js", not bad, bad)

    r = sl.request(a.url + "/static/hls.min.js")
    js = r.body.decode("utf-8", "replace")
    ctype = r.headers.get("content-type", "")
    tap.result("/static/hls.min.js: 200, JavaScript, not empty",
               r.status == 200 and "javascript" in ctype and len(js.strip()) > 0,
               [show(r), f"Content-Type {ctype!r}, {len(r.body)} bytes"])
    if "not installed" in js[:400]:
        tap.diag("note: hls.min.js is the stand-in (web/node_modules was missing at build time)")

    bad = []
    for path in ("/watch/xyz", "/watch/" + os.urandom(16).hex(), f"/watch/{pid.upper()}",
                 f"/watch/{pid}/..%2f..%2fmetrics", f"/watch/{chan['channel_id']}"):
        r = raw(a, "GET", path)
        if r.status not in refusals(path):
            bad.append(f"{path}: {show(r)}")
    tap.result("/watch/<bad> (not hex, unknown, upper case, traversal, the channel id): 404", not bad, bad)

    r = sl.request(a.url + "/")
    tap.result("GET /: 200 HTML", r.status == 200 and r.headers.get("content-type", "").startswith("text/html")
               and b"<html" in r.body.lower(), [show(r)])

    bad = []
    for path in ("/nope", "/api/channelsx", "/hlsx/" + fake_pid, "/static/other.js", "/index.html"):
        r = raw(a, "GET", path)
        if r.status != 404:
            bad.append(f"{path}: {show(r)}")
    tap.result("unknown paths: 404", not bad, bad)

    bad = []
    for method, path, must_allow in (("PUT", "/metrics", "GET"), ("POST", "/healthz", "GET"),
                                     ("DELETE", f"/hls/{fake_pid}/index.m3u8", "GET"),
                                     ("POST", f"/watch/{pid}", "GET"), ("PUT", "/", "POST"),
                                     ("PATCH", "/api/channels", "POST"),
                                     ("POST", f"/api/channels/{chan['channel_id']}", "DELETE")):
        r = raw(a, method, path, b"{}" if method != "DELETE" else None, JSON_HEADERS)
        allow = [m.strip() for m in r.headers.get("allow", "").split(",")]
        if r.status != 405 or must_allow not in allow:
            bad.append(f"{method} {path}: {show(r)}, Allow {r.headers.get('allow')!r}")
    tap.result("wrong methods: 405 with Allow", not bad, bad)


def publish_test_url(tap: Tap, b: sl.Server, made: dict, token: str) -> None:
    """`nagare publish-test URL`: the channel's API URL gives it the ports;
    the channel then counts packets. A wrong token or id is an error exit
    with the server's reason."""
    url = f"{b.url}/api/channels/{made['channel_id']}"
    bad = []
    for args, want in (([url], "401"), ([f"{b.url}/api/channels/{'0' * 32}", "--token", token], "404"),
                       (["not a url"], "URL")):
        p = subprocess.run([sl.NAGARE, "publish-test", *args, "--seconds", "1"], capture_output=True, text=True,
                           timeout=30)
        if p.returncode == 0 or want not in p.stderr:
            bad.append(f"{args}: exit {p.returncode}, {p.stderr.strip()[-200:]!r} (wanted {want})")
    p = subprocess.run([sl.NAGARE, "publish-test", url, "--token", token, "--seconds", "3"], capture_output=True,
                       text=True, timeout=30)
    r = api(b, "GET", f"/api/channels/{made['channel_id']}", token=token)
    packets = json_of(r).get("packets_in", 0) if r.status == 200 else 0
    if p.returncode != 0 or packets < 100:
        bad.append(f"with the token: exit {p.returncode}, {packets} packets counted; {p.stderr.strip()[-200:]!r}")
    tap.result("publish-test URL: ports from the channel's API URL; a wrong token or id is refused with the reason",
               not bad, bad)


def auth(tap: Tap, base: int) -> sl.Server:
    token = os.urandom(12).hex()
    b = sl.Server(args=["--token", token, "--rtp-ports", f"{base}-{base + 3}"]).start()

    bad = []
    for name, r in (("RPC", rpc(b, sl.LIST)), ("REST", api(b, "GET", "/api/channels")),
                    ("REST create", api(b, "POST", "/api/channels", CHANNEL)),
                    ("RPC create", rpc(b, sl.CREATE, CHANNEL))):
        if r.status != 401 or not r.headers.get("www-authenticate", "").lower().startswith("bearer") \
                or not error_of(r):
            bad.append(f"{name}: {show(r)}, WWW-Authenticate {r.headers.get('www-authenticate')!r}")
    if folders(b):
        bad.append(f"created without a token: {sorted(folders(b))}")
    tap.result("--token: no Authorization → 401 with WWW-Authenticate: Bearer, nothing created", not bad, bad)

    bad = []
    for value in (f"Bearer {token}x", f"Bearer {token[:-1]}", "Bearer ", f"Basic {token}", token,
                  f"Bearer {token.upper()}"):
        for name, r in (("RPC", rpc(b, sl.LIST, headers={"Authorization": value})),
                        ("REST", api(b, "GET", "/api/channels", headers={"Authorization": value}))):
            if r.status != 401:
                bad.append(f"{name} with {value!r}: {show(r)}")
    if folders(b):
        bad.append("created with a wrong token")
    tap.result("--token: a wrong token → 401", not bad, bad)

    bad = []
    r = rpc(b, sl.LIST, token=token)
    if r.status != 200:
        bad.append(f"ListChannels: {show(r)}")
    r = api(b, "GET", "/api/channels", token=token)
    if r.status != 200:
        bad.append(f"GET /api/channels: {show(r)}")
    r = rpc(b, sl.CREATE, CHANNEL, token=token)
    made = json_of(r) if r.status == 200 else None
    if not made:
        bad.append(f"CreateChannel: {show(r)}")
    tap.result("--token: Authorization: Bearer T → 200", not bad, bad)

    if made:
        pid, files = fake_tree(b.data_dir)
        bad = []
        for path in (f"/hls/{pid}/index.m3u8", f"/hls/{pid}/0/b1-00000.ts", f"/hls/{pid}/thumbnail.jpg",
                     "/healthz", "/metrics", f"/watch/{playback_id(made)}", "/static/hls.min.js", "/"):
            r = sl.request(b.url + path)
            if r.status != 200:
                bad.append(f"{path}: {show(r)}")
        r = raw(b, "OPTIONS", "/api/channels", headers={"Origin": "http://app.example",
                                                        "Access-Control-Request-Method": "POST"})
        if not (200 <= r.status < 300):
            bad.append(f"OPTIONS /api/channels (a preflight carries no token): {show(r)}")
        tap.result("--token: HLS files, pages, /healthz, /metrics and preflights stay public", not bad, bad)

        publish_test_url(tap, b, made, token)

        r = api(b, "DELETE", f"/api/channels/{made['channel_id']}")
        r2 = api(b, "DELETE", f"/api/channels/{made['channel_id']}", token=token)
        tap.result("--token: DELETE needs the token too (401 without, 200 with)",
                   r.status == 401 and r2.status == 200, [show(r), show(r2)])
    return b


def port_range(tap: Tap, base: int) -> sl.Server:
    c = sl.Server(args=["--rtp-ports", f"{base}-{base + 3}"]).start()
    r1, r2 = rpc(c, sl.CREATE, CHANNEL), api(c, "POST", "/api/channels", CHANNEL)
    one, two = json_of(r1), json_of(r2)
    ok = r1.status == 200 and r2.status == 201
    tap.result(f"--rtp-ports {base}-{base + 3}: two channels fit ({base}, {base + 2})",
               ok and one["rtp"]["video_port"] == base and two["rtp"]["video_port"] == base + 2,
               [show(r1), show(r2)])
    before = folders(c)
    bad = []
    for name, r in (("RPC", rpc(c, sl.CREATE, CHANNEL)), ("REST", api(c, "POST", "/api/channels", CHANNEL))):
        err = error_of(r) or ""
        if r.status != 503 or "port" not in err.lower():
            bad.append(f"{name}: {show(r)}")
    if folders(c) != before or len(channel_ids(c) or ()) != 2:
        bad.append("a channel was created")
    tap.result("the third channel: 503 with a message about the ports, nothing created", not bad, bad)

    if ok:
        api(c, "DELETE", f"/api/channels/{one['channel_id']}")
        # The deleted channel ends its playlists before its ports come back.
        t0 = time.monotonic()
        got: list[sl.Response] = []

        def again() -> bool:
            r = api(c, "POST", "/api/channels", CHANNEL)
            got.append(r)
            return r.status == 201

        came_back = sl.wait_for(again, 15, 0.2)
        last = got[-1] if got else None
        port = (json_of(last) or {}).get("rtp", {}).get("video_port") if last else None
        tap.result("after deleting one, a create succeeds again, on the freed pair",
                   came_back and port == base,
                   [f"after {time.monotonic() - t0:.2f} s, {len(got)} tries; last {show(last) if last else '-'}"])
    return c


def held_ports(tap: Tap, base: int) -> sl.Server:
    """Ports another process holds are skipped: here this process binds the
    first pair's video port and the second pair's audio port."""
    held = []
    for port in (base, base + 3):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", port))
        held.append(s)
    d = sl.Server(args=["--rtp-ports", f"{base}-{base + 5}"]).start()
    try:
        r = api(d, "POST", "/api/channels", CHANNEL)
        port = (json_of(r) or {}).get("rtp", {}).get("video_port")
        tap.result(f"ports held by another process are skipped: {base} and {base + 3} held → {base + 4}",
                   r.status == 201 and port == base + 4, [show(r)])
        r = api(d, "POST", "/api/channels", CHANNEL)
        tap.result("with the other pairs held, the next create: 503", r.status == 503, [show(r)])
        held[0].close()
        r = api(d, "POST", "/api/channels", CHANNEL)
        port = (json_of(r) or {}).get("rtp", {}).get("video_port")
        tap.result(f"once {base} is released, a create gets it", r.status == 201 and port == base, [show(r)])
    finally:
        for s in held:
            s.close()
    return d


def sigterm(tap: Tap, server: sl.Server, name: str) -> None:
    n = len(channel_ids(server) or ())
    server.proc.send_signal(signal.SIGTERM)
    rc, took = wait_exit(server.proc, 10)
    if rc is None:
        server.proc.kill()
        server.proc.wait()
    tap.result(f"SIGTERM with {n} channel(s) ({name}): exit 0 within 10 s", rc == 0 and n > 0,
               [f"exit {rc} after {took:.2f} s"])


def main() -> int:
    tap = Tap()
    base = free_port_block(34)
    tap.diag(f"nagare: {sl.NAGARE}; RTP ports from {base}")
    servers: list[sl.Server] = []
    try:
        a = sl.Server(args=["--rtp-ports", f"{base}-{base + 19}"]).start()
        servers.append(a)
        made = create_and_list(tap, a, base)
        bad_requests(tap, a, base + 4)
        fake_pid = hls_serving(tap, a)
        traversal(tap, a, fake_pid)
        if made:
            pages(tap, a, made[0], fake_pid)
        targets(tap, a)
        deletes(tap, a, made)
        # SIGTERM with channels present: create two more first.
        rpc(a, sl.CREATE, CHANNEL)
        api(a, "POST", "/api/channels", CHANNEL)
        sigterm(tap, a, "the API server")

        servers.append(auth(tap, base + 20))
        servers.append(port_range(tap, base + 24))
        servers.append(held_ports(tap, base + 28))
        rcs = []
        for s in servers[1:]:
            s.proc.send_signal(signal.SIGTERM)
            rcs.append(wait_exit(s.proc, 10))
        tap.result("the other servers exit 0 on SIGTERM within 10 s", all(rc == 0 for rc, _ in rcs),
                   [f"exit {rc} after {t:.2f} s" for rc, t in rcs])
    except Exception as e:  # a crash of the driver is one failed line, with the logs
        tap.result("the driver ran to its end", False, [f"{type(e).__name__}: {e}"])
    finally:
        for s in servers:
            if s.proc and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        if tap.failed:
            for s in servers:
                tap.diag(f"--- {s.data_dir}/serve.log")
                tap.diag(s.log()[-4000:])
        else:
            for s in servers:
                shutil.rmtree(s.data_dir, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
