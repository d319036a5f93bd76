// libFuzzer target for safe_relative_path, which decides which file under
// a channel's folder an HTTP request for /hls/<id>/... may read.
//
// Checks: whatever it accepts has one or two components, none empty, none
// starting with '.', made only of [A-Za-z0-9_.-] and the '/' between them,
// so it can never name anything outside the channel's folder; and an
// accepted path, fed back in, comes out unchanged (decoding happened once).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http_paths.hpp"

namespace {

[[noreturn]] void fail() { __builtin_trap(); }

bool allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == '/';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view encoded(reinterpret_cast<const char*>(data), size);
  const std::optional<std::string> path = nagare::launcher::safe_relative_path(encoded);
  if (!path) return 0;
  if (path->empty()) fail();
  for (char c : *path) {
    if (!allowed(c)) fail();
  }
  std::size_t components = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path->find('/', start);
    const std::string_view part =
        std::string_view(*path).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part.front() == '.') fail();
    ++components;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (components > 2) fail();
  if (nagare::launcher::safe_relative_path(*path) != path) fail();
  return 0;
}
