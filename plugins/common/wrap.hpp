// Wraparound arithmetic for RTP sequence numbers and timestamps.
//
// Plain C++, no GStreamer: used by every element that reads RTP headers.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

namespace nagare {

// Signed distance from `from` to `to` on a 16-bit wrapping counter
// (RFC 3550 §A.1): positive when `to` is newer. 65535 -> 0 is +1.
constexpr std::int32_t seq_distance(std::uint16_t from, std::uint16_t to) {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(to - from));
}

// Signed distance on a 32-bit wrapping RTP timestamp (RFC 3550 §5.1).
constexpr std::int64_t ts_distance(std::uint32_t from, std::uint32_t to) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(to - from));
}

// Turns a wrapping counter (uint16_t sequence numbers, uint32_t RTP
// timestamps) into a monotonic 64-bit value. Each new value is placed at the
// nearest point to the previous one, so a step of less than half the range in
// either direction is read correctly, across any number of wraps.
template <typename Raw>
class Unwrapper {
  static_assert(std::is_same_v<Raw, std::uint16_t> || std::is_same_v<Raw, std::uint32_t>);
  using Signed = std::make_signed_t<Raw>;

 public:
  std::int64_t unwrap(Raw raw) {
    if (!last_) {
      last_ = raw;
      return *last_;
    }
    const auto step = static_cast<Signed>(static_cast<Raw>(raw - static_cast<Raw>(*last_)));
    *last_ += step;
    return *last_;
  }

  // The last unwrapped value, if any.
  std::optional<std::int64_t> last() const { return last_; }
  void reset() { last_.reset(); }

 private:
  std::optional<std::int64_t> last_;
};

}  // namespace nagare
