#include "align_clock.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gst/check/gsttestclock.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>

namespace {

// One thread blocked in a wait on the manual clock. Shared, so that it can
// be notified after the clock's lock is let go: a thread woken while the
// waker still holds the lock would only block again on the lock, a second
// context switch that no real clock costs.
struct Waiter {
  GstClockEntry* entry = nullptr;
  GstClockTime at = 0;
  std::condition_variable wake;
  std::optional<GstClockReturn> result;
};

}  // namespace

// Constructed in place in _init, destroyed in finalize.
struct NagareManualClockPrivate {
  std::mutex lock;
  GstClockTime now = 0;                          // guarded by lock
  std::vector<std::shared_ptr<Waiter>> waiters;  // guarded by lock
  nagare::bench::ClockCounts counts;             // guarded by lock
};

struct NagareManualClock {
  GstClock parent;
};

struct NagareManualClockClass {
  GstClockClass parent_class;
};

namespace {

G_DEFINE_TYPE_WITH_PRIVATE(NagareManualClock, nagare_manual_clock, GST_TYPE_CLOCK)

NagareManualClockPrivate& state(gpointer clock) {
  return *static_cast<NagareManualClockPrivate*>(
      nagare_manual_clock_get_instance_private(static_cast<NagareManualClock*>(clock)));
}

GstClockTime manual_internal_time(GstClock* clock) {
  NagareManualClockPrivate& s = state(clock);
  std::lock_guard lock(s.lock);
  return s.now;
}

GstClockTime manual_resolution(GstClock*) { return 1; }

GstClockReturn manual_wait(GstClock* clock, GstClockEntry* entry, GstClockTimeDiff* jitter) {
  NagareManualClockPrivate& s = state(clock);
  std::unique_lock lock(s.lock);
  const GstClockTime at = GST_CLOCK_ENTRY_TIME(entry);
  if (jitter) *jitter = GST_CLOCK_DIFF(at, s.now);
  if (GST_CLOCK_ENTRY_STATUS(entry) == GST_CLOCK_UNSCHEDULED) {
    ++s.counts.unscheduled;
    return GST_CLOCK_UNSCHEDULED;
  }
  if (at <= s.now) {
    ++s.counts.early;
    return GST_CLOCK_EARLY;
  }
  ++s.counts.waits;
  auto w = std::make_shared<Waiter>();
  w->entry = entry;
  w->at = at;
  s.waiters.push_back(w);
  GST_CLOCK_ENTRY_STATUS(entry) = GST_CLOCK_BUSY;
  w->wake.wait(lock, [&] { return w->result.has_value(); });
  std::erase(s.waiters, w);
  GST_CLOCK_ENTRY_STATUS(entry) = *w->result;
  return *w->result;
}

// Marks the waits that `pick` chooses as over, with `result`, and wakes
// their threads once the lock is let go; returns how many.
template <typename Pick>
int finish_waits(NagareManualClockPrivate& s, GstClockReturn result, Pick pick) {
  std::vector<std::shared_ptr<Waiter>> woken;
  {
    std::lock_guard lock(s.lock);
    for (const auto& w : s.waiters) {
      if (!w->result && pick(*w)) {
        w->result = result;
        woken.push_back(w);
      }
    }
    if (result == GST_CLOCK_UNSCHEDULED) s.counts.unscheduled += woken.size();
  }
  for (const auto& w : woken) w->wake.notify_one();
  return static_cast<int>(woken.size());
}

void manual_unschedule(GstClock* clock, GstClockEntry* entry) {
  NagareManualClockPrivate& s = state(clock);
  {
    std::lock_guard lock(s.lock);
    GST_CLOCK_ENTRY_STATUS(entry) = GST_CLOCK_UNSCHEDULED;
  }
  finish_waits(s, GST_CLOCK_UNSCHEDULED, [&](const Waiter& w) { return w.entry == entry; });
}

void manual_finalize(GObject* object) {
  state(object).~NagareManualClockPrivate();
  G_OBJECT_CLASS(nagare_manual_clock_parent_class)->finalize(object);
}

void nagare_manual_clock_class_init(NagareManualClockClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = manual_finalize;
  GstClockClass* clock_class = GST_CLOCK_CLASS(klass);
  clock_class->get_internal_time = manual_internal_time;
  clock_class->get_resolution = manual_resolution;
  clock_class->wait = manual_wait;
  clock_class->unschedule = manual_unschedule;
}

void nagare_manual_clock_init(NagareManualClock* self) {
  new (nagare_manual_clock_get_instance_private(self)) NagareManualClockPrivate();
  GST_OBJECT_FLAG_SET(self, GST_CLOCK_FLAG_CAN_DO_SINGLE_SYNC);
}

void manual_advance(GstClock* clock, GstClockTime time) {
  NagareManualClockPrivate& s = state(clock);
  std::lock_guard lock(s.lock);
  s.now = std::max(s.now, time);
}

int manual_release_due(GstClock* clock) {
  NagareManualClockPrivate& s = state(clock);
  GstClockTime now = 0;
  {
    std::lock_guard lock(s.lock);
    now = s.now;
  }
  return finish_waits(s, GST_CLOCK_OK, [&](const Waiter& w) { return w.at <= now; });
}

}  // namespace

