#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace nagare::launcher {

std::int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string rfc3339_ms(std::int64_t unix_ms) {
  const std::int64_t ms = ((unix_ms % 1000) + 1000) % 1000;
  const auto t = static_cast<std::time_t>((unix_ms - ms) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[40];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms));
  return stamp;
}

void log_line(std::string_view who, std::string_view message) {
  const std::string stamp = rfc3339_ms(unix_now_ms());
  std::fprintf(stderr, "%s nagare[%.*s]: %.*s\n", stamp.c_str(), static_cast<int>(who.size()), who.data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace nagare::launcher
