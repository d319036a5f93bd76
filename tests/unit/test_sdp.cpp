// The SDP of WebRTC ingest (launcher/sdp.hpp), on real offers and on the
// hostile ones a public WHIP endpoint gets. Error messages are checked
// exactly: they go back to the publisher as the body of a 400.
//
// Fixtures in tests/unit/data/:
//   chrome_offer.sdp     Chromium 156.0.8078.79 (Debian 12, headless, fake
//                        camera and microphone) driven by playwright-core:
//                        getUserMedia({audio: true, video: true}), both tracks
//                        added to RTCPeerConnection({bundlePolicy:
//                        'max-bundle'}), createOffer, setLocalDescription,
//                        localDescription.sdp once ICE gathering completed.
//   firefox_offer.sdp    written by hand in Firefox's shape (attributes in
//                        alphabetical order, fmtp before rtpmap, max-bundle:
//                        the video m-line is bundle-only with port 0, FID
//                        group after the a=ssrc lines, uppercase UDP/TCP).
//   webrtcbin_offer.sdp  written by hand in the shape of a GStreamer 1.22
//                        webrtcbin sendonly publisher (whipclientsink or any
//                        GStreamer WHIP client): H.264 pt 96 42c01f with
//                        sprop-parameter-sets, "OPUS" pt 97, mids
//                        video0/audio1, video first.
//   webrtcbin_answer.sdp webrtcbin 1.22's local description after ICE
//                        gathering, answering restrict_offer(chrome_offer.sdp)
//                        in this sandbox: candidates in the first m-line only,
//                        no a=end-of-candidates, port 9, c=IN IP4 0.0.0.0, and
//                        no profile-level-id in the H.264 fmtp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "sdp.hpp"

using namespace nagare::launcher::sdp;

namespace {

std::string data_file(const std::string& name) {
  const std::string path = std::string(NAGARE_SOURCE_ROOT) + "/tests/unit/data/" + name;
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Description parsed(const std::string& text) {
  const auto result = parse(text);
  INFO(result.error);
  REQUIRE(result.value);
  CHECK(result.error.empty());
  return *result.value;
}

std::string parse_error(const std::string& text) {
  const auto result = parse(text);
  REQUIRE_FALSE(result.value);
  return result.error;
}

Choice chosen(const std::string& text) {
  const auto result = choose(parsed(text));
  INFO(result.error);
  REQUIRE(result.value);
  return *result.value;
}

std::string choose_error(const std::string& text) {
  const auto result = choose(parsed(text));
  REQUIRE_FALSE(result.value);
  return result.error;
}

// The lines of output text, which must end every line with CRLF.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    lines.push_back(text.substr(start, end - start));
    REQUIRE(lines.back().find('\n') == std::string::npos);
    start = end + 2;
  }
  return lines;
}

std::vector<std::string> lines_starting(const std::string& text, std::string_view prefix) {
  std::vector<std::string> out;
  for (const std::string& line : lines_of(text)) {
    if (line.starts_with(prefix)) out.push_back(line);
  }
  return out;
}

std::string to_lf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c != '\r') out += c;
  }
  return out;
}

void check_same(const Choice& a, const Choice& b) {
  CHECK(a.video_index == b.video_index);
  CHECK(a.video_mid == b.video_mid);
  CHECK(a.video_payload_type == b.video_payload_type);
  CHECK(a.video_fmtp == b.video_fmtp);
  CHECK(a.audio_index == b.audio_index);
  CHECK(a.audio_mid == b.audio_mid);
  CHECK(a.audio_payload_type == b.audio_payload_type);
  CHECK(a.audio_fmtp == b.audio_fmtp);
  CHECK(a.transport_cc == b.transport_cc);
  CHECK(a.nack == b.nack);
}

// Small offers in Chromium's shape, for the cases no browser sends.
const std::string kSession = "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\na=group:BUNDLE 0 1\n";
const std::string kOpus =
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\na=mid:0\na=sendrecv\na=rtpmap:111 opus/48000/2\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\n";

struct VideoFormat {
  int pt;
  std::string rtpmap;  // "H264/90000"
  std::string fmtp;    // empty for none
};

std::string video(const std::vector<VideoFormat>& formats, const std::string& attributes = "a=sendrecv\n",
                  const std::string& mid = "1", int port = 9) {
  std::string m = "m=video " + std::to_string(port) + " UDP/TLS/RTP/SAVPF";
  std::string lines;
  for (const VideoFormat& f : formats) {
    m += " " + std::to_string(f.pt);
    lines += "a=rtpmap:" + std::to_string(f.pt) + " " + f.rtpmap + "\n";
    if (!f.fmtp.empty()) lines += "a=fmtp:" + std::to_string(f.pt) + " " + f.fmtp + "\n";
  }
  return m + "\na=mid:" + mid + "\n" + attributes + lines;
}

VideoFormat h264(int pt, const std::string& profile, int mode) {
  return {pt, "H264/90000",
          "level-asymmetry-allowed=1;packetization-mode=" + std::to_string(mode) + ";profile-level-id=" + profile};
}

// libnice's candidates as webrtcbin 1.22 gathered them in this sandbox
// (on-ice-candidate), for the answer in webrtcbin_answer.sdp.
const std::vector<std::string> kWebrtcbinCandidates = {
    "candidate:1 1 UDP 2015363327 192.0.2.2 44765 typ host",
    "candidate:2 1 TCP 1015021823 192.0.2.2 9 typ host tcptype active",
    "candidate:3 1 TCP 1010827519 192.0.2.2 47781 typ host tcptype passive",
    "candidate:4 1 UDP 2015363583 fd00::2 35324 typ host",
    "candidate:5 1 TCP 1015022079 fd00::2 9 typ host tcptype active",
    "candidate:6 1 TCP 1010827775 fd00::2 47673 typ host tcptype passive",
    "candidate:7 1 UDP 2015363839 fe80::fc:ff:fe00:1 55109 typ host",
    "candidate:8 1 TCP 1015022335 fe80::fc:ff:fe00:1 9 typ host tcptype active",
    "candidate:9 1 TCP 1010828031 fe80::fc:ff:fe00:1 36573 typ host tcptype passive",
};

}  // namespace

// ---- Reading ---------------------------------------------------------------

