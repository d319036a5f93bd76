// What nagarehlssink writes, read back: a temporary folder per test, media
// playlists (RFC 8216 §4.3) and MPEG-TS segments (ISO/IEC 13818-1: PAT,
// PMT, PES timestamps, the random_access_indicator).
//
// Written from the specifications for the tests alone; nothing here is
// shared with the element, so the tests check it rather than repeat it.
#pragma once

#include <glib.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace nagare::test::elements::hls {

namespace fs = std::filesystem;

inline constexpr std::int64_t kSecond = 1'000'000'000;
inline constexpr std::int64_t kMillisecond = 1'000'000;
// One tick of the 90 kHz PES clock, rounded up (11.1 µs).
inline constexpr std::int64_t kTick = 11'112;

// --- Files ----------------------------------------------------------------

// A fresh folder under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "nagare-hlssink-XXXXXX").string();
    REQUIRE(g_mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  INFO("reading " << path);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string read_text(const fs::path& path) {
  const auto bytes = read_bytes(path);
  return {bytes.begin(), bytes.end()};
}

inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  REQUIRE(out);
  out << text;
}

// Names of the entries of a folder, sorted.
inline std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// --- Playlists (RFC 8216 §4.3) ----------------------------------------------

struct MediaPlaylist {
  std::int64_t target_duration = -1;  // s
  std::uint64_t media_sequence = 0;
  std::string playlist_type;
  std::vector<std::int64_t> extinf_us;  // EXTINF as written, in µs
  std::vector<std::string> uris;
  std::size_t program_date_times = 0;
  std::size_t discontinuities = 0;
  bool ended = false;
  std::vector<std::string> keys;  // EXT-X-KEY attributes, in order
  std::optional<std::string> start_offset;

  std::int64_t total_us() const {
    std::int64_t sum = 0;
    for (const std::int64_t d : extinf_us) sum += d;
    return sum;
  }
  // Where each segment starts, µs after the first one: 0, d0, d0 + d1, ...
  std::vector<std::int64_t> starts_us() const {
    std::vector<std::int64_t> starts;
    std::int64_t at = 0;
    for (const std::int64_t d : extinf_us) {
      starts.push_back(at);
      at += d;
    }
    return starts;
  }
};

// "1.008" → 1008000. The sink writes decimal seconds with up to six digits.
inline std::int64_t decimal_seconds_to_us(const std::string& text) {
  const auto point = text.find('.');
  const std::string whole = text.substr(0, point);
  std::string fraction = point == std::string::npos ? "" : text.substr(point + 1);
  INFO("duration " << text);
  REQUIRE(!whole.empty());
  REQUIRE(whole.find_first_not_of("0123456789") == std::string::npos);
  REQUIRE(fraction.size() <= 6);
  REQUIRE(fraction.find_first_not_of("0123456789") == std::string::npos);
  fraction.resize(6, '0');
  return std::stoll(whole) * 1'000'000 + std::stoll(fraction);
}

// Reads a media playlist strictly: the header first, every EXTINF followed
// by its URI, no line it does not know.
inline MediaPlaylist parse_playlist(const std::string& text) {
  MediaPlaylist playlist;
  std::istringstream in(text);
  std::string line;
  REQUIRE(std::getline(in, line));
  REQUIRE(line == "#EXTM3U");
  bool expect_uri = false;
  const auto value = [&line](const char* tag) -> std::optional<std::string> {
    const std::string prefix = tag;
    if (line.rfind(prefix, 0) != 0) return std::nullopt;
    return line.substr(prefix.size());
  };
  while (std::getline(in, line)) {
    INFO("playlist line \"" << line << "\"");
    REQUIRE(!line.empty());
    if (expect_uri) {
      REQUIRE(line[0] != '#');
      playlist.uris.push_back(line);
      expect_uri = false;
    } else if (auto v = value("#EXTINF:")) {
      REQUIRE(v->size() >= 2);
      REQUIRE(v->back() == ',');
      playlist.extinf_us.push_back(decimal_seconds_to_us(v->substr(0, v->size() - 1)));
      expect_uri = true;
    } else if (auto v = value("#EXT-X-TARGETDURATION:")) {
      playlist.target_duration = std::stoll(*v);
    } else if (auto v = value("#EXT-X-MEDIA-SEQUENCE:")) {
      playlist.media_sequence = std::stoull(*v);
    } else if (auto v = value("#EXT-X-PLAYLIST-TYPE:")) {
      playlist.playlist_type = *v;
    } else if (value("#EXT-X-PROGRAM-DATE-TIME:")) {
      ++playlist.program_date_times;
    } else if (line == "#EXT-X-DISCONTINUITY") {
      ++playlist.discontinuities;
    } else if (line == "#EXT-X-ENDLIST") {
      playlist.ended = true;
    } else if (auto v = value("#EXT-X-KEY:")) {
      playlist.keys.push_back(*v);
    } else if (auto v = value("#EXT-X-START:TIME-OFFSET=")) {
      playlist.start_offset = *v;
    } else {
      REQUIRE((line == "#EXT-X-VERSION:3" || value("#EXT-X-DISCONTINUITY-SEQUENCE:")));
    }
  }
  CHECK_FALSE(expect_uri);
  return playlist;
}

inline MediaPlaylist read_playlist(const fs::path& path) { return parse_playlist(read_text(path)); }

