// Small file operations the launcher needs, done so readers (players, the
// HTTP server) never see half a file.
//
// Plain C++, no GStreamer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nagare::launcher {

// Writes PATH.tmp, then renames it over PATH. Returns 0 or an errno.
int write_file_atomically(const std::string& path, std::string_view bytes);

std::optional<std::string> read_file(const std::string& path);

// mkdir -p; returns 0 or an errno.
int make_dirs(const std::string& path);

}  // namespace nagare::launcher