TEST_CASE("sdp: Chromium's offer is read as it was sent", "[sdp]") {
  const Description d = parsed(data_file("chrome_offer.sdp"));
  CHECK(d.bundle == std::vector<std::string>{"0", "1"});
  REQUIRE(d.media.size() == 2);

  const Media& audio = d.media[0];
  CHECK(audio.kind == "audio");
  CHECK(audio.port == 52585);
  CHECK(audio.protocol == "UDP/TLS/RTP/SAVPF");
  CHECK(audio.mid == "0");
  CHECK(audio.direction == "sendrecv");
  CHECK(audio.ice_ufrag == "tdX5");
  CHECK(audio.ice_pwd == "YosXPKf8l8dtdMiv3Ey3M5HR");
  REQUIRE(audio.formats.size() == 8);
  CHECK(audio.formats[0].payload_type == 111);
  CHECK(audio.formats[0].encoding == "opus");
  CHECK(audio.formats[0].clock_rate == 48000);
  CHECK(audio.formats[0].channels == 2);
  CHECK(audio.formats[0].fmtp == "minptime=10;useinbandfec=1");
  CHECK(audio.formats[0].rtcp_fb == std::vector<std::string>{"transport-cc"});
  CHECK(audio.formats[1].encoding == "red");
  CHECK(audio.formats[1].fmtp == "111/111");
  CHECK(audio.formats[3].payload_type == 0);
  CHECK(audio.formats[3].encoding == "PCMU");
  CHECK(audio.formats[3].clock_rate == 8000);
  CHECK(audio.formats[3].channels == 0);

  // With max-bundle, Chromium gives the second m-line the discard port 9
  // rather than 0 with a=bundle-only, and no candidates.
  const Media& video = d.media[1];
  CHECK(video.kind == "video");
  CHECK(video.port == 9);
  CHECK(video.mid == "1");
  CHECK(video.ice_ufrag == "tdX5");
  REQUIRE(video.formats.size() == 23);
  std::vector<int> pts;
  for (const Format& f : video.formats) pts.push_back(f.payload_type);
  CHECK(pts == std::vector<int>{96, 97, 102, 103, 104, 107, 108, 109, 114, 115, 116, 117,
                                39, 40, 45,  46,  98,  99,  100, 101, 118, 119, 120});
  CHECK(video.formats[0].encoding == "VP8");
  CHECK(video.formats[0].rtcp_fb ==
        std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"});
  CHECK(video.formats[1].encoding == "rtx");
  CHECK(video.formats[1].fmtp == "apt=96");
  CHECK(video.formats[4].encoding == "H264");
  CHECK(video.formats[4].fmtp == "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f");
  CHECK(video.formats[22].encoding == "ulpfec");
  CHECK(video.formats[22].rtcp_fb.empty());
}

TEST_CASE("sdp: LF line endings read the same as CRLF", "[sdp]") {
  const std::string crlf = data_file("chrome_offer.sdp");
  check_same(chosen(to_lf(crlf)), chosen(crlf));
  // The last line may lack its line ending.
  std::string unterminated = crlf;
  unterminated.resize(unterminated.size() - 2);
  check_same(chosen(unterminated), chosen(crlf));
}

TEST_CASE("sdp: session-level ICE credentials and direction are the m-lines' defaults", "[sdp]") {
  const Description d = parsed(
      "v=0\ns=-\na=ice-ufrag:sess\na=ice-pwd:sessionpassword\na=sendonly\n"
      "m=audio 9 RTP/AVP 0\na=ice-ufrag:own\na=ice-pwd:ownpassword\n"
      "m=video 9 RTP/AVP 96\na=inactive\n");
  REQUIRE(d.media.size() == 2);
  CHECK(d.media[0].ice_ufrag == "own");
  CHECK(d.media[0].ice_pwd == "ownpassword");
  CHECK(d.media[0].direction == "sendonly");
  CHECK(d.media[1].ice_ufrag == "sess");
  CHECK(d.media[1].ice_pwd == "sessionpassword");
  CHECK(d.media[1].direction == "inactive");
  // A static payload type needs no a=rtpmap (RFC 3551 §6).
  CHECK(d.media[0].formats[0].payload_type == 0);
  CHECK(d.media[0].formats[0].encoding.empty());
}

TEST_CASE("sdp: a data channel m-line has no payload types and is no error", "[sdp]") {
  const Description d = parsed(kSession + kOpus +
                               "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=mid:2\n"
                               "a=sctp-port:5000\n");
  REQUIRE(d.media.size() == 2);
  CHECK(d.media[1].kind == "application");
  CHECK(d.media[1].protocol == "UDP/DTLS/SCTP");
  CHECK(d.media[1].formats.empty());
}

TEST_CASE("sdp: a=rtcp-fb:* applies to every format of its m-line", "[sdp]") {
  const Description d = parsed(
      "v=0\nm=video 9 RTP/AVPF 96 97\na=rtpmap:96 H264/90000\na=rtpmap:97 VP8/90000\n"
      "a=rtcp-fb:* nack\na=rtcp-fb:97 ccm fir\n");
  CHECK(d.media[0].formats[0].rtcp_fb == std::vector<std::string>{"nack"});
  CHECK(d.media[0].formats[1].rtcp_fb == std::vector<std::string>{"nack", "ccm fir"});
}

TEST_CASE("sdp: unknown lines and attributes are no error", "[sdp]") {
  const Description d = parsed(
      "v=0\nx=whatever\nno equals sign\na=x-custom:1 2 3\nm=audio 9 RTP/AVP 0\n"
      "a=rtpmapx:300 nonsense\ni=info\n\nb=AS:30\n");
  CHECK(d.media.size() == 1);
}

TEST_CASE("sdp: parse errors name the line", "[sdp]") {
  CHECK(parse_error("") == "line 1: expected v=0");
  CHECK(parse_error("v=1\nm=audio 9 RTP/AVP 0\n") == "line 1: expected v=0");
  CHECK(parse_error("o=- 1 2 IN IP4 0.0.0.0\nv=0\nm=audio 9 RTP/AVP 0\n") == "line 1: expected v=0");
  CHECK(parse_error("v=0\ns=-\n") == "description has no m= line");

  CHECK(parse_error("v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=video 9 RTP/AVP 96\na=mid:1\n"
                    "a=rtpmap:300 H264/90000\n") == "line 7: a=rtpmap: payload type 300 out of range");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96\na=rtpmap:96 H264\n") ==
        "line 3: a=rtpmap: expected \"<payload type> <encoding>/<clock rate>[/<channels>]\"");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96\na=rtpmap:96 H264/0\n") ==
        "line 3: a=rtpmap: expected \"<payload type> <encoding>/<clock rate>[/<channels>]\"");
  CHECK(parse_error("v=0\nm=audio 9 RTP/AVP 111\na=rtpmap:111 opus/48000/two\n") ==
        "line 3: a=rtpmap: expected \"<payload type> <encoding>/<clock rate>[/<channels>]\"");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96\na=rtpmap:x96 H264/90000\n") ==
        "line 3: a=rtpmap: payload type \"x96\" is not a number");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96\na=rtpmap:96 H264/90000\na=rtpmap:96 VP8/90000\n") ==
        "line 4: a=rtpmap: payload type 96 mapped twice");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96\na=fmtp:-1 apt=96\n") ==
        "line 3: a=fmtp: payload type \"-1\" is not a number");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96\na=fmtp:96 a=1\na=fmtp:96 a=2\n") ==
        "line 4: a=fmtp: payload type 96 has two a=fmtp lines");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96\na=rtcp-fb:96\n") ==
        "line 3: a=rtcp-fb: expected \"<payload type> <feedback>\"");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96\na=rtcp-fb:128 nack\n") ==
        "line 3: a=rtcp-fb: payload type 128 out of range");

  CHECK(parse_error("v=0\nm=video 9 RTP/AVP\n") == "line 2: m=: expected \"m=<media> <port> <protocol> <formats>\"");
  CHECK(parse_error("v=0\nm=video 70000 RTP/AVP 96\n") == "line 2: m=: port \"70000\" is not a number from 0 to 65535");
  CHECK(parse_error("v=0\nm=video nine RTP/AVP 96\n") == "line 2: m=: port \"nine\" is not a number from 0 to 65535");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96 128\n") == "line 2: m=: payload type 128 out of range");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96 H264\n") == "line 2: m=: payload type \"H264\" is not a number");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 96 97 96\n") == "line 2: m=: payload type 96 listed twice");
  CHECK(parse_error("v=0\nm=video 9 RTP/AVP 99999999999999999999999999999\n") ==
        "line 2: m=: payload type 999999999999999999999999... out of range");

  CHECK(parse_error("v=0\nm=audio 9 RTP/AVP 0\na=mid:\n") == "line 3: a=mid: empty");
  CHECK(parse_error("v=0\nm=audio 9 RTP/AVP 0\na=mid:0\nm=video 9 RTP/AVP 96\na=mid:0\n") ==
        "line 5: a=mid: \"0\" names two m-lines");
}

