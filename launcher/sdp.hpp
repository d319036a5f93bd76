// The SDP work of WebRTC ingest, as plain text processing with no GStreamer:
// reading a publisher's offer (WHIP) or capability probe (Sora signaling),
// choosing the one H.264 and the one Opus format nagare receives, trimming
// the offer so that webrtcbin answers with exactly those, mending what
// webrtcbin 1.22 leaves out of its answer (H.264 profile-level-id), putting
// every local candidate into a description with a reachable IPv4 UDP host
// candidate first, and reading trickle-ICE fragments (RFC 8840).
//
// Every function takes untrusted text from the network: it never throws,
// never reads out of bounds, and answers an error that names what is wrong.
// Line endings in input may be CRLF or LF; output always uses CRLF.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nagare::launcher::sdp {

// One payload type of an m-line, from a=rtpmap, a=fmtp and a=rtcp-fb.
struct Format {
  int payload_type = -1;
  std::string encoding;  // as written in a=rtpmap, e.g. "H264", "opus", "rtx"
  int clock_rate = 0;
  int channels = 0;                  // 0 when a=rtpmap gives none
  std::string fmtp;                  // the parameters after "a=fmtp:<pt> ", or empty
  std::vector<std::string> rtcp_fb;  // e.g. "nack", "nack pli", "transport-cc"
};

struct Media {
  std::string kind;       // "audio", "video", "application", …
  int port = 0;           // 0: rejected or bundle-only
  std::string protocol;   // e.g. "UDP/TLS/RTP/SAVPF"
  std::string mid;        // empty when there is no a=mid
  std::string direction;  // "sendrecv" (the default), "sendonly", "recvonly", "inactive"
  std::string ice_ufrag;  // a=ice-ufrag of this m-line, else the session's
  std::string ice_pwd;
  std::vector<Format> formats;  // in the m= line's order
};

struct Description {
  std::vector<Media> media;
  std::vector<std::string> bundle;  // mids of a=group:BUNDLE, in order
};

template <typename T>
struct Result {
  std::optional<T> value;
  std::string error;  // set when value is empty, e.g. "line 7: a=rtpmap: payload type 300 out of range"
};

// Reads a session description. Requires v=0 first, at least one m= line,
// well-formed m=, a=rtpmap, a=fmtp and a=rtcp-fb lines (payload types
// 0-127), and refuses input over 64 KiB or with NUL bytes. Unknown lines and
// attributes are kept out of the model but are no error.
Result<Description> parse(std::string_view text);

// What nagare takes from an offer: the m-line and payload type of H.264 with
// packetization-mode=1, and of opus/48000/2.
struct Choice {
  std::size_t video_index = 0;  // index of the m-line in Description::media
  std::string video_mid;
  int video_payload_type = -1;
  std::string video_fmtp;  // the offer's fmtp for it, e.g.
                           // "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
  std::size_t audio_index = 0;
  std::string audio_mid;
  int audio_payload_type = -1;
  std::string audio_fmtp;     // e.g. "minptime=10;useinbandfec=1"
  bool transport_cc = false;  // the video format offers rtcp-fb transport-cc
  bool nack = false;          // the video format offers rtcp-fb nack (retransmission)
};

// Chooses from an offer. The first audio m-line and the first video m-line
// that are not rejected (port 0 without bundle) and whose direction lets the
// offerer send (sendrecv or sendonly) are used. H.264 must have
// packetization-mode=1; among several, constrained baseline (profile_idc 0x42
// with constraint_set1, e.g. 42e01f / 42c01f) is preferred, then baseline,
// then main (0x4d), then high (0x64); ties keep the offer's order. Opus must
// be opus/48000/2. Errors say which is missing, e.g. "offer has no H.264 with
// packetization-mode=1 (it offers VP8, VP9)" or "offer has no audio m-line".
Result<Choice> choose(const Description& offer);

// The offer rewritten for webrtcbin: in the chosen video and audio m-lines
// only the chosen payload type remains (the m= format list, and the
// a=rtpmap, a=fmtp and a=rtcp-fb lines of every other payload type are
// removed, with a=ssrc-group:FID and the a=ssrc lines of the SSRCs only that
// group names, and a=rid / a=simulcast lines); any other m-line is kept as it
// is. The input must be the text `choice` was made from.
std::string restrict_offer(std::string_view offer, const Choice& choice);

// The profile-level-id the answer or offer should carry for H.264, from a
// client's description: the one choose() would pick; "42e01f" when the text
// has no usable H.264 (or does not parse).
std::string preferred_h264_profile(std::string_view description);

// Replaces the a=fmtp line of `payload_type` in the m-line with mid `mid` by
// "a=fmtp:<pt> <fmtp>" (adding the line after the format's a=rtpmap when
// there is none). Text it cannot find the m-line or format in is returned
// unchanged.
std::string set_fmtp(std::string_view description, std::string_view mid, int payload_type, std::string_view fmtp);

// One ICE candidate as an SDP attribute value: "candidate:..." without "a=".
// IPv4 UDP host candidates come first, then other UDP host candidates (IPv6),
// then server-reflexive, relay, and TCP candidates last; the order within a
// class is kept. Lines that are not candidates are dropped; duplicates too.
std::vector<std::string> order_candidates(const std::vector<std::string>& candidates);

// Removes every a=candidate and a=end-of-candidates line, then adds
// `candidates` (in the given order) and a=end-of-candidates to every m-line
// with a non-zero port — with BUNDLE all share one transport, so all carry
// the same list. Also sets each m-line's c= line and port to the first IPv4
// candidate's address and port when there is one (as RFC 8839 recommends for
// the default candidate).
std::string with_candidates(std::string_view description, const std::vector<std::string>& candidates);

// A trickle-ICE fragment (RFC 8840), the body of a WHIP PATCH
// (application/trickle-ice-sdpfrag).
struct Fragment {
  std::string ice_ufrag;  // empty when the fragment has none
  std::string ice_pwd;
  struct Candidate {
    std::string mid;        // the m-line's a=mid the candidate follows, or empty
    int mline_index = 0;    // index of that mid in the offer; 0 when no mid
    std::string candidate;  // "candidate:..." without "a="
  };
  std::vector<Candidate> candidates;
  bool end_of_candidates = false;
};

// Reads a fragment against the offer it trickles for (to map mids to m-line
// indexes). Refuses over 16 KiB, NUL bytes, a mid the offer does not have,
// and malformed candidate lines (fewer than 8 fields, a component that is
// not a number, a transport other than UDP/TCP).
Result<Fragment> parse_fragment(std::string_view text, const Description& offer);

// True when the fragment asks for an ICE restart: it carries an ice-ufrag or
// ice-pwd that differs from the offer's first m-line's.
bool is_ice_restart(const Fragment& fragment, const Description& offer);

}  // namespace nagare::launcher::sdp
