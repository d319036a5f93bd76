// libFuzzer target for the SDP of WebRTC ingest (launcher/sdp.hpp): the
// offer a WHIP client POSTs and the trickle-ICE fragments it PATCHes, as
// arbitrary bytes. The input is an offer, optionally followed by "\n--\n"
// and a fragment.
//
// Checks beyond "no crash" (ASan/UBSan catch the rest):
//   - parse answers a description or an error, never both or neither;
//   - a choice names a video m-line with that H.264 format and an audio
//     m-line with opus/48000/2;
//   - restrict_offer of an offer choose() accepted parses again, keeps one
//     format in each chosen m-line, chooses the same, and changes nothing
//     when run again;
//   - with_candidates of that (with the fragment's candidates and
//     webrtcbin's) parses, chooses the same, and changes nothing when run
//     again; set_fmtp of it sets the fmtp it was given;
//   - order_candidates keeps only candidates parse_fragment accepts, once
//     each, and ordering twice is ordering once;
//   - a fragment's candidates map to m-lines of the offer;
//   - preferred_h264_profile is always six lowercase hex digits.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sdp.hpp"

namespace {

using namespace nagare::launcher::sdp;

[[noreturn]] void fail() { __builtin_trap(); }

void check(bool ok) {
  if (!ok) fail();
}

// libnice's candidates as webrtcbin gathers them (tests/unit/test_sdp.cpp).
const std::vector<std::string> kLocalCandidates = {
    "candidate:1 1 UDP 2015363327 192.0.2.2 44765 typ host",
    "candidate:2 1 TCP 1015021823 192.0.2.2 9 typ host tcptype active",
    "candidate:4 1 UDP 2015363583 fd00::2 35324 typ host",
};

template <typename T>
void check_result(const Result<T>& r) {
  check(r.value.has_value() == r.error.empty());
}

const Format* find(const Media& m, int pt) {
  const auto f =
      std::find_if(m.formats.begin(), m.formats.end(), [pt](const Format& x) { return x.payload_type == pt; });
  return f == m.formats.end() ? nullptr : &*f;
}

bool same(const Choice& a, const Choice& b) {
  return a.video_index == b.video_index && a.video_mid == b.video_mid && a.video_payload_type == b.video_payload_type &&
         a.video_fmtp == b.video_fmtp && a.audio_index == b.audio_index && a.audio_mid == b.audio_mid &&
         a.audio_payload_type == b.audio_payload_type && a.audio_fmtp == b.audio_fmtp &&
         a.transport_cc == b.transport_cc && a.nack == b.nack;
}

void check_choice(const Description& d, const Choice& c) {
  check(c.video_index < d.media.size() && c.audio_index < d.media.size());
  const Media& video = d.media[c.video_index];
  const Media& audio = d.media[c.audio_index];
  check(video.kind == "video" && video.mid == c.video_mid);
  check(audio.kind == "audio" && audio.mid == c.audio_mid);
  const Format* h264 = find(video, c.video_payload_type);
  const Format* opus = find(audio, c.audio_payload_type);
  check(h264 != nullptr && h264->clock_rate == 90000 && h264->fmtp == c.video_fmtp);
  check(opus != nullptr && opus->clock_rate == 48000 && opus->channels == 2 && opus->fmtp == c.audio_fmtp);
}

// What restrict_offer hands webrtcbin, and what nagare answers with.
void check_rewrites(std::string_view offer, const Choice& choice, const std::vector<std::string>& candidates) {
  const std::string restricted = restrict_offer(offer, choice);
  // CRLF for LF, and a candidate list in every m-line, may take a text past
  // what parse reads.
  constexpr std::size_t kParseLimit = std::size_t{64} * 1024;
  if (restricted.size() > kParseLimit) return;
  const auto again = parse(restricted);
  check_result(again);
  if (!again.value) fail();
  check(again.value->media[choice.video_index].formats.size() == 1);
  check(again.value->media[choice.audio_index].formats.size() == 1);
  const auto same_choice = choose(*again.value);
  check(same_choice.value && same(*same_choice.value, choice));
  check(restrict_offer(restricted, choice) == restricted);

  const std::string complete = with_candidates(restricted, candidates);
  if (complete.size() > kParseLimit) return;
  const auto answer = parse(complete);
  check(answer.value.has_value());
  const auto answer_choice = choose(*answer.value);
  check(answer_choice.value && same(*answer_choice.value, choice));
  check(with_candidates(complete, candidates) == complete);

  const std::string mended = set_fmtp(complete, choice.video_mid, choice.video_payload_type, "x-fuzz=1");
  if (mended.size() > kParseLimit) return;
  const auto mended_parsed = parse(mended);
  check(mended_parsed.value.has_value());
  if (!choice.video_mid.empty()) {
    const Format* f = find(mended_parsed.value->media[choice.video_index], choice.video_payload_type);
    check(f != nullptr && f->fmtp == "x-fuzz=1");
  }
}

void check_ordered(const std::vector<std::string>& in, const Description& offer) {
  const std::vector<std::string> ordered = order_candidates(in);
  check(order_candidates(ordered) == ordered);
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    check(std::find(ordered.begin() + static_cast<std::ptrdiff_t>(i) + 1, ordered.end(), ordered[i]) == ordered.end());
    if (ordered[i].size() + 2 > std::size_t{16} * 1024) continue;  // past a fragment's size limit
    const auto fragment = parse_fragment("a=" + ordered[i], offer);
    check(fragment.value && fragment.value->candidates.size() == 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t separator = input.find("\n--\n");
  const std::string_view offer_text = input.substr(0, separator);
  const std::string_view fragment_text =
      separator == std::string_view::npos ? std::string_view() : input.substr(separator + 4);

  const std::string profile = preferred_h264_profile(offer_text);
  check(profile.size() == 6 && std::all_of(profile.begin(), profile.end(),
                                           [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));

  const auto offer = parse(offer_text);
  check_result(offer);
  const Description description = offer.value.value_or(Description{});
  check(!offer.value || !description.media.empty());

  std::vector<std::string> candidates = kLocalCandidates;
  const auto fragment = parse_fragment(fragment_text, description);
  check_result(fragment);
  if (fragment.value) {
    for (const auto& c : fragment.value->candidates) {
      if (c.mid.empty()) {
        check(c.mline_index == 0);
      } else {
        check(c.mline_index >= 0 && static_cast<std::size_t>(c.mline_index) < description.media.size());
        check(description.media[static_cast<std::size_t>(c.mline_index)].mid == c.mid);
      }
      candidates.push_back(c.candidate);
    }
    (void)is_ice_restart(*fragment.value, description);
  }
  // Lines of the fragment as candidates, whatever they are.
  std::size_t start = 0;
  while (start < fragment_text.size()) {
    const std::size_t end = std::min(fragment_text.find('\n', start), fragment_text.size());
    candidates.emplace_back(fragment_text.substr(start, end - start));
    start = end + 1;
  }
  check_ordered(candidates, description);
  const std::vector<std::string> ordered = order_candidates(candidates);

  // Whatever the text, the rewrites must not break on it.
  (void)with_candidates(offer_text, ordered);
  (void)set_fmtp(offer_text, "0", 96, "x-fuzz=1");

  if (!offer.value) return 0;
  const auto choice = choose(description);
  check_result(choice);
  if (!choice.value) return 0;
  check_choice(description, *choice.value);
  check_rewrites(offer_text, *choice.value, ordered);
  return 0;
}
