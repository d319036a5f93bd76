"""WebRTC ingest of `nagare serve`, without a browser: WHIP (RFC 9725) and
Sora-compatible signaling as a client speaks them, and real WebRTC media
from `nagare publish-test --whip` (GStreamer's webrtcbin, which publishes as
OBS does: every candidate in one offer, no trickle, DELETE at the end).

The offers are real: Chromium's (tests/unit/data/chrome_offer.sdp, captured
from Debian's chromium) and webrtcbin's own. The browser cases, the Sora
JavaScript SDK and latency figures are in tests/player/webrtc_publish_test.mjs.

Cases, one TAP line each:
  1-6    WHIP refusals: unknown channel (404), no or wrong credential (401,
         and the API token is not a publish credential), wrong Content-Type
         (415), garbage SDP (400), offers without H.264 packetization-mode=1
         or without Opus (422). None leaves a session behind.
  7      OPTIONS: CORS preflight with Accept-Post and the exposed headers.
  8      Chromium's offer is answered as RFC 9725 and the issue require:
         201, Location, ETag, application/sdp, recvonly, BUNDLE, rtcp-mux, one
         codec per m-line, H.264 with the offer's profile-level-id, Opus
         48000/2, NACK and PLI and transport-cc, candidates with an IPv4 UDP
         host first and end-of-candidates.
  9      A second publisher gets 409 while the first session exists.
 10      PATCH trickle fragments: 204 (no If-Match needed), 415 for another
         type, 422 for an ICE restart, 400 for a bad candidate.
 11      DELETE: 200, then 404; the channel takes a new publisher at once.
 12      --stun-server: Link: <stun:…>; rel="ice-server" on POST and OPTIONS.
 13      Key frames: with --key-frame-interval 2 the publisher's encoder is
         asked for one (an RTCP PLI through webrtcbin) every 2 s.
 14      Real media over WHIP: the channel goes live and its segments are
         H.264 at the rendition's size with MP3; a second publish-test is
         refused (409) and the first goes on; after DELETE the channel idles.
 15      A publisher killed mid-stream (SIGKILL: no DELETE, no DTLS close):
         the session ends by its media timeout, the channel idles, and a new
         publisher is accepted.
 16-20   Sora signaling refusals, each a WebSocket close with a code and a
         reason: unknown channel_id, role recvonly, malformed JSON, a message
         before connect, a second publisher.
 21      Sora signaling offer: recvonly Opus and H.264 with the probe's
         profile, candidates inside, connection_id and mid; disconnect closes
         with 1000 and frees the channel.
 22-23   ffmpeg's WHIP muxer and GStreamer's whipclientsink publish, where
         the machine has them (Debian 12 has neither: SKIP, saying so).
 24      100 WHIP create/delete cycles and 3 connected publishes: the
         server's threads and open files come back to where they were (no
         leaked webrtcbin, socket or thread), and /metrics counts no
         publisher.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from serve_lib import NAGARE, Server, Tap, WebSocket, request, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHROME_OFFER = open(os.path.join(HERE, "..", "unit", "data", "chrome_offer.sdp")).read()
WEBRTCBIN_OFFER = open(os.path.join(HERE, "..", "unit", "data", "webrtcbin_offer.sdp")).read()

CHANNEL = {
    "hls": [{"video": {"width": 640, "height": 360, "fps": 30, "bps": 800000}, "audio": {"bps": 64000}}],
    "segment_duration": 1,
}


def sdp_lines(text: str) -> list[str]:
    return [line for line in text.replace("\r\n", "\n").split("\n") if line]


def media_sections(text: str) -> list[list[str]]:
    sections: list[list[str]] = []
    for line in sdp_lines(text):
        if line.startswith("m="):
            sections.append([])
        if sections:
            sections[-1].append(line)
    return sections


def whip_post(url: str, offer: str, token: str | None, content_type: str = "application/sdp"):
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return request(url, "POST", offer, headers)


def absolute(server: Server, location: str) -> str:
    return location if location.startswith("http") else server.url + location


def without_codec(offer: str, kind: str, encoding: str) -> str:
    """The offer with every payload type of `encoding` in `kind` m-lines gone."""
    out, section_kind, drop = [], None, set()
    for line in sdp_lines(offer):
        if line.startswith("m="):
            section_kind = line[2:].split()[0]
        m = re.match(r"a=rtpmap:(\d+) ([^/]+)/", line)
        if m and section_kind == kind and m.group(2).lower() == encoding.lower():
            drop.add(m.group(1))
    for line in sdp_lines(offer):
        if line.startswith("m=" + kind):
            parts = line.split()
            line = " ".join(parts[:3] + [p for p in parts[3:] if p not in drop])
        m = re.match(r"a=(rtpmap|fmtp|rtcp-fb):(\d+) ", line)
        if m and m.group(2) in drop:
            continue
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def proc_counts(pid: int) -> tuple[int, int]:
    """Threads and open files of a process. HTTP connections whose client
    has gone (CLOSE_WAIT) are not counted: libsoup closes them a little
    later, and they are not what a leak check is after."""
    closing = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        closing.update(r.split()[9] for r in rows if r.split()[3] == "08")
    files = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        files += not (m and m.group(1) in closing)
    return len(os.listdir(f"/proc/{pid}/task")), files


def channel_state(server: Server, channel: dict) -> str:
    r = request(f"{server.url}/api/channels/{channel['channel_id']}", headers={"Authorization": "Bearer api-secret"})
    return r.json().get("state", "") if r.status == 200 else f"HTTP {r.status}"


def publishers_now(server: Server) -> str | None:
    metrics = request(server.url + "/metrics").body.decode()
    m = re.search(r"^nagare_webrtc_publishers (\d+)$", metrics, re.M)
    return m.group(1) if m else None


def segments(server: Server, channel: dict) -> list[str]:
    folder = os.path.join(server.channel_dir(channel), "0")
    try:
        return sorted(f for f in os.listdir(folder) if f.endswith(".ts"))
    except OSError:
        return []


def publish_whip(channel: dict, seconds: float = 0) -> subprocess.Popen:
    args = [NAGARE, "publish-test", "--whip", channel["whip_url"], "--token", channel["channel_id"]]
    if seconds:
        args += ["--seconds", str(seconds)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main() -> int:
    tap = Tap()
    server = Server(args=["--token", "api-secret", "--key-frame-interval", "2"]).start()
    try:
        run(tap, server)
    finally:
        code = server.stop()
        if code != 0:
            print(f"# serve exited {code}; log:\n# " + server.log().replace("\n", "\n# "))
    return tap.finish()


def run(tap: Tap, server: Server) -> None:
    ch = server.create(CHANNEL, token="api-secret")
    other = server.create(CHANNEL, token="api-secret")
    url, cid = ch["whip_url"], ch["channel_id"]

    # 1-6: refusals, and none leaves a session: a good offer is taken after.
    r = whip_post(server.url + "/whip/" + "0" * 32, CHROME_OFFER, cid)
    tap.check(r.status == 404 and b"no such channel" in r.body, "WHIP POST to an unknown channel: 404",
              f"{r.status} {r.body!r}")
    r1 = whip_post(url, CHROME_OFFER, None)
    r2 = whip_post(url, CHROME_OFFER, other["channel_id"])
    r3 = whip_post(url, CHROME_OFFER, "api-secret")
    tap.check(all(r.status == 401 for r in (r1, r2, r3)) and r1.headers.get("www-authenticate") == "Bearer"
              and b"error" in r2.body,
              "WHIP POST without the channel's credential (none, another channel's, the API token): 401",
              f"{r1.status} {r2.status} {r3.status} {r2.body!r}")
    r = whip_post(url, CHROME_OFFER, cid, "application/json")
    tap.check(r.status == 415 and r.headers.get("accept-post") == "application/sdp",
              "WHIP POST with Content-Type application/json: 415 with Accept-Post", f"{r.status} {r.headers}")
    bad = [whip_post(url, body, cid) for body in ("", "hello", "v=0\r\nm=video 9\r\n", "\x00" * 100)]
    tap.check(all(r.status == 400 and r.json()["error"].startswith("offer") for r in bad),
              "WHIP POST of garbage SDP (empty, text, a broken m-line, NUL bytes): 400 naming the offer",
              "; ".join(f"{r.status} {r.body[:80]!r}" for r in bad))
    no_h264 = whip_post(url, without_codec(CHROME_OFFER, "video", "H264"), cid)
    tap.check(no_h264.status == 422 and "H.264" in no_h264.json()["error"],
              "WHIP POST of an offer without H.264: 422 saying so", f"{no_h264.status} {no_h264.body!r}")
    no_opus = whip_post(url, without_codec(CHROME_OFFER, "audio", "opus"), cid)
    tap.check(no_opus.status == 422 and "pus" in no_opus.json()["error"],
              "WHIP POST of an offer without Opus: 422 saying so", f"{no_opus.status} {no_opus.body!r}")

    # 7: CORS preflight.
    r = request(url, "OPTIONS", headers={"Origin": "http://example.test",
                                          "Access-Control-Request-Method": "POST"})
    expose = r.headers.get("access-control-expose-headers", "")
    tap.check(r.status in (200, 204) and r.headers.get("accept-post") == "application/sdp"
              and r.headers.get("access-control-allow-origin") == "*"
              and all(h in expose for h in ("Location", "ETag", "Link", "Accept-Patch"))
              and "POST" in r.headers.get("access-control-allow-methods", ""),
              "WHIP OPTIONS: CORS with Accept-Post: application/sdp, exposing Location, ETag, Link, Accept-Patch",
              f"{r.status} {r.headers}")

    # 8: Chromium's offer answered.
    r = whip_post(url, CHROME_OFFER, cid)
    answer = r.body.decode(errors="replace")
    problems = []
    if r.status != 201:
        problems.append(f"status {r.status} {answer[:200]}")
    location = r.headers.get("location", "")
    if not re.fullmatch(r"/whip/[0-9a-f]{32}/sessions/[0-9a-f]{32}", location):
        problems.append(f"Location {location!r}")
    if not re.fullmatch(r'"[^"]+"', r.headers.get("etag", "")):
        problems.append(f"ETag {r.headers.get('etag')!r}")
    if not r.headers.get("content-type", "").startswith("application/sdp"):
        problems.append(f"Content-Type {r.headers.get('content-type')!r}")
    sections = media_sections(answer)
    if "a=group:BUNDLE 0 1" not in sdp_lines(answer):
        problems.append("no BUNDLE 0 1")
    for section in sections:
        m = section[0].split()
        if len(m) != 4:
            problems.append(f"not one codec: {section[0]}")
        for need in ("a=recvonly", "a=rtcp-mux", "a=end-of-candidates"):
            if need not in section:
                problems.append(f"{m[0]}: no {need}")
        candidates = [line for line in section if line.startswith("a=candidate:")]
        first = candidates[0].split() if candidates else []
        if not first or first[2].lower() != "udp" or ":" in first[4] or first[7] != "host":
            problems.append(f"{m[0]}: first candidate {candidates[:1]}")
    video = next((s for s in sections if s[0].startswith("m=video")), [])
    audio = next((s for s in sections if s[0].startswith("m=audio")), [])
    vpt = video[0].split()[3] if video else "?"
    for need in (f"a=rtpmap:{vpt} H264/90000", f"a=rtcp-fb:{vpt} nack", f"a=rtcp-fb:{vpt} nack pli",
                 f"a=rtcp-fb:{vpt} transport-cc"):
        if need not in video:
            problems.append(f"video: no {need}")
    fmtp = next((line for line in video if line.startswith(f"a=fmtp:{vpt} ")), "")
    if "packetization-mode=1" not in fmtp or "profile-level-id=42e01f" not in fmtp:
        problems.append(f"video fmtp {fmtp!r}")
    if not any(re.fullmatch(r"a=rtpmap:111 (?i:opus)/48000/2", line) for line in audio):
        problems.append("audio: no opus/48000/2 on 111")
    tap.check(not problems, "WHIP answer to Chromium's offer: 201, Location, ETag, recvonly, BUNDLE, one codec per "
              f"m-line, H.264 {vpt} with profile-level-id=42e01f, NACK/PLI/transport-cc, Opus, IPv4 host first",
              "; ".join(problems))
    session = absolute(server, location)
    auth = {"Authorization": f"Bearer {cid}"}

    # 9: one publisher per channel.
    r = whip_post(url, WEBRTCBIN_OFFER, cid)
    tap.check(r.status == 409 and "publisher" in r.json().get("error", ""),
              "a second WHIP publisher while a session exists: 409", f"{r.status} {r.body!r}")

    # 10: trickle.
    ufrag = next(line for line in sdp_lines(CHROME_OFFER) if line.startswith("a=ice-ufrag:"))
    pwd = next(line for line in sdp_lines(CHROME_OFFER) if line.startswith("a=ice-pwd:"))
    frag = (f"{ufrag}\r\n{pwd}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
            "a=candidate:1 1 udp 2122194687 192.0.2.2 40000 typ host\r\na=end-of-candidates\r\n")
    frag_type = {"Content-Type": "application/trickle-ice-sdpfrag"}
    p_ok = request(session, "PATCH", frag, {**auth, **frag_type})
    p_type = request(session, "PATCH", frag, {**auth, "Content-Type": "text/plain"})
    p_restart = request(session, "PATCH", frag.replace(ufrag, "a=ice-ufrag:restart1"), {**auth, **frag_type})
    p_bad = request(session, "PATCH", frag.replace("typ host", "").replace("1 udp", "x udp"), {**auth, **frag_type})
    p_auth = request(session, "PATCH", frag, frag_type)
    tap.check(p_ok.status == 204 and p_type.status == 415 and p_restart.status == 422 and p_bad.status == 400
              and p_auth.status == 401,
              "WHIP PATCH: trickle 204 without If-Match, other type 415, ICE restart 422, bad candidate 400, "
              "no credential 401",
              f"{p_ok.status} {p_type.status} {p_restart.status} {p_bad.status} {p_auth.status} {p_bad.body!r}")

    # 11: DELETE frees the channel.
    d1 = request(session, "DELETE", headers=auth)
    d2 = request(session, "DELETE", headers=auth)
    again = whip_post(url, WEBRTCBIN_OFFER, cid)
    if again.status == 201:
        request(absolute(server, again.headers["location"]), "DELETE", headers=auth)
    tap.check(d1.status == 200 and d2.status == 404 and again.status == 201,
              "WHIP DELETE: 200, then 404; the channel takes the next publisher (webrtcbin's offer: 201)",
              f"{d1.status} {d2.status} {again.status} {again.body[:200]!r}")

    # 12: Link to the configured STUN server.
    stun_server = Server(args=["--stun-server", "stun:127.0.0.1:3478"]).start()
    try:
        sc = stun_server.create(CHANNEL)
        r = whip_post(sc["whip_url"], CHROME_OFFER, sc["channel_id"])
        o = request(sc["whip_url"], "OPTIONS")
        link = '<stun:127.0.0.1:3478>; rel="ice-server"'
        tap.check(r.status == 201 and r.headers.get("link") == link and o.headers.get("link") == link,
                  "--stun-server: Link: <stun:127.0.0.1:3478>; rel=\"ice-server\" on POST and OPTIONS",
                  f"{r.status} {r.headers.get('link')!r} {o.headers.get('link')!r}")
    finally:
        stun_server.stop()

    # 13-14: key frames, and real media over WHIP.
    pid = server.proc.pid
    pub = publish_whip(ch)
    published_at = time.monotonic()
    live = wait_for(lambda: channel_state(server, ch) == "live" and len(segments(server, ch)) >= 3, 30)
    second = publish_whip(ch, seconds=5)
    second_out, _ = second.communicate(timeout=30)
    count_before = len(segments(server, ch))
    time.sleep(3)
    grew = len(segments(server, ch)) > count_before and pub.poll() is None
    probe = ""
    files = segments(server, ch)
    if len(files) >= 2:
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
                                "-of", "compact", os.path.join(server.channel_dir(ch), "0", files[-2])],
                               capture_output=True, text=True).stdout
    pub.send_signal(signal.SIGINT)
    pub_out, _ = pub.communicate(timeout=20)
    idle = wait_for(lambda: channel_state(server, ch) in ("idle", "waiting"), 10)
    asked = re.search(r"key frames asked for by the receiver: (\d+)", pub_out)
    plis = int(asked.group(1)) if asked else 0
    published_for = time.monotonic() - published_at
    # The publisher's own rtpsession (GStreamer's) lets through one request
    # per two RTCP intervals, so fewer arrive than the 2 s asks for.
    tap.check(plis >= 2,
              f"--key-frame-interval 2: RTCP PLIs reached the publisher's encoder as {plis} key frame requests "
              f"in {published_for:.0f} s", pub_out[-300:])
    tap.check(live and "codec_name=h264|width=640|height=360" in probe and "codec_name=mp3" in probe
              and second.returncode != 0 and "409" in second_out and grew and "DELETE: HTTP 200" in pub_out and idle,
              "publish-test over WHIP: live with 640x360 H.264 + MP3 segments; a second publisher refused (409) "
              "while the first goes on; after DELETE the channel idles",
              f"live={live} grew={grew} idle={idle} probe={probe!r} second={second.returncode} "
              f"{second_out[-200:]!r} first={pub_out[-200:]!r}")

    # 15: a publisher killed mid-stream.
    pub = publish_whip(ch)
    started = wait_for(lambda: channel_state(server, ch) == "live", 30)
    pub.kill()
    pub.wait()
    killed_at = time.monotonic()
    freed = wait_for(lambda: "publisher gone: no media" in server.log(), 15)
    freed_after = time.monotonic() - killed_at
    idle = wait_for(lambda: channel_state(server, ch) in ("idle", "waiting", "ended"), 10)
    r = whip_post(url, WEBRTCBIN_OFFER, cid)
    if r.status == 201:
        request(absolute(server, r.headers["location"]), "DELETE", headers=auth)
    tap.check(started and freed and idle and r.status == 201,
              f"a WHIP publisher killed mid-stream: its session ends by the media timeout ({freed_after:.1f} s), "
              "the channel idles, the next publisher is accepted",
              f"started={started} freed={freed} idle={idle} next={r.status}")

    # 16-20: Sora signaling refusals.
    sora_url = ch["sora_url"]

    def refused(messages: list[str]):
        ws = WebSocket(sora_url)
        for m in messages:
            ws.send_text(m)
        (code, reason), _ = ws.until_close()
        ws.close()
        return code, reason

    code, reason = refused([json.dumps({"type": "connect", "role": "sendonly", "channel_id": "nope"})])
    tap.check(code == 4404 and "channel_id" in reason, "Sora connect to an unknown channel_id: closed 4404 with a reason",
              f"{code} {reason!r}")
    code, reason = refused([json.dumps({"type": "connect", "role": "recvonly", "channel_id": cid})])
    tap.check(code == 4403 and "recvonly" in reason, "Sora connect with role recvonly: closed 4403 with a reason",
              f"{code} {reason!r}")
    code, reason = refused(["{not json"])
    tap.check(code == 4400 and "malformed" in reason, "Sora signaling: malformed JSON closes 4400", f"{code} {reason!r}")
    code, reason = refused([json.dumps({"type": "answer", "sdp": "v=0"})])
    tap.check(code == 4400 and "before connect" in reason, "Sora signaling: an answer before connect closes 4400",
              f"{code} {reason!r}")
    held = whip_post(url, CHROME_OFFER, cid)
    code, reason = refused([json.dumps({"type": "connect", "role": "sendonly", "channel_id": cid})])
    if held.status == 201:
        request(absolute(server, held.headers["location"]), "DELETE", headers=auth)
    tap.check(held.status == 201 and code == 4409 and "publisher" in reason,
              "Sora connect to a channel with a WHIP publisher: closed 4409, the WHIP session untouched",
              f"{held.status} {code} {reason!r}")

    # 21: the Sora offer.
    ws = WebSocket(sora_url)
    ws.send_json({"type": "connect", "role": "sendonly", "channel_id": cid, "sdp": CHROME_OFFER,
                  "audio": True, "video": {"codec_type": "H264"}})
    kind, text = ws.receive()
    offer = json.loads(text) if kind == "text" else {}
    sdp = offer.get("sdp", "")
    sections = media_sections(sdp)
    problems = []
    if offer.get("type") != "offer":
        problems.append(f"first message {text[:200]!r}")
    for key in ("connection_id", "client_id"):
        if not isinstance(offer.get(key), str) or not offer.get(key):
            problems.append(f"no {key}")
    if offer.get("simulcast") is not False:
        problems.append("simulcast is not false")
    mids = offer.get("mid", {})
    if [s[0].split()[0] for s in sections] != ["m=audio", "m=video"]:
        problems.append(f"m-lines {[s[0] for s in sections]}")
    for section in sections:
        mid = next((line[6:] for line in section if line.startswith("a=mid:")), None)
        kind_name = section[0][2:7]
        if mids.get(kind_name) != mid:
            problems.append(f"mid.{kind_name}={mids.get(kind_name)!r} vs a=mid:{mid}")
        # One codec, and for video its RTX (NACK resends) at most.
        formats = section[0].split()[3:]
        rtx = [f for f in formats[1:] if f"a=fmtp:{f} apt={formats[0]}" in section]
        if "a=recvonly" not in section or len(formats) - len(rtx) != 1 or (kind_name == "audio" and rtx):
            problems.append(f"{section[0]}: not recvonly with one codec")
        # With BUNDLE the first m-line carries the transport; the others may
        # be bundle-only (port 0, no candidates).
        if section is sections[0] and not any(line.startswith("a=candidate:") for line in section):
            problems.append(f"{section[0]}: no candidate")
        if section[0].split()[1] == "0" and "a=bundle-only" not in section:
            problems.append(f"{section[0]}: port 0 without bundle-only")
    if "profile-level-id=42e01f" not in sdp or "packetization-mode=1" not in sdp or "OPUS/48000/2" not in sdp.upper():
        problems.append("codecs")
    ws.send_json({"type": "disconnect", "reason": "NO-ERROR"})
    (code, reason), _ = ws.until_close()
    ws.close()
    r = whip_post(url, WEBRTCBIN_OFFER, cid)
    if r.status == 201:
        request(absolute(server, r.headers["location"]), "DELETE", headers=auth)
    tap.check(not problems and code == 1000 and r.status == 201,
              "Sora signaling: connect → offer (recvonly Opus + H.264 42e01f, candidates, connection_id, mid); "
              "disconnect → close 1000 and the channel is free",
              "; ".join(problems) + f" close={code} {reason!r} next={r.status}")

    # 22-23: other WHIP clients, where this machine has them.
    def other_client(name: str, available: bool, missing: str, command: list[str]) -> None:
        if not available:
            tap.result(f"{name} publishes over WHIP", True, skip=missing)
            return
        before = len(segments(server, ch))
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        grew = wait_for(lambda: len(segments(server, ch)) >= before + 4, 30)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        wait_for(lambda: publishers_now(server) == "0", 10)
        tap.check(grew, f"{name} publishes over WHIP: the channel makes segments", (err or "")[-300:])

    muxers = subprocess.run(["ffmpeg", "-hide_banner", "-muxers"], capture_output=True, text=True).stdout
    other_client("ffmpeg", re.search(r"\bwhip\b", muxers) is not None,
                 "this ffmpeg has no WHIP muxer (Debian 12's 5.1; it came in 8.0)",
                 ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                  "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                  "-c:v", "libx264", "-profile:v", "baseline", "-tune", "zerolatency", "-bf", "0", "-g", "30",
                  "-c:a", "libopus", "-ac", "2", "-f", "whip", "-authorization", cid, url])
    has_whipclientsink = subprocess.run(["gst-inspect-1.0", "whipclientsink"], capture_output=True).returncode == 0
    other_client("whipclientsink", has_whipclientsink,
                 "GStreamer's whipclientsink is in gst-plugins-rs, which Debian 12 does not package",
                 ["gst-launch-1.0", "-e", "videotestsrc", "is-live=true", "!", "video/x-raw,width=640,height=360",
                  "!", "ws.", "audiotestsrc", "is-live=true", "!", "ws.", "whipclientsink", "name=ws",
                  "video-caps=video/x-h264", "audio-caps=audio/x-opus", f"signaller::whip-endpoint={url}",
                  f"signaller::auth-token={cid}"])

    # 24: no leak over 100 sessions.

    def cycle():
        r = whip_post(url, CHROME_OFFER, cid)
        if r.status == 201:
            request(absolute(server, r.headers["location"]), "DELETE", headers=auth)
        return r.status

    for _ in range(5):  # warm: GStreamer's and libnice's one-time threads and caches
        cycle()
    time.sleep(1)
    threads0, fds0 = proc_counts(pid)
    statuses = [cycle() for _ in range(100)]
    # Connected sessions (ICE, DTLS, media) leave nothing behind either;
    # cases 14 and 15 had two, so DTLS's one-time setup is done.
    connected = 0
    for _ in range(3):
        pub = publish_whip(ch, seconds=2.5)
        out, _ = pub.communicate(timeout=30)
        connected += "DELETE: HTTP 200" in out
    time.sleep(1.5)
    threads1, fds1 = proc_counts(pid)
    publishers = publishers_now(server)
    tap.check(statuses.count(201) == 100 and threads1 <= threads0 + 1 and fds1 <= fds0 + 1
              and publishers == "0" and connected == 3,
              f"100 WHIP sessions created and deleted, then 3 connected and published: threads {threads0} → "
              f"{threads1}, open files {fds0} → {fds1}, no publisher left",
              f"statuses {set(statuses)} connected={connected} "
              f"publishers={publishers}")


if __name__ == "__main__":
    sys.exit(main())
