#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace nagare::launcher {

void log_line(std::string_view who, std::string_view message) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ nagare[%.*s]: %.*s\n", stamp, static_cast<int>(ms), static_cast<int>(who.size()),
               who.data(), static_cast<int>(message.size()), message.data());
}

}  // namespace nagare::launcher
