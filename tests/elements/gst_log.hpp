// What every element test needs from GLib and GStreamer before it starts:
// gst_init() once, and a record of the criticals and warnings logged, so a
// test can fail on the ones logged while it ran.
#pragma once

#include <gst/gst.h>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace nagare::test::elements {

// GLib criticals and warnings logged since the process started: a refcount
// or pad-protocol mistake (a g_return_if_fail() in GStreamer) must fail the
// test it happens in, not scroll by. gst_check_init() makes them fatal; here
// they are collected, so one failing test does not take the rest down.
class LogProblems {
 public:
  static LogProblems& get() {
    static LogProblems instance;
    return instance;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  std::vector<std::string> since(std::size_t first) {
    std::lock_guard lock(mutex_);
    return {messages_.begin() + static_cast<std::ptrdiff_t>(std::min(first, messages_.size())), messages_.end()};
  }
  static void handler(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
    g_log_default_handler(domain, level, message, nullptr);
    if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) {
      std::lock_guard lock(get().mutex_);
      get().messages_.push_back(std::string(domain ? domain : "") + ": " + (message ? message : ""));
    }
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

// gst_init() once per process.
inline void init_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_log_set_default_handler(&LogProblems::handler, nullptr);
    gst_init(nullptr, nullptr);
  });
}

}  // namespace nagare::test::elements
