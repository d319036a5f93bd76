#include "media_playlist.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace nagare::launcher {

namespace {

constexpr std::int64_t kMaxDurationUs = std::int64_t{86400} * 1'000'000;  // a day: no segment is longer

std::string_view chomp(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  return line;
}

// A non-negative decimal (§4.2 decimal-floating-point) in µs; digits past
// the sixth decimal are dropped.
std::optional<std::int64_t> decimal_us(std::string_view text) {
  std::int64_t whole = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (whole > kMaxDurationUs / 1'000'000) return std::nullopt;
    whole = whole * 10 + (text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  std::int64_t fraction = 0;
  int digits = 0;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (digits < 6) {
        fraction = fraction * 10 + (text[i] - '0');
        ++digits;
      }
    }
  }
  if (i != text.size()) return std::nullopt;
  while (digits++ < 6) fraction *= 10;
  const std::int64_t us = whole * 1'000'000 + fraction;
  if (us > kMaxDurationUs) return std::nullopt;
  return us;
}

std::optional<std::uint64_t> integer(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string format_us(std::int64_t us) {
  char text[40];
  std::snprintf(text, sizeof text, "%" PRId64 ".%06" PRId64, us / 1'000'000, us % 1'000'000);
  std::string out(text);
  const std::size_t point = out.find('.');
  while (out.size() > point + 4 && out.back() == '0') out.pop_back();
  return out;
}

}  // namespace

std::int64_t MediaPlaylist::total_us() const {
  std::int64_t sum = 0;
  for (const auto& s : segments) sum += s.duration_us;
  return sum;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_attributes(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t equals = text.find('=', i);
    if (equals == std::string_view::npos || equals == i) return std::nullopt;
    const std::string_view name = text.substr(i, equals - i);
    if (!std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; })) {
      return std::nullopt;
    }
    std::string value;
    i = equals + 1;
    if (i < text.size() && text[i] == '"') {
      const std::size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      value = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      const std::size_t comma = std::min(text.find(',', i), text.size());
      value = std::string(text.substr(i, comma - i));
      if (value.empty() || value.find('"') != std::string::npos) return std::nullopt;
      i = comma;
    }
    out.emplace_back(std::string(name), std::move(value));
    if (i < text.size()) {
      if (text[i] != ',' || i + 1 == text.size()) return std::nullopt;
      ++i;
    }
  }
  return out;
}

ParsedPlaylist parse_media_playlist(std::string_view text) {
  MediaPlaylist p;
  std::optional<PlaylistKey> key;
  std::optional<std::int64_t> pending;  // an EXTINF waiting for its URI
  bool discontinuity = false;
  int line_no = 0;
  auto error = [&line_no](const std::string& what) {
    return ParsedPlaylist{std::nullopt, "line " + std::to_string(line_no) + ": " + what};
  };
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = chomp(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++line_no;
    if (line_no == 1) {
      if (line != "#EXTM3U") return error("a playlist starts with #EXTM3U");
      continue;
    }
    if (line.empty()) continue;
    if (line[0] != '#') {
      if (!pending) return error("a URI without an EXTINF before it");
      p.segments.push_back(MediaSegment{std::string(line), *pending, discontinuity, key});
      pending.reset();
      discontinuity = false;
      continue;
    }
    const auto tag = [&line](std::string_view name) { return line.substr(0, name.size()) == name; };
    if (tag("#EXTINF:")) {
      if (pending) return error("two EXTINF without a URI between them");
      const std::string_view rest = line.substr(8);
      const auto duration = decimal_us(rest.substr(0, rest.find(',')));
      if (!duration) return error("EXTINF needs a duration in seconds");
      pending = duration;
    } else if (tag("#EXT-X-TARGETDURATION:")) {
      const auto v = integer(line.substr(22));
      if (!v || *v > 86400) return error("EXT-X-TARGETDURATION needs whole seconds");
      p.target_duration = static_cast<std::int64_t>(*v);
    } else if (tag("#EXT-X-MEDIA-SEQUENCE:")) {
      const auto v = integer(line.substr(22));
      if (!v) return error("EXT-X-MEDIA-SEQUENCE needs an integer");
      p.media_sequence = *v;
    } else if (tag("#EXT-X-PLAYLIST-TYPE:")) {
      p.type = std::string(line.substr(21));
      if (p.type != "EVENT" && p.type != "VOD") return error("EXT-X-PLAYLIST-TYPE is EVENT or VOD");
    } else if (line == "#EXT-X-DISCONTINUITY") {
      discontinuity = true;
    } else if (line == "#EXT-X-ENDLIST") {
      p.ended = true;
    } else if (tag("#EXT-X-KEY:")) {
      const auto attributes = parse_attributes(line.substr(11));
      if (!attributes) return error("EXT-X-KEY's attributes do not parse");
      PlaylistKey k;
      for (const auto& [name, value] : *attributes) {
        if (name == "METHOD") k.method = value;
        if (name == "URI") k.uri = value;
        if (name == "IV") k.iv = value;
      }
      if (k.method.empty()) return error("EXT-X-KEY needs a METHOD");
      if (k.method == "NONE") {
        key.reset();
      } else if (k.uri.empty()) {
        return error("EXT-X-KEY needs a URI unless its METHOD is NONE");
      } else {
        key = std::move(k);
      }
    }
    // Other tags (VERSION, PROGRAM-DATE-TIME, START, …) say nothing about
    // which segments there are.
  }
  if (line_no == 0) {
    line_no = 1;
    return error("a playlist starts with #EXTM3U");
  }
  if (pending) {
    ++line_no;
    return error("the last EXTINF has no URI");
  }
  return {std::move(p), {}};
}

std::string render_vod(const MediaPlaylist& p) {
  std::int64_t longest = 0;
  for (const auto& s : p.segments) longest = std::max(longest, s.duration_us);
  // §4.3.3.1: every EXTINF, rounded to the nearest integer, is at most it.
  const std::int64_t target = std::max(p.target_duration, (longest + 500'000) / 1'000'000);
  std::string text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:" + std::to_string(target) +
                     "\n#EXT-X-MEDIA-SEQUENCE:" + std::to_string(p.media_sequence) + "\n#EXT-X-PLAYLIST-TYPE:VOD\n";
  const std::optional<PlaylistKey>* in_force = nullptr;
  for (const auto& s : p.segments) {
    if (s.discontinuity) text += "#EXT-X-DISCONTINUITY\n";
    if (in_force ? *in_force != s.key : s.key.has_value()) {
      if (s.key) {
        text += "#EXT-X-KEY:METHOD=" + s.key->method + ",URI=\"" + s.key->uri + "\"";
        if (!s.key->iv.empty()) text += ",IV=" + s.key->iv;
        text += '\n';
      } else {
        text += "#EXT-X-KEY:METHOD=NONE\n";
      }
    }
    in_force = &s.key;
    text += "#EXTINF:" + format_us(s.duration_us) + ",\n" + s.uri + '\n';
  }
  text += "#EXT-X-ENDLIST\n";
  return text;
}

}  // namespace nagare::launcher