// The playlist without its dates, which are the wall clock of the run.
inline std::string without_dates(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("#EXT-X-PROGRAM-DATE-TIME:", 0) != 0) out += line + '\n';
  }
  return out;
}

// --- Transport streams (ISO/IEC 13818-1) -------------------------------------

struct PesStart {
  std::int64_t pts = 0;        // 90 kHz ticks
  bool random_access = false;  // adaptation field's random_access_indicator
};

struct TsFile {
  std::size_t size = 0;
  bool whole_packets = false;    // a multiple of 188 bytes, each with the sync byte
  bool starts_with_pat = false;  // 0x47 0x40 0x00: PID 0 with payload_unit_start
  bool pmt_second = false;
  std::optional<std::uint16_t> video_pid, audio_pid;
  std::uint8_t audio_stream_type = 0;  // 0x03/0x04 MPEG audio, 0x0f ADTS
  std::vector<PesStart> video, audio;  // in the order they start
};

inline std::int64_t pes_pts(std::span<const std::uint8_t> pes) {
  // 00 00 01 stream_id, length(2), flags(2), header length, PTS (5 bytes).
  if (pes.size() < 14 || pes[0] != 0 || pes[1] != 0 || pes[2] != 1 || !(pes[7] & 0x80)) return -1;
  return (std::int64_t{pes[9] & 0x0e} << 29) | (std::int64_t{pes[10]} << 22) | (std::int64_t{pes[11] & 0xfe} << 14) |
         (std::int64_t{pes[12]} << 7) | (pes[13] >> 1);
}

inline TsFile parse_ts(std::span<const std::uint8_t> bytes) {
  TsFile ts;
  ts.size = bytes.size();
  ts.whole_packets = !bytes.empty() && bytes.size() % 188 == 0;
  ts.starts_with_pat = bytes.size() >= 3 && bytes[0] == 0x47 && bytes[1] == 0x40 && bytes[2] == 0x00;
  std::optional<std::uint16_t> pmt_pid;
  for (std::size_t at = 0; at + 188 <= bytes.size(); at += 188) {
    const auto p = bytes.subspan(at, 188);
    if (p[0] != 0x47) {
      ts.whole_packets = false;
      break;
    }
    const bool unit_start = p[1] & 0x40;
    const auto pid = static_cast<std::uint16_t>(((p[1] & 0x1f) << 8) | p[2]);
    const int control = (p[3] >> 4) & 3;
    std::size_t payload = 4;
    bool random_access = false;
    if (control & 2) {
      random_access = p[4] > 0 && (p[5] & 0x40);
      payload += 1 + p[4];
    }
    if (!(control & 1) || payload >= 188) continue;
    const auto data = p.subspan(payload);
    if (pid == 0 && unit_start) {
      // PAT: pointer field, then the section; programs from byte 8.
      if (1u + data[0] + 12 > data.size()) continue;
      const auto section = data.subspan(1 + data[0]);
      const std::size_t length = std::min<std::size_t>(((section[1] & 0x0f) << 8) | section[2], section.size() - 3);
      for (std::size_t i = 8; i + 4 <= 3 + length - 4; i += 4) {
        const int program = (section[i] << 8) | section[i + 1];
        if (program != 0) pmt_pid = static_cast<std::uint16_t>(((section[i + 2] & 0x1f) << 8) | section[i + 3]);
      }
    } else if (pmt_pid && pid == *pmt_pid && unit_start) {
      if (at == 188) ts.pmt_second = true;
      if (1u + data[0] + 16 > data.size()) continue;
      const auto section = data.subspan(1 + data[0]);
      const std::size_t length = std::min<std::size_t>(((section[1] & 0x0f) << 8) | section[2], section.size() - 3);
      const std::size_t info = ((section[10] & 0x0f) << 8) | section[11];
      for (std::size_t i = 12 + info; i + 5 <= 3 + length - 4;) {
        const std::uint8_t type = section[i];
        const auto es_pid = static_cast<std::uint16_t>(((section[i + 1] & 0x1f) << 8) | section[i + 2]);
        if (type == 0x1b) ts.video_pid = es_pid;
        if (type == 0x03 || type == 0x04 || type == 0x0f) {
          ts.audio_pid = es_pid;
          ts.audio_stream_type = type;
        }
        i += 5 + (((section[i + 3] & 0x0f) << 8) | section[i + 4]);
      }
    } else if (unit_start && ts.video_pid && pid == *ts.video_pid) {
      ts.video.push_back(PesStart{pes_pts(data), random_access});
    } else if (unit_start && ts.audio_pid && pid == *ts.audio_pid) {
      ts.audio.push_back(PesStart{pes_pts(data), random_access});
    }
  }
  return ts;
}

// A segment a player can start on: whole packets, PAT then PMT, and video
// (if any) from a key frame.
inline TsFile check_segment(const fs::path& path) {
  INFO("segment " << path);
  TsFile ts = parse_ts(read_bytes(path));
  CHECK(ts.size > 0);
  CHECK(ts.whole_packets);
  CHECK(ts.starts_with_pat);
  CHECK(ts.pmt_second);
  if (!ts.video.empty()) CHECK(ts.video.front().random_access);
  return ts;
}

}  // namespace nagare::test::elements::hls
