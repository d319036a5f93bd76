// Owns the packets an Aligner refers to by handle. Plain C++.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace nagare::align {

// Slots of move-only values, reused through a free list: no allocation per
// packet once the pool has grown to the packets in flight.
template <typename T>
class HandlePool {
 public:
  std::uint32_t put(T value) {
    if (free_.empty()) {
      slots_.push_back(std::move(value));
      return static_cast<std::uint32_t>(slots_.size() - 1);
    }
    const std::uint32_t handle = free_.back();
    free_.pop_back();
    slots_[handle] = std::move(value);
    return handle;
  }

  T take(std::uint32_t handle) {
    T value = std::exchange(slots_[handle], T{});
    free_.push_back(handle);
    return value;
  }

  std::size_t in_use() const { return slots_.size() - free_.size(); }

 private:
  std::vector<T> slots_;
  std::vector<std::uint32_t> free_;
};

}  // namespace nagare::align
