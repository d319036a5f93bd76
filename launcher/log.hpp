// One line per event on stderr, with the time and who it is about:
//   2026-11-25T01:02:03.456Z nagare[ch-1a2b]: live
#pragma once

#include <string_view>

namespace nagare::launcher {

void log_line(std::string_view who, std::string_view message);

}  // namespace nagare::launcher
