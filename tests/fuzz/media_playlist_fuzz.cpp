// libFuzzer target for the launcher's media playlist reader and VOD writer
// (launcher/media_playlist.hpp): the archive is read back from playlists on
// disk, and any text at all must give a playlist or an error naming a line.
//
// Checks beyond "no crash" (ASan/UBSan catch the rest):
//   - a playlist or an error, never both or neither; an error names a line;
//   - every segment has a URI that is one line, not a tag, and a duration
//     within a day;
//   - the VOD written from a playlist reads back with the same segments
//     (URIs, durations, keys, discontinuities), closed and of type VOD, and
//     writing that again gives the same text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "media_playlist.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nagare::launcher;
  const auto parsed = parse_media_playlist(std::string_view(reinterpret_cast<const char*>(data), size));
  check(parsed.playlist.has_value() == parsed.error.empty());
  if (!parsed.playlist) {
    check(parsed.error.rfind("line ", 0) == 0);
    return 0;
  }
  for (const auto& s : parsed.playlist->segments) {
    check(!s.uri.empty() && s.uri[0] != '#' && s.uri.find('\n') == std::string::npos);
    check(s.duration_us >= 0 && s.duration_us <= std::int64_t{86400} * 1'000'000);
  }
  const std::string vod = render_vod(*parsed.playlist);
  const auto again = parse_media_playlist(vod);
  check(again.playlist.has_value());
  check(again.playlist->segments == parsed.playlist->segments);
  check(again.playlist->ended && again.playlist->type == "VOD");
  check(render_vod(*again.playlist) == vod);
  return 0;
}