TEST_CASE("sdp: parse refuses NUL bytes, stray carriage returns and more than 64 KiB", "[sdp]") {
  const std::string nul(1, '\0');
  CHECK(parse_error("v=0\ns=-\nm=audio 9 RTP/AVP" + nul + " 0\n") == "line 3: NUL byte");
  CHECK(parse_error("v=0\ns=-\rm=audio 9 RTP/AVP 0\n") == "line 2: carriage return inside the line");

  const std::string head = kSession + kOpus + video({h264(96, "42e01f", 1)});
  const std::string padding_line = "a=x-padding:" + std::string(100, 'x') + "\n";
  std::string big = head;
  while (big.size() + padding_line.size() < std::size_t{64} * 1024) big += padding_line;
  big += std::string(std::size_t{64} * 1024 - big.size() - 1, 'y') + "\n";
  REQUIRE(big.size() == std::size_t{64} * 1024);
  CHECK(choose(parsed(big)).value);
  CHECK(parse_error(big + "z") == "description is larger than 64 KiB");
}

TEST_CASE("sdp: every prefix of Chromium's offer parses or names its line, and nothing else breaks", "[sdp]") {
  const std::string offer = data_file("chrome_offer.sdp");
  const Description whole = parsed(offer);
  for (std::size_t n = 0; n <= offer.size(); ++n) {
    const std::string prefix = offer.substr(0, n);
    const auto result = parse(prefix);
    INFO(n);
    if (!result.value) {
      CHECK((result.error.starts_with("line ") || result.error == "description has no m= line"));
      continue;
    }
    const auto choice = choose(*result.value);
    if (choice.value) CHECK(parse(restrict_offer(prefix, *choice.value)).value);
    CHECK(parse(with_candidates(prefix, kWebrtcbinCandidates)).value);
    (void)parse_fragment(prefix, whole);
  }
}

// ---- Choosing --------------------------------------------------------------

