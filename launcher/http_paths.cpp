#include "http_paths.hpp"

#include <vector>

namespace nagare::launcher {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool safe_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::optional<std::string> safe_relative_path(std::string_view encoded) {
  std::vector<std::string> components(1);
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '/') {
      components.emplace_back();
      continue;
    }
    if (c == '%') {
      // A decoded '/' would split a component after the check: refused, as
      // is every other character outside the safe set.
      if (i + 2 >= encoded.size()) return std::nullopt;
      const int hi = hex_value(encoded[i + 1]);
      const int lo = hex_value(encoded[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (!safe_char(c)) return std::nullopt;
    components.back() += c;
  }
  if (components.size() > 2) return std::nullopt;
  std::string out;
  for (const auto& part : components) {
    if (part.empty() || part.front() == '.') return std::nullopt;
    out += (out.empty() ? "" : "/") + part;
  }
  return out;
}

FileHeaders headers_for(std::string_view name) {
  if (ends_with(name, ".m3u8")) return {"application/vnd.apple.mpegurl", "public, max-age=1"};
  if (ends_with(name, ".ts")) return {"video/mp2t", "public, max-age=31536000, immutable"};
  if (ends_with(name, ".jpg")) return {"image/jpeg", "no-cache"};
  return {"application/octet-stream", "no-cache"};
}

}  // namespace nagare::launcher
