// Files built into the nagare binary (see embed.py and meson.build): the
// default pipeline descriptions and the web pages.
#pragma once

#include <optional>
#include <string_view>

namespace nagare::launcher {

// "pipelines/cpu.pipeline", "web/watch.html", …; nullopt for any other name.
std::optional<std::string_view> embedded_file(std::string_view name);

}  // namespace nagare::launcher