TEST_CASE("sdp: from Chromium's offer nagare takes H.264 42e01f with packetization-mode=1 and opus", "[sdp]") {
  const std::string offer = data_file("chrome_offer.sdp");
  const Choice c = chosen(offer);
  CHECK(c.video_index == 1);
  CHECK(c.video_mid == "1");
  // Not 102 (42001f, Baseline, first in the offer), nor 104/114 (mode 0).
  CHECK(c.video_payload_type == 108);
  CHECK(c.video_fmtp == "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  CHECK(c.audio_index == 0);
  CHECK(c.audio_mid == "0");
  CHECK(c.audio_payload_type == 111);
  CHECK(c.audio_fmtp == "minptime=10;useinbandfec=1");
  CHECK(c.transport_cc);
  CHECK(c.nack);
  CHECK(preferred_h264_profile(offer) == "42e01f");
}

TEST_CASE("sdp: among H.264 formats, Constrained Baseline, then Baseline, Main, High", "[sdp]") {
  // The H.264 formats of Google Chrome's offers (which add High 640c1f to
  // Chromium's), in their order; VP8 and its rtx first.
  const VideoFormat vp8{96, "VP8/90000", ""};
  const VideoFormat rtx{97, "rtx/90000", "apt=96"};
  const std::string all =
      kSession + kOpus +
      video({vp8, rtx, h264(102, "42001f", 1), h264(104, "42001f", 0), h264(106, "42e01f", 1), h264(108, "42e01f", 0),
             h264(112, "64001f", 1), h264(116, "4d001f", 1), h264(118, "4d001f", 0), h264(127, "640c1f", 1)});
  CHECK(chosen(all).video_payload_type == 106);

  CHECK(chosen(kSession + kOpus + video({h264(100, "640c1f", 1), h264(101, "4d001f", 1), h264(102, "42001f", 1)}))
            .video_payload_type == 102);
  CHECK(chosen(kSession + kOpus + video({h264(100, "640c1f", 1), h264(101, "4d001f", 1)})).video_payload_type == 101);
  CHECK(chosen(kSession + kOpus + video({h264(100, "f4001f", 1), h264(101, "640c1f", 1)})).video_payload_type == 101);
  CHECK(chosen(kSession + kOpus + video({h264(100, "f4001f", 1)})).video_payload_type == 100);
  // 42c01f and 42e01f are both Constrained Baseline: the offer's order decides.
  CHECK(chosen(kSession + kOpus + video({h264(100, "42c01f", 1), h264(101, "42e01f", 1)})).video_payload_type == 100);
  CHECK(chosen(kSession + kOpus + video({h264(100, "42e01f", 1), h264(101, "42c01f", 1)})).video_payload_type == 100);
  CHECK(chosen(kSession + kOpus + video({h264(100, "42E01F", 1)})).video_payload_type == 100);
  // Without profile-level-id it is Baseline 1.0 (RFC 6184 §8.1).
  CHECK(chosen(kSession + kOpus + video({h264(100, "4d001f", 1), {101, "H264/90000", "packetization-mode=1"}}))
            .video_payload_type == 101);
  // A profile-level-id that is not six hex digits makes the format unusable.
  CHECK(chosen(kSession + kOpus + video({h264(100, "42e01", 1), h264(101, "42zz1f", 1), h264(102, "640c1f", 1)}))
            .video_payload_type == 102);
}

TEST_CASE("sdp: packetization-mode and encoding names as writers spell them", "[sdp]") {
  // Parameter names and encoding names are case-insensitive, spaces around
  // them do not count, and the last of a repeated parameter wins (as in
  // GStreamer's caps from fmtp).
  CHECK(chosen(kSession + kOpus + video({{100, "h264/90000", " Packetization-Mode = 1 ; profile-level-id=42e01f"}}))
            .video_payload_type == 100);
  CHECK(
      choose_error(kSession + kOpus +
                   video({{100, "H264/90000", "packetization-mode=1;packetization-mode=0;profile-level-id=42e01f"}})) ==
      "offer has no H.264 with packetization-mode=1 (it offers H264)");
  CHECK(choose_error(kSession + kOpus + video({{100, "H264/48000", "packetization-mode=1;profile-level-id=42e01f"}})) ==
        "offer has no H.264 with packetization-mode=1 (it offers H264)");
}

TEST_CASE("sdp: Firefox's offer: a bundle-only video m-line with port 0 is used", "[sdp]") {
  const std::string offer = data_file("firefox_offer.sdp");
  const Description d = parsed(offer);
  REQUIRE(d.media.size() == 2);
  CHECK(d.media[1].port == 0);
  const Choice c = chosen(offer);
  CHECK(c.video_index == 1);
  CHECK(c.video_payload_type == 126);  // 97 is the same profile without packetization-mode
  CHECK(c.video_fmtp == "profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1");
  CHECK(c.audio_payload_type == 109);
  CHECK(c.audio_fmtp == "maxplaybackrate=48000;stereo=1;useinbandfec=1");
  CHECK(c.transport_cc);
}

TEST_CASE("sdp: webrtcbin's offer: OPUS in capitals, video first, its own mids", "[sdp]") {
  const std::string offer = data_file("webrtcbin_offer.sdp");
  const Choice c = chosen(offer);
  CHECK(c.video_index == 0);
  CHECK(c.video_mid == "video0");
  CHECK(c.video_payload_type == 96);
  CHECK(c.video_fmtp ==
        "packetization-mode=1;profile-level-id=42c01f;sprop-parameter-sets=Z0LAH9kAUAW7ARAAAAMAEAAAAwPA8UKZIA==,aM4PyA="
        "=");
  CHECK(c.audio_index == 1);
  CHECK(c.audio_mid == "audio1");
  CHECK(c.audio_payload_type == 97);
  CHECK(c.audio_fmtp == "sprop-maxcapturerate=48000;sprop-stereo=0");
  CHECK_FALSE(c.transport_cc);
  CHECK(c.nack);
  CHECK(preferred_h264_profile(offer) == "42c01f");
  // Without the plain "nack" line (PLI alone is no retransmission).
  std::string no_nack = offer;
  const std::string line = "a=rtcp-fb:96 nack\r\n";
  REQUIRE(no_nack.find(line) != std::string::npos);
  no_nack.erase(no_nack.find(line), line.size());
  CHECK_FALSE(chosen(no_nack).nack);
}

TEST_CASE("sdp: choose says what the offer lacks", "[sdp]") {
  const VideoFormat vp8{96, "VP8/90000", ""};
  const VideoFormat rtx{97, "rtx/90000", "apt=96"};
  const VideoFormat vp9{98, "VP9/90000", "profile-id=0"};
  CHECK(choose_error(kSession + kOpus + video({vp8, rtx, vp9, {99, "rtx/90000", "apt=98"}, {100, "red/90000", ""}})) ==
        "offer has no H.264 with packetization-mode=1 (it offers VP8, VP9)");
  CHECK(choose_error(kSession + kOpus + video({h264(102, "42001f", 0), h264(104, "42e01f", 0), vp8})) ==
        "offer has no H.264 with packetization-mode=1 (it offers H264, VP8)");
  CHECK(choose_error(kSession + kOpus + video({{102, "H264/90000", "profile-level-id=42e01f"}})) ==
        "offer has no H.264 with packetization-mode=1 (it offers H264)");
  CHECK(choose_error(kSession + kOpus + video({{97, "rtx/90000", "apt=96"}})) ==
        "offer has no H.264 with packetization-mode=1");

  const std::string h264_video = video({h264(102, "42e01f", 1)});
  CHECK(choose_error(kSession +
                     "m=audio 9 UDP/TLS/RTP/SAVPF 9 0 8\na=mid:0\na=rtpmap:9 G722/8000\n"
                     "a=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\n" +
                     h264_video) == "offer has no opus/48000/2 (it offers G722, PCMU, PCMA)");
  // RFC 7587 §7: opus/48000/2 even for mono; anything else is not Opus as WebRTC sends it.
  CHECK(choose_error(kSession + "m=audio 9 UDP/TLS/RTP/SAVPF 111\na=mid:0\na=rtpmap:111 opus/48000\n" + h264_video) ==
        "offer has no opus/48000/2 (it offers opus)");
  CHECK(choose_error(kSession + h264_video) == "offer has no audio m-line");
  CHECK(choose_error(kSession + kOpus) == "offer has no video m-line");
}

TEST_CASE("sdp: choose takes only m-lines the publisher sends on", "[sdp]") {
  const std::string h264_video = video({h264(102, "42e01f", 1)}, "a=recvonly\n");
  CHECK(choose_error(kSession + kOpus + h264_video) ==
        "offer's video m-line is recvonly (nagare needs sendonly or sendrecv)");
  CHECK(choose_error(kSession + kOpus + video({h264(102, "42e01f", 1)}, "a=inactive\n")) ==
        "offer's video m-line is inactive (nagare needs sendonly or sendrecv)");
  // A session-level direction is every m-line's default (RFC 8866 §6.7).
  CHECK(choose_error("v=0\ns=-\na=recvonly\n" + kOpus.substr(0, kOpus.find("a=sendrecv")) +
                     "a=rtpmap:111 opus/48000/2\n" + video({h264(102, "42e01f", 1)}, "")) ==
        "offer's video m-line is recvonly (nagare needs sendonly or sendrecv)");
  // Port 0 outside the BUNDLE group: rejected.
  CHECK(choose_error(kSession + kOpus + video({h264(102, "42e01f", 1)}, "a=sendonly\n", "7", 0)) ==
        "offer's video m-line is rejected (port 0)");
  CHECK(choose_error(kSession + "m=audio 0 UDP/TLS/RTP/SAVPF 111\na=rtpmap:111 opus/48000/2\n" +
                     video({h264(102, "42e01f", 1)})) == "offer's audio m-line is rejected (port 0)");

  // The first m-line that sends is taken, with its own formats.
  const Choice c = chosen(kSession + kOpus + h264_video + video({h264(100, "4d001f", 1)}, "a=sendonly\n", "2"));
  CHECK(c.video_index == 2);
  CHECK(c.video_mid == "2");
  CHECK(c.video_payload_type == 100);
  CHECK(choose_error(kSession + kOpus + video({{96, "VP8/90000", ""}}) + video({h264(100, "42e01f", 1)}, "", "2")) ==
        "offer has no H.264 with packetization-mode=1 (it offers VP8)");
}

TEST_CASE("sdp: preferred_h264_profile", "[sdp]") {
  CHECK(preferred_h264_profile("") == "42e01f");
  CHECK(preferred_h264_profile("not sdp at all") == "42e01f");
  CHECK(preferred_h264_profile(kSession + kOpus + video({{96, "VP8/90000", ""}})) == "42e01f");
  CHECK(preferred_h264_profile(kSession + video({h264(96, "4D001F", 1), h264(97, "640c1f", 1)})) == "4d001f");
  CHECK(preferred_h264_profile(kSession + video({{96, "H264/90000", "packetization-mode=1"}})) == "42000a");
}

// ---- Restricting -----------------------------------------------------------

TEST_CASE("sdp: restrict_offer leaves Chromium's offer with only the chosen formats", "[sdp]") {
  const std::string offer = data_file("chrome_offer.sdp");
  const Choice c = chosen(offer);
  const std::string restricted = restrict_offer(offer, c);

  CHECK(lines_starting(restricted, "m=") ==
        std::vector<std::string>{"m=audio 52585 UDP/TLS/RTP/SAVPF 111", "m=video 9 UDP/TLS/RTP/SAVPF 108"});
  CHECK(lines_starting(restricted, "a=rtpmap:") ==
        std::vector<std::string>{"a=rtpmap:111 opus/48000/2", "a=rtpmap:108 H264/90000"});
  CHECK(lines_starting(restricted, "a=fmtp:") ==
        std::vector<std::string>{"a=fmtp:111 minptime=10;useinbandfec=1",
                                 "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"});
  CHECK(lines_starting(restricted, "a=rtcp-fb:") ==
        std::vector<std::string>{"a=rtcp-fb:111 transport-cc", "a=rtcp-fb:108 goog-remb", "a=rtcp-fb:108 transport-cc",
                                 "a=rtcp-fb:108 ccm fir", "a=rtcp-fb:108 nack", "a=rtcp-fb:108 nack pli"});
  // The rtx SSRC goes with the rtx formats; the primary's lines stay.
  CHECK(lines_starting(restricted, "a=ssrc-group:").empty());
  CHECK(lines_starting(restricted, "a=ssrc:") ==
        std::vector<std::string>{
            "a=ssrc:3942303498 cname:RJOjKVMjVr7j6e3+",
            "a=ssrc:3942303498 msid:f41aad72-bad7-4c46-881a-516a88c2b85e e184497b-cba5-44b3-8673-2c6ab06580b5",
            "a=ssrc:4256459551 cname:RJOjKVMjVr7j6e3+",
            "a=ssrc:4256459551 msid:f41aad72-bad7-4c46-881a-516a88c2b85e 7633f0c2-bd16-4c85-9c3f-1babcf51c03e"});
  // Everything else is as Chromium wrote it.
  const auto original = lines_of(offer);
  const auto kept = lines_of(restricted);
  std::size_t removed = 0;
  for (const std::string& line : original) {
    if (std::find(kept.begin(), kept.end(), line) == kept.end()) ++removed;
  }
  // 2 m= lines rewritten; 29 a=rtpmap, 20 a=fmtp and 45 a=rtcp-fb lines of
  // other formats; the FID group and the two a=ssrc lines of its rtx SSRC.
  CHECK(removed == 2 + 29 + 20 + 45 + 1 + 2);
  CHECK(kept.size() == original.size() - removed + 2);
  CHECK(lines_starting(restricted, "a=candidate:").size() == 4);
  CHECK(lines_starting(restricted, "a=extmap:").size() == 15);

  const Description again = parsed(restricted);
  CHECK(again.media[0].formats.size() == 1);
  CHECK(again.media[1].formats.size() == 1);
  check_same(chosen(restricted), c);
  CHECK(restrict_offer(restricted, c) == restricted);
}

TEST_CASE("sdp: restrict_offer on Firefox's and webrtcbin's offers", "[sdp]") {
  const std::string firefox = data_file("firefox_offer.sdp");
  const Choice f = chosen(firefox);
  const std::string restricted = restrict_offer(firefox, f);
  CHECK(lines_starting(restricted, "m=") ==
        std::vector<std::string>{"m=audio 50924 UDP/TLS/RTP/SAVPF 109", "m=video 0 UDP/TLS/RTP/SAVPF 126"});
  CHECK(lines_starting(restricted, "a=fmtp:") ==
        std::vector<std::string>{"a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1",
                                 "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1"});
  CHECK(lines_starting(restricted, "a=ssrc") ==
        std::vector<std::string>{"a=ssrc:2690184567 cname:{0b7e4c2a-9f13-4d58-a6e1-3c8b5f2d7e90}",
                                 "a=ssrc:1370951042 cname:{0b7e4c2a-9f13-4d58-a6e1-3c8b5f2d7e90}"});
  CHECK(lines_starting(restricted, "a=bundle-only").size() == 1);
  check_same(chosen(restricted), f);

  // One format per m-line already: nothing to take out.
  const std::string webrtcbin = data_file("webrtcbin_offer.sdp");
  CHECK(restrict_offer(webrtcbin, chosen(webrtcbin)) == webrtcbin);
}

TEST_CASE("sdp: restrict_offer takes out simulcast and keeps SSRCs another group names", "[sdp]") {
  const std::string offer =
      kSession + kOpus +
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\na=mid:1\na=sendonly\na=rtpmap:96 VP8/90000\na=rtpmap:97 rtx/90000\n"
      "a=fmtp:97 apt=96\na=rtpmap:102 H264/90000\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\n"
      "a=rtcp-fb:* nack\na=rid:h send\na=rid:l send\na=simulcast:send h;l\n"
      "a=ssrc-group:SIM 10 20\na=ssrc-group:FID 10 11\na=ssrc-group:FID 20 10\n"
      "a=ssrc:10 cname:x\na=ssrc:11 cname:x\na=ssrc:20 cname:x\n";
  const Choice c = chosen(offer);
  CHECK(c.video_payload_type == 102);
  const std::string restricted = restrict_offer(offer, c);
  CHECK(to_lf(restricted) == kSession + kOpus +
                                 "m=video 9 UDP/TLS/RTP/SAVPF 102\na=mid:1\na=sendonly\na=rtpmap:102 H264/90000\n"
                                 "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\na=rtcp-fb:* nack\n"
                                 "a=ssrc-group:SIM 10 20\na=ssrc:10 cname:x\na=ssrc:20 cname:x\n");
  check_same(chosen(restricted), c);
}

TEST_CASE("sdp: restrict_offer leaves other m-lines as they are", "[sdp]") {
  const std::string offer = kSession + kOpus + video({h264(102, "42e01f", 1), {96, "VP8/90000", ""}}) +
                            "m=video 9 UDP/TLS/RTP/SAVPF 96 97\na=mid:2\na=rtpmap:96 VP8/90000\na=rtpmap:97 rtx/90000\n"
                            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=mid:3\n";
  const std::string restricted = to_lf(restrict_offer(offer, chosen(offer)));
  CHECK(restricted.find("m=video 9 UDP/TLS/RTP/SAVPF 102\n") != std::string::npos);
  CHECK(
      restricted.ends_with("m=video 9 UDP/TLS/RTP/SAVPF 96 97\na=mid:2\na=rtpmap:96 VP8/90000\n"
                           "a=rtpmap:97 rtx/90000\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=mid:3\n"));
}

// ---- Mending the answer ----------------------------------------------------

TEST_CASE("sdp: set_fmtp puts the offer's profile-level-id back into webrtcbin's answer", "[sdp]") {
  const std::string answer = data_file("webrtcbin_answer.sdp");
  REQUIRE(lines_starting(answer, "a=fmtp:108") ==
          std::vector<std::string>{"a=fmtp:108 packetization-mode=1;level-asymmetry-allowed=1"});
  const std::string fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
  const std::string mended = set_fmtp(answer, "1", 108, fmtp);
  CHECK(lines_starting(mended, "a=fmtp:") ==
        std::vector<std::string>{"a=fmtp:111 minptime=10;useinbandfec=1", "a=fmtp:108 " + fmtp});
  CHECK(lines_of(mended).size() == lines_of(answer).size());
  CHECK(parsed(mended).media[1].formats[0].fmtp == fmtp);
}

TEST_CASE("sdp: set_fmtp adds the line after the format's a=rtpmap when there is none", "[sdp]") {
  const std::string description =
      "v=0\nm=audio 9 RTP/AVP 111\na=mid:a\na=rtpmap:111 opus/48000/2\n"
      "m=video 9 RTP/AVP 96 0\na=mid:v\na=rtpmap:96 H264/90000\na=rtcp-fb:96 nack\n";
  CHECK(set_fmtp(description, "v", 96, "packetization-mode=1") ==
        "v=0\r\nm=audio 9 RTP/AVP 111\r\na=mid:a\r\na=rtpmap:111 opus/48000/2\r\n"
        "m=video 9 RTP/AVP 96 0\r\na=mid:v\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
        "a=rtcp-fb:96 nack\r\n");
  // A static payload type with no a=rtpmap: at the end of its m-section.
  CHECK(set_fmtp(description, "v", 0, "x=1") ==
        "v=0\r\nm=audio 9 RTP/AVP 111\r\na=mid:a\r\na=rtpmap:111 opus/48000/2\r\n"
        "m=video 9 RTP/AVP 96 0\r\na=mid:v\r\na=rtpmap:96 H264/90000\r\na=rtcp-fb:96 nack\r\na=fmtp:0 x=1\r\n");
}

TEST_CASE("sdp: set_fmtp returns text it cannot find the place in unchanged", "[sdp]") {
  const std::string answer = data_file("webrtcbin_answer.sdp");
  CHECK(set_fmtp(answer, "2", 108, "x=1") == answer);  // no such mid
  CHECK(set_fmtp(answer, "1", 111, "x=1") == answer);  // a format of another m-line
  CHECK(set_fmtp(answer, "", 108, "x=1") == answer);
  CHECK(set_fmtp(answer, "1", 108, "x=1\r\na=evil:1") == answer);  // would add a line
  CHECK(set_fmtp("", "1", 108, "x=1").empty());
  CHECK(set_fmtp("garbage", "1", 108, "x=1") == "garbage");
}

// ---- Candidates ------------------------------------------------------------

TEST_CASE("sdp: order_candidates puts IPv4 UDP host first and TCP last", "[sdp]") {
  CHECK(order_candidates(kWebrtcbinCandidates) ==
        std::vector<std::string>{
            "candidate:1 1 UDP 2015363327 192.0.2.2 44765 typ host",
            "candidate:4 1 UDP 2015363583 fd00::2 35324 typ host",
            "candidate:7 1 UDP 2015363839 fe80::fc:ff:fe00:1 55109 typ host",
            "candidate:2 1 TCP 1015021823 192.0.2.2 9 typ host tcptype active",
            "candidate:3 1 TCP 1010827519 192.0.2.2 47781 typ host tcptype passive",
            "candidate:5 1 TCP 1015022079 fd00::2 9 typ host tcptype active",
            "candidate:6 1 TCP 1010827775 fd00::2 47673 typ host tcptype passive",
            "candidate:8 1 TCP 1015022335 fe80::fc:ff:fe00:1 9 typ host tcptype active",
            "candidate:9 1 TCP 1010828031 fe80::fc:ff:fe00:1 36573 typ host tcptype passive",
        });
  CHECK(order_candidates({
            "candidate:5 1 udp 100 203.0.113.1 3478 typ relay raddr 198.51.100.9 rport 50000",
            "candidate:4 1 udp 200 198.51.100.9 50000 typ srflx raddr 10.0.0.2 rport 50000",
            "candidate:3 1 tcp 300 10.0.0.2 9 typ host tcptype active",
            "candidate:2 1 udp 400 2e0f2b4c-2b9a-4a56-9b8a-2f1c0c9e6d11.local 50001 typ host",
            "candidate:1 1 udp 500 10.0.0.2 50000 typ host",
            "candidate:6 1 udp 600 198.51.100.10 50002 typ prflx",
        }) == std::vector<std::string>{
                  "candidate:1 1 udp 500 10.0.0.2 50000 typ host",
                  "candidate:2 1 udp 400 2e0f2b4c-2b9a-4a56-9b8a-2f1c0c9e6d11.local 50001 typ host",
                  "candidate:4 1 udp 200 198.51.100.9 50000 typ srflx raddr 10.0.0.2 rport 50000",
                  "candidate:6 1 udp 600 198.51.100.10 50002 typ prflx",
                  "candidate:5 1 udp 100 203.0.113.1 3478 typ relay raddr 198.51.100.9 rport 50000",
                  "candidate:3 1 tcp 300 10.0.0.2 9 typ host tcptype active",
              });
}

TEST_CASE("sdp: order_candidates drops duplicates and what is not a candidate", "[sdp]") {
  // webrtcbin's local description repeats what on-ice-candidate reported.
  std::vector<std::string> twice = kWebrtcbinCandidates;
  twice.insert(twice.end(), kWebrtcbinCandidates.begin(), kWebrtcbinCandidates.end());
  CHECK(order_candidates(twice) == order_candidates(kWebrtcbinCandidates));

  CHECK(order_candidates({
            "",
            "a=candidate:1 1 UDP 2015363327 192.0.2.2 44765 typ host",
            "candidate:1 1 UDP 2015363327 192.0.2.2 44765 typ",
            "candidate:1 x UDP 2015363327 192.0.2.2 44765 typ host",
            "candidate:1 1 SCTP 2015363327 192.0.2.2 44765 typ host",
            "candidate:1 1 UDP high 192.0.2.2 44765 typ host",
            "candidate:1 1 UDP 2015363327 192.0.2.2 65536 typ host",
            "candidate:1 1 UDP 2015363327 192.0.2.2 44765 type host",
            "candidate:1 1 UDP 2015363327 192.0.2.2 44765 typ local",
            "candidate:1 1 UDP 2015363327 192.0.2.2 44765 typ host\r\na=evil:1",
            "end-of-candidates",
            "  candidate:2 1 UDP 2015363327 192.0.2.3 44766 typ host\r\n",
        }) == std::vector<std::string>{"candidate:2 1 UDP 2015363327 192.0.2.3 44766 typ host"});
  CHECK(order_candidates({}).empty());
}

TEST_CASE("sdp: with_candidates gives webrtcbin's answer every candidate in every m-line", "[sdp]") {
  const std::string answer = data_file("webrtcbin_answer.sdp");
  const auto ordered = order_candidates(kWebrtcbinCandidates);
  const std::string complete = with_candidates(answer, ordered);

  std::vector<std::string> expected_candidates;
  expected_candidates.reserve(ordered.size());
  for (const std::string& c : ordered) expected_candidates.push_back("a=" + c);
  std::vector<std::string> twice = expected_candidates;
  twice.emplace_back("a=end-of-candidates");
  twice.insert(twice.end(), expected_candidates.begin(), expected_candidates.end());
  twice.emplace_back("a=end-of-candidates");
  CHECK(lines_starting(complete, "a=candidate:").size() == 18);
  std::vector<std::string> candidate_lines;
  for (const std::string& line : lines_of(complete)) {
    if (line.starts_with("a=candidate:") || line == "a=end-of-candidates") candidate_lines.push_back(line);
  }
  CHECK(candidate_lines == twice);

  // RFC 8839 §4.2.1.1: the default candidate in c= and the m= port.
  CHECK(lines_starting(complete, "m=") ==
        std::vector<std::string>{"m=audio 44765 UDP/TLS/RTP/SAVPF 111", "m=video 44765 UDP/TLS/RTP/SAVPF 108"});
  CHECK(lines_starting(complete, "c=") == std::vector<std::string>{"c=IN IP4 192.0.2.2", "c=IN IP4 192.0.2.2"});
  const auto lines = lines_of(complete);
  const auto video = std::find(lines.begin(), lines.end(), "m=video 44765 UDP/TLS/RTP/SAVPF 108");
  REQUIRE(video != lines.end());
  CHECK(*(video + 1) == "c=IN IP4 192.0.2.2");
  CHECK(lines.back() == "a=end-of-candidates");

  const Description d = parsed(complete);
  CHECK(d.media[0].port == 44765);
  CHECK(d.media[1].port == 44765);
  // Doing it again changes nothing: the old candidates go first.
  CHECK(with_candidates(complete, ordered) == complete);
}

TEST_CASE("sdp: with_candidates on exact text", "[sdp]") {
  const std::string description =
      "v=0\ns=-\na=candidate:0 1 UDP 1 10.9.9.9 1 typ host\n"
      "m=audio 9 RTP/AVP 0\ni=the audio\nc=IN IP4 0.0.0.0\na=mid:0\na=candidate:9 1 UDP 1 10.9.9.9 1 typ host\n"
      "a=end-of-candidates\n"
      "m=video 0 RTP/AVP 96\nc=IN IP4 0.0.0.0\na=mid:1\na=candidate:9 1 UDP 1 10.9.9.9 1 typ host\n";
  const std::vector<std::string> candidates = {
      "candidate:1 1 UDP 10 fd00::2 5000 typ host",
      "candidate:2 2 UDP 10 10.0.0.2 5001 typ host",  // RTCP's component: not the default
      "candidate:3 1 TCP 10 10.0.0.2 9 typ host tcptype active",
      "candidate:4 1 UDP 10 10.0.0.2 5000 typ host",
      "not a candidate",
  };
  CHECK(with_candidates(description, candidates) ==
        "v=0\r\ns=-\r\n"
        "m=audio 5000 RTP/AVP 0\r\ni=the audio\r\nc=IN IP4 10.0.0.2\r\na=mid:0\r\n"
        "a=candidate:1 1 UDP 10 fd00::2 5000 typ host\r\na=candidate:2 2 UDP 10 10.0.0.2 5001 typ host\r\n"
        "a=candidate:3 1 TCP 10 10.0.0.2 9 typ host tcptype active\r\na=candidate:4 1 UDP 10 10.0.0.2 5000 typ host\r\n"
        "a=end-of-candidates\r\n"
        "m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n");

  // Without an IPv4 candidate, c= and the port stay; the list still goes in.
  CHECK(
      with_candidates("v=0\nm=audio 9 RTP/AVP 0\nc=IN IP4 0.0.0.0\n", {"candidate:1 1 UDP 10 fd00::2 5000 typ host"}) ==
      "v=0\r\nm=audio 9 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 UDP 10 fd00::2 5000 typ host\r\n"
      "a=end-of-candidates\r\n");
  // No candidates at all: the peer hears that there will be none.
  CHECK(with_candidates("v=0\nm=audio 9 RTP/AVP 0\n", {}) == "v=0\r\nm=audio 9 RTP/AVP 0\r\na=end-of-candidates\r\n");
  CHECK(with_candidates("", candidates).empty());
}

// ---- Trickle ICE -----------------------------------------------------------

TEST_CASE("sdp: parse_fragment reads a WHIP PATCH body", "[sdp]") {
  const Description offer = parsed(data_file("chrome_offer.sdp"));
  // RFC 9725 §4.3.1 / RFC 8840 §4.4 in Chromium's words: the candidates of
  // the bundled transport under mid 0, one under mid 1 for the mapping.
  const std::string fragment =
      "a=ice-options:trickle ice2\r\na=group:BUNDLE 0 1\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:tdX5\r\na=ice-pwd:YosXPKf8l8dtdMiv3Ey3M5HR\r\n"
      "a=candidate:850666292 1 udp 2122194687 192.0.2.2 52585 typ host generation 0 network-id 1\r\n"
      "a=candidate:1283178924 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active generation 0 network-id 1\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 108\r\na=mid:1\r\n"
      "a=candidate:902188932 1 udp 2122265343 fd00::2 34023 typ host generation 0 network-id 2\r\n"
      "a=end-of-candidates\r\n";
  const auto result = parse_fragment(fragment, offer);
  INFO(result.error);
  REQUIRE(result.value);
  const Fragment& f = *result.value;
  CHECK(f.ice_ufrag == "tdX5");
  CHECK(f.ice_pwd == "YosXPKf8l8dtdMiv3Ey3M5HR");
  REQUIRE(f.candidates.size() == 3);
  CHECK(f.candidates[0].mid == "0");
  CHECK(f.candidates[0].mline_index == 0);
  CHECK(f.candidates[0].candidate ==
        "candidate:850666292 1 udp 2122194687 192.0.2.2 52585 typ host generation 0 network-id 1");
  CHECK(f.candidates[1].mid == "0");
  CHECK(f.candidates[2].mid == "1");
  CHECK(f.candidates[2].mline_index == 1);
  CHECK(f.end_of_candidates);
  CHECK_FALSE(is_ice_restart(f, offer));
}

TEST_CASE("sdp: parse_fragment without m-lines or mids", "[sdp]") {
  const Description offer = parsed(data_file("webrtcbin_offer.sdp"));
  const auto result = parse_fragment("a=candidate:1 1 UDP 2015363327 192.0.2.9 40000 typ host\n", offer);
  REQUIRE(result.value);
  REQUIRE(result.value->candidates.size() == 1);
  CHECK(result.value->candidates[0].mid.empty());
  CHECK(result.value->candidates[0].mline_index == 0);
  CHECK(result.value->ice_ufrag.empty());
  CHECK_FALSE(result.value->end_of_candidates);

  // A mid holds until the next m= line.
  const auto audio = parse_fragment(
      "m=audio 9 UDP/TLS/RTP/SAVPF 97\na=mid:audio1\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\n"
      "a=candidate:1 1 UDP 2015363327 192.0.2.9 40000 typ host\n",
      offer);
  REQUIRE(audio.value);
  CHECK(audio.value->candidates[0].mid.empty());

  const auto empty = parse_fragment("", offer);
  REQUIRE(empty.value);
  CHECK(empty.value->candidates.empty());
  const auto end_only = parse_fragment("a=end-of-candidates\r\n", offer);
  REQUIRE(end_only.value);
  CHECK(end_only.value->end_of_candidates);
}

TEST_CASE("sdp: parse_fragment refuses what it cannot use", "[sdp]") {
  const Description offer = parsed(data_file("chrome_offer.sdp"));
  const auto error = [&](const std::string& text) {
    const auto result = parse_fragment(text, offer);
    REQUIRE_FALSE(result.value);
    return result.error;
  };
  CHECK(error("m=audio 9 UDP/TLS/RTP/SAVPF 111\na=mid:7\n") == "line 2: a=mid: the offer has no m-line with mid \"7\"");
  CHECK(error("a=mid:\n") == "line 1: a=mid: the offer has no m-line with mid \"\"");
  CHECK(error("a=mid:0\na=candidate:1 1 udp 2122194687 192.0.2.2 52585 typ\n") ==
        "line 2: a=candidate: fewer than 8 fields");
  CHECK(error("a=candidate:1 one udp 2122194687 192.0.2.2 52585 typ host\n") ==
        "line 1: a=candidate: component \"one\" is not a number");
  CHECK(error("a=candidate:1 1 sctp 2122194687 192.0.2.2 52585 typ host\n") ==
        "line 1: a=candidate: transport \"sctp\" is not UDP or TCP");
  CHECK(error("a=candidate:1 1 udp -5 192.0.2.2 52585 typ host\n") ==
        "line 1: a=candidate: priority \"-5\" is not a number");
  CHECK(error("a=candidate:1 1 udp 5 192.0.2.2 99999 typ host\n") ==
        "line 1: a=candidate: port \"99999\" is not a number from 0 to 65535");
  CHECK(error("a=candidate:1 1 udp 5 192.0.2.2 9 type host\n") ==
        "line 1: a=candidate: expected \"typ\" after the port");
  CHECK(error("a=candidate:1 1 udp 5 192.0.2.2 9 typ mdns\n") ==
        "line 1: a=candidate: candidate type \"mdns\" is not host, srflx, prflx or relay");
  CHECK(error("a=mid:0\na=candidate:1 1 udp 5 192.0.2.2 9 typ host" + std::string(1, '\0') + "\n") ==
        "line 2: NUL byte");
  CHECK(error("a=mid:0\ra=candidate:1 1 udp 5 192.0.2.2 9 typ host\n") == "line 1: carriage return inside the line");

  const std::string line = "a=candidate:1 1 udp 5 192.0.2.2 9 typ host\n";
  std::string big;
  while (big.size() + line.size() <= std::size_t{16} * 1024) big += line;
  big += std::string(std::size_t{16} * 1024 - big.size(), '\n');
  CHECK(parse_fragment(big, offer).value);
  CHECK(error(big + "\n") == "fragment is larger than 16 KiB");
}

TEST_CASE("sdp: is_ice_restart compares with the offer's first m-line", "[sdp]") {
  const Description offer = parsed(data_file("chrome_offer.sdp"));
  Fragment f;
  CHECK_FALSE(is_ice_restart(f, offer));
  f.ice_ufrag = "tdX5";
  f.ice_pwd = "YosXPKf8l8dtdMiv3Ey3M5HR";
  CHECK_FALSE(is_ice_restart(f, offer));
  f.ice_ufrag = "ysXw";  // RFC 9725 §4.3.2: new credentials
  CHECK(is_ice_restart(f, offer));
  f.ice_ufrag.clear();
  f.ice_pwd = "vw5LmwG4y/e6dPP/zAP9Gp5k";
  CHECK(is_ice_restart(f, offer));
  CHECK(is_ice_restart(f, Description{}));

  const auto restart = parse_fragment(
      "a=ice-options:trickle ice2\na=group:BUNDLE 0 1\nm=audio 9 UDP/TLS/RTP/SAVPF 111\na=mid:0\n"
      "a=ice-ufrag:ysXw\na=ice-pwd:vw5LmwG4y/e6dPP/zAP9Gp5k\n",
      offer);
  REQUIRE(restart.value);
  CHECK(restart.value->candidates.empty());
  CHECK(is_ice_restart(*restart.value, offer));
}
