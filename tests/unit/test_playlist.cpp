// The HLS media playlist model (plugins/hlssink/playlist.hpp): RFC 8216
// §4.3 tags, the sliding window's sequence numbers (§6.2.2), and the
// printing of EXTINF and EXT-X-PROGRAM-DATE-TIME. Expected texts are
// written out by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hlssink/playlist.hpp"

using namespace nagare::hls;

namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1'000'000'000;
// 2026-11-24T09:30:00Z (calendar.timegm: 1795512600 s).
constexpr std::int64_t kBase = 1'795'512'600 * kSecond;

PlaylistEntry entry(std::string uri, std::int64_t duration, bool discontinuity = false,
                    std::optional<std::int64_t> date = std::nullopt) {
  PlaylistEntry e;
  e.uri = std::move(uri);
  e.duration = duration;
  e.discontinuity = discontinuity;
  e.program_date_time = date;
  return e;
}

// "2.037551" → 2037551 µs, read as digits (no floating point); nullopt
// unless there are 3 to 6 decimals.
std::optional<std::int64_t> microseconds_of(const std::string& text) {
  const auto point = text.find('.');
  if (point == std::string::npos || text.size() - point - 1 < 3 || text.size() - point - 1 > 6) return std::nullopt;
  std::string fraction = text.substr(point + 1);
  fraction.resize(6, '0');
  return std::stoll(text.substr(0, point)) * 1'000'000 + std::stoll(fraction);
}

}  // namespace

