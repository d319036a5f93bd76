// Sliding-window extremes over a time axis, in fixed buckets. Plain C++.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include "../common/int_math.hpp"

namespace nagare::align {

// The least (or, with std::greater, the greatest) value added during the
// last N buckets of `bucket` nanoseconds each. Buckets are reused as time
// moves on, so memory and work per sample are constant: no allocation and
// no per-sample history, which a window of thousands of packets would need.
template <std::size_t N, typename Better = std::less<std::int64_t>>
class WindowExtreme {
 public:
  explicit WindowExtreme(std::int64_t bucket) : bucket_(bucket) {}

  void add(std::int64_t time, std::int64_t value) {
    const std::int64_t id = floor_div(time, bucket_);
    Bucket& b = buckets_[static_cast<std::size_t>(floor_mod(id))];
    if (!b.id || *b.id != id) {
      b = {id, value};
    } else if (Better{}(value, b.value)) {
      b.value = value;
    }
    if (!latest_ || id > *latest_) latest_ = id;
  }

  // The extreme over the buckets that still lie in the window ending at the
  // latest sample's bucket; nothing before the first sample.
  std::optional<std::int64_t> value() const {
    std::optional<std::int64_t> best;
    if (!latest_) return best;
    for (const Bucket& b : buckets_) {
      if (!b.id || *b.id + static_cast<std::int64_t>(N) <= *latest_) continue;
      if (!best || Better{}(b.value, *best)) best = b.value;
    }
    return best;
  }

  void reset() {
    buckets_ = {};
    latest_.reset();
  }

 private:
  struct Bucket {
    std::optional<std::int64_t> id;
    std::int64_t value = 0;
  };
  static std::int64_t floor_mod(std::int64_t id) {
    return id - floor_div(id, static_cast<std::int64_t>(N)) * static_cast<std::int64_t>(N);
  }

  std::int64_t bucket_;
  std::array<Bucket, N> buckets_{};
  std::optional<std::int64_t> latest_;
};

}  // namespace nagare::align
