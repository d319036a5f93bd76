// One line per event on stderr, with the time and who it is about:
//   2026-11-25T01:02:03.456Z nagare[ch-1a2b]: live
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nagare::launcher {

void log_line(std::string_view who, std::string_view message);

// RFC 3339 UTC with milliseconds: 2026-11-25T01:14:40.250Z.
std::string rfc3339_ms(std::int64_t unix_ms);
// Now, in milliseconds since the Unix epoch.
std::int64_t unix_now_ms();

}  // namespace nagare::launcher
