// What align-bench needs to run buffers on simulated time: a pipeline
// clock that the feeding thread moves forward, and a way to tell when the
// elements' threads have done what they were woken for.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <vector>

namespace nagare::bench {

enum class ClockKind {
  // GstTestClock (gstreamer-check). Every wait blocks until released, even
  // one for a time already past, and releasing or unscheduling any wait
  // wakes every thread waiting on the clock (one shared GCond).
  test,
  // A clock of our own with a real clock's waits: one for a time already
  // past returns at once (EARLY), and each wait wakes only its own thread,
  // as GstSystemClock's do.
  manual,
};

const char* name_of(ClockKind kind);

// What the elements asked of a clock.
struct ClockCounts {
  std::uint64_t waits = 0;        // waits that blocked
  std::uint64_t early = 0;        // waits for a time already past (manual clock only)
  std::uint64_t unscheduled = 0;  // waits cut short (manual clock only)
};

// A pipeline clock whose time moves only when set. Owns one reference.
class DrivenClock {
 public:
  explicit DrivenClock(ClockKind kind);
  DrivenClock(const DrivenClock&) = delete;
  DrivenClock& operator=(const DrivenClock&) = delete;
  ~DrivenClock();

  GstClock* get() const { return clock_; }
  // Moves the time forward to `time`; an earlier time is ignored.
  void advance(GstClockTime time);
  // Lets go every wait due by now; returns how many.
  int release_due();
  ClockCounts counts() const;

 private:
  ClockKind kind_;
  GstClock* clock_;
  std::uint64_t released_ = 0;
};

// Tells when every other thread of the process is asleep (blocked on a
// lock, a condition or a clock wait), from the state field of
// /proc/self/task/TID/stat. The threads are listed on construction.
class IdleWatch {
 public:
  IdleWatch();
  IdleWatch(const IdleWatch&) = delete;
  IdleWatch& operator=(const IdleWatch&) = delete;
  ~IdleWatch();

  bool all_asleep() const;

 private:
  std::vector<int> fds_;
};

}  // namespace nagare::bench