namespace nagare::bench {

const char* name_of(ClockKind kind) { return kind == ClockKind::test ? "GstTestClock" : "manual clock"; }

DrivenClock::DrivenClock(ClockKind kind)
    : kind_(kind),
      clock_(kind == ClockKind::test
                 ? gst_test_clock_new()
                 : GST_CLOCK(gst_object_ref_sink(g_object_new(nagare_manual_clock_get_type(), nullptr)))) {}

DrivenClock::~DrivenClock() { gst_object_unref(clock_); }

void DrivenClock::advance(GstClockTime time) {
  if (kind_ == ClockKind::manual) {
    manual_advance(clock_, time);
  } else if (time > gst_clock_get_time(clock_)) {
    gst_test_clock_set_time(GST_TEST_CLOCK(clock_), time);
  }
}

int DrivenClock::release_due() {
  if (kind_ == ClockKind::manual) return manual_release_due(clock_);
  int released = 0;
  while (GstClockID id = gst_test_clock_process_next_clock_id(GST_TEST_CLOCK(clock_))) {
    gst_clock_id_unref(id);
    ++released;
  }
  released_ += static_cast<std::uint64_t>(released);
  return released;
}

ClockCounts DrivenClock::counts() const {
  if (kind_ == ClockKind::test) return ClockCounts{released_, 0, 0};
  NagareManualClockPrivate& s = state(clock_);
  std::lock_guard lock(s.lock);
  return s.counts;
}

IdleWatch::IdleWatch() {
  const pid_t self = gettid();
  DIR* dir = opendir("/proc/self/task");
  if (!dir) {
    std::fprintf(stderr, "align-bench: cannot list /proc/self/task\n");
    std::exit(2);
  }
  while (const dirent* entry = readdir(dir)) {
    const int tid = std::atoi(entry->d_name);
    if (tid <= 0 || tid == self) continue;
    const std::string path = std::string("/proc/self/task/") + entry->d_name + "/stat";
    if (const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) fds_.push_back(fd);
  }
  closedir(dir);
}

IdleWatch::~IdleWatch() {
  for (const int fd : fds_) close(fd);
}

bool IdleWatch::all_asleep() const {
  char text[512];
  for (const int fd : fds_) {
    const ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) continue;  // the thread has gone
    text[n] = '\0';
    // "tid (comm) S ...": the name may hold spaces and parentheses.
    const char* close_paren = std::strrchr(text, ')');
    if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'R') return false;
  }
  return true;
}

}  // namespace nagare::bench
