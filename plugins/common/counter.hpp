// A statistics counter written by one thread and read by any.
#pragma once

#include <atomic>
#include <cstdint>

namespace nagare {

// Only the streaming thread writes, so an increment is a relaxed load and
// store (no locked read-modify-write on the hot path); readers such as a
// `stats` property getter see a value that is at most one update behind.
class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }
  void reset() { value_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace nagare
