// Which file an HLS request may read, and how it is served.
//
// Plain C++, no GStreamer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nagare::launcher {

// The still percent-encoded part of a request path after "/hls/<id>/",
// checked and decoded: at most two components ("index.m3u8",
// "0/b1-00042.ts"), each of letters, digits, '_', '-' and '.', not starting
// with a dot. nullopt for anything else, "..", "%2e%2e" and "%2f" included,
// so a request never names a file outside the channel's folder.
std::optional<std::string> safe_relative_path(std::string_view encoded);

// Content-Type and Cache-Control for a file the server sends. Playlists
// change every segment, so players may keep them a second at most; a
// segment's name is never reused, so it can be cached for good.
struct FileHeaders {
  const char* content_type;
  const char* cache_control;
};
FileHeaders headers_for(std::string_view name);

}  // namespace nagare::launcher