TEST_CASE("A sliding playlist renders RFC 8216 text", "[playlist]") {
  Playlist playlist(2, 3);
  playlist.append(entry("seg0.ts", 2 * kSecond, false, kBase));
  playlist.append(entry("seg1.ts", 1500 * kMs, true, kBase + 2 * kSecond));
  playlist.append(entry("seg2.ts", 2002 * kMs, false, kBase + 3500 * kMs));
  playlist.append(entry("seg3.ts", 1'018'775'500, false, kBase + 5502 * kMs));

  // seg0 left the window (media sequence 1); the discontinuity it did not
  // carry leaves the discontinuity sequence at 0. seg3 starts at 5.502 s
  // and ends at 6.5207755 s: 6520776 − 5502000 µs.
  CHECK(playlist.render() ==
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:1\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:02.000Z\n"
        "#EXTINF:1.500,\n"
        "seg1.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:03.500Z\n"
        "#EXTINF:2.002,\n"
        "seg2.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:05.502Z\n"
        "#EXTINF:1.018776,\n"
        "seg3.ts\n");

  // seg1 leaves with its EXT-X-DISCONTINUITY: both sequences step.
  playlist.append(entry("seg4.ts", 2 * kSecond, false, kBase + 10 * kSecond));
  playlist.end();
  CHECK(playlist.render() ==
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:2\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:03.500Z\n"
        "#EXTINF:2.002,\n"
        "seg2.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:05.502Z\n"
        "#EXTINF:1.018776,\n"
        "seg3.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:10.000Z\n"
        "#EXTINF:2.000,\n"
        "seg4.ts\n"
        "#EXT-X-ENDLIST\n");
}

TEST_CASE("Window 0 keeps every entry in an EVENT playlist", "[playlist]") {
  Playlist playlist(4, 0);
  for (int i = 0; i < 100; ++i) {
    CHECK(playlist.append(entry("s" + std::to_string(i) + ".ts", 3200 * kMs, i == 50)).empty());
  }
  CHECK(playlist.entries().size() == 100);
  CHECK(playlist.media_sequence() == 0);
  CHECK(playlist.discontinuity_sequence() == 0);
  CHECK(playlist.entries().back().position == std::int64_t{99} * 3200 * kMs);

  Playlist small(4, 0);
  small.append(entry("a.ts", 3200 * kMs));
  small.append(entry("b.ts", 3 * kSecond, true));
  small.end();
  CHECK(small.render() ==
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:4\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:EVENT\n"
        "#EXTINF:3.200,\n"
        "a.ts\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXTINF:3.000,\n"
        "b.ts\n"
        "#EXT-X-ENDLIST\n");
}

TEST_CASE("An empty playlist is the header alone", "[playlist]") {
  CHECK(Playlist(6, 5).render() ==
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:0\n");
}

TEST_CASE("The sequence numbers step exactly when entries leave the window", "[playlist]") {
  // Window 2; u1 and u4 start new timelines.
  Playlist playlist(2, 2);
  struct Step {
    const char* left;  // the entry that left on this append, or nullptr
    std::uint64_t media_sequence;
    std::uint64_t discontinuity_sequence;
  };
  const Step steps[] = {
      {nullptr, 0, 0}, {nullptr, 0, 0}, {"u0", 1, 0}, {"u1", 2, 1}, {"u2", 3, 1}, {"u3", 4, 1}, {"u4", 5, 2},
  };
  for (int i = 0; i < 7; ++i) {
    CAPTURE(i);
    const auto removed = playlist.append(entry("u" + std::to_string(i), kSecond, i == 1 || i == 4));
    if (steps[i].left) {
      REQUIRE(removed.size() == 1);
      CHECK(removed[0].uri == steps[i].left);
      CHECK(removed[0].position == (i - 2) * kSecond);
    } else {
      CHECK(removed.empty());
    }
    CHECK(playlist.media_sequence() == steps[i].media_sequence);
    CHECK(playlist.discontinuity_sequence() == steps[i].discontinuity_sequence);
    CHECK(playlist.entries().size() == static_cast<std::size_t>(std::min(i + 1, 2)));
    CHECK(playlist.entries().back().position == i * kSecond);
  }
  CHECK(playlist.entries().front().uri == "u5");
}

TEST_CASE("format_extinf prints microseconds, trimmed to at least milliseconds", "[playlist]") {
  CHECK(format_extinf(0, 1008 * kMs) == "1.008");
  CHECK(format_extinf(0, 2 * kSecond) == "2.000");
  CHECK(format_extinf(0, 1500 * kMs) == "1.500");
  CHECK(format_extinf(0, 1'234'500'000) == "1.2345");
  CHECK(format_extinf(0, 1'234'560'000) == "1.23456");
  CHECK(format_extinf(0, 12'345'678'901) == "12.345679");
  CHECK(format_extinf(0, 400) == "0.000");
  CHECK(format_extinf(0, 500) == "0.000001");
  CHECK(format_extinf(0, 0) == "0.000");

  SECTION("1.0187755 s pieces alternate between the two nearest microseconds") {
    // 1.0187755 s is about 39 MP3 frames at 44.1 kHz (1.01877551 s); its
    // half microsecond is rounded on the running sum, not on each piece.
    const std::int64_t piece = 1'018'775'500;
    CHECK(format_extinf(0, piece) == "1.018776");
    CHECK(format_extinf(piece, piece) == "1.018775");
    CHECK(format_extinf(2 * piece, piece) == "1.018776");
    CHECK(format_extinf(3 * piece, piece) == "1.018775");
  }
}

TEST_CASE("EXTINF values of 10000 segments add up to the true total", "[playlist]") {
  // Segments of 76 or 77 MP3 frames (1152 samples) at 44.1 kHz, about 2 s
  // each. Each segment's start is its sample count in ns, rounded down, as
  // the segmenter computes it; the duration is the difference of starts.
  constexpr std::int64_t kRate = 44100;
  std::int64_t samples = 0;
  std::int64_t printed_us = 0;
  std::int64_t naive_us = 0;  // each duration rounded on its own
  int unreadable = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::int64_t start = samples * kSecond / kRate;
    samples += std::int64_t{i % 3 == 2 ? 76 : 77} * 1152;
    const std::int64_t duration = samples * kSecond / kRate - start;
    const auto us = microseconds_of(format_extinf(start, duration));
    if (!us) ++unreadable;
    printed_us += us.value_or(0);
    naive_us += (duration + 500) / 1000;
  }
  REQUIRE(unreadable == 0);
  // Compare at the exact rational total, samples / 44100 s, in units of
  // 1/44100 ns.
  const std::int64_t error = printed_us * 1000 * kRate - samples * kSecond;
  CHECK(std::abs(error) <= 1000 * kRate);  // within 1 µs after ~5.6 hours
  CHECK(printed_us == (samples * kSecond / kRate + 500) / 1000);
  // The test has teeth: rounding each duration alone drifts by milliseconds.
  CHECK(std::abs(naive_us * 1000 * kRate - samples * kSecond) > std::int64_t{1000} * 1000 * kRate);
}

TEST_CASE("format_date_time prints UTC with milliseconds", "[playlist]") {
  CHECK(format_date_time(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_date_time(kBase) == "2026-11-24T09:30:00.000Z");
  CHECK(format_date_time(kBase + 250 * kMs) == "2026-11-24T09:30:00.250Z");
  // 2024-02-29T23:59:59Z is 1709251199 s: a leap day, and the turn of the month.
  const std::int64_t leap = 1'709'251'199 * kSecond;
  CHECK(format_date_time(leap + 999 * kMs) == "2024-02-29T23:59:59.999Z");
  CHECK(format_date_time(leap + kSecond) == "2024-03-01T00:00:00.000Z");
  // Past 2^31 seconds: time_t must be 64 bits.
  CHECK(format_date_time(std::int64_t{2'147'483'648} * kSecond) == "2038-01-19T03:14:08.000Z");

  SECTION("sub-millisecond parts are cut, never carried into the next second") {
    CHECK(format_date_time(kBase + 250 * kMs + 999'999) == "2026-11-24T09:30:00.250Z");
    CHECK(format_date_time(kBase + kSecond - 1) == "2026-11-24T09:30:00.999Z");
    CHECK(format_date_time(kBase + 1) == "2026-11-24T09:30:00.000Z");
  }
}
