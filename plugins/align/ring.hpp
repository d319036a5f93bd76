// The reorder buffer of one stream: packets by key (their unwrapped sequence
// number), from the next key to release upwards. Plain C++.
#pragma once

#include <cstdint>
#include <vector>

namespace nagare::align {

// Slots for keys [head, head + capacity), indexed by key modulo a power of
// two: O(1) insert and lookup, no allocation once grown to the stream's
// packets-in-flight. Holes are packets not (yet) arrived.
template <typename T>
class KeyRing {
 public:
  enum class Put { ok, occupied, stale, too_far };

  // The largest span from head to the newest key a ring will hold; a key
  // beyond it is refused rather than letting a hostile sender size memory.
  static constexpr std::int64_t kMaxSpan = 32768;

  std::int64_t head() const { return head_; }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Starts over at `head`; the ring must be empty.
  void rebase(std::int64_t head) { head_ = head; }

  Put put(std::int64_t key, const T& value) {
    if (key < head_) return Put::stale;
    if (key - head_ >= kMaxSpan) return Put::too_far;
    if (key - head_ >= static_cast<std::int64_t>(slots_.size())) grow(key - head_ + 1);
    Slot& s = slot(key);
    if (s.used) return Put::occupied;
    s = {true, value};
    ++count_;
    return Put::ok;
  }

  bool contains(std::int64_t key) const {
    return key >= head_ && key - head_ < static_cast<std::int64_t>(slots_.size()) && slot(key).used;
  }

  // The lowest stored key's value and key, or null when empty.
  const T* front(std::int64_t* key) const {
    if (count_ == 0) return nullptr;
    for (std::int64_t k = head_;; ++k) {
      if (const Slot& s = slot(k); s.used) {
        *key = k;
        return &s.value;
      }
    }
  }

  // Removes the lowest stored value, saying its key; head moves past it.
  T pop_front(std::int64_t* popped = nullptr) {
    std::int64_t key = 0;
    front(&key);
    if (popped) *popped = key;
    Slot& s = slot(key);
    s.used = false;
    --count_;
    head_ = key + 1;
    return s.value;
  }

 private:
  struct Slot {
    bool used = false;
    T value{};
  };

  Slot& slot(std::int64_t key) { return slots_[static_cast<std::size_t>(key) & (slots_.size() - 1)]; }
  const Slot& slot(std::int64_t key) const { return slots_[static_cast<std::size_t>(key) & (slots_.size() - 1)]; }

  void grow(std::int64_t span) {
    std::size_t capacity = slots_.empty() ? 64 : slots_.size();
    while (static_cast<std::int64_t>(capacity) < span) capacity *= 2;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    for (std::size_t i = 0; i < old.size(); ++i) {
      if (!old[i].used) continue;
      // Every stored key lies in [head, head + old size): recover it from its index.
      const auto mask = static_cast<std::int64_t>(old.size() - 1);
      const std::int64_t key = head_ + ((static_cast<std::int64_t>(i) - head_) & mask);
      slot(key) = old[i];
    }
  }

  std::vector<Slot> slots_;
  std::int64_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace nagare::align
