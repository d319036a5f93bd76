// Rate limit for upstream key-frame requests. Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <optional>

namespace nagare::h264 {

// Allows one request per interval. Times are integer nanoseconds on any
// clock that only moves forward within a stream; a clock that went back
// (a new segment) allows the next request at once.
class KeyframeLimiter {
 public:
  explicit KeyframeLimiter(std::int64_t interval_ns = 0) : interval_ns_(interval_ns) {}

  bool allow(std::int64_t now_ns) {
    if (last_ && now_ns >= *last_ && now_ns - *last_ < interval_ns_) return false;
    last_ = now_ns;
    return true;
  }
  void set_interval(std::int64_t interval_ns) { interval_ns_ = interval_ns; }
  void reset() { last_.reset(); }

 private:
  std::int64_t interval_ns_;
  std::optional<std::int64_t> last_;
};

}  // namespace nagare::h264
