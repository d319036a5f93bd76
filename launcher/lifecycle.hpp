// A channel's life as its publisher sees it, decided from packet arrival
// times alone, and the back-off between restarts of a failed pipeline.
//
//   waiting ──packets──► live ──2 s without──► idle ──packets──► live
//                                                │
//                                     idle_timeout without
//                                                ▼
//                 ended (a new pipeline listens; packets start a new broadcast)
//
// Plain C++, no GStreamer; times are microseconds on a monotonic clock.
#pragma once

#include <cstdint>
#include <string_view>

namespace nagare::launcher {

enum class ChannelState { kWaiting, kLive, kIdle, kEnded, kRestarting };

std::string_view to_string(ChannelState state);

class Lifecycle {
 public:
  // A publisher is idle after this long without a packet: two ptimes of
  // Opus are 40 ms and a frame of 1 fps video is 1 s, so 2 s is silence.
  static constexpr std::int64_t kIdleAfter = 2'000'000;

  enum class Action { kNone, kBroadcastStarted, kEndBroadcast };

  explicit Lifecycle(std::int64_t idle_timeout_us) : idle_timeout_(idle_timeout_us) {}

  // A new pipeline listens; `after_broadcast`: the previous one ended.
  void listening(bool after_broadcast) {
    state_ = after_broadcast ? ChannelState::kEnded : ChannelState::kWaiting;
    seen_ = false;
  }
  void restarting() { state_ = ChannelState::kRestarting; }

  // The newest packet arrival time the pipeline has seen (0: none yet).
  Action tick(std::int64_t now, std::int64_t last_packet);

  ChannelState state() const { return state_; }

 private:
  std::int64_t idle_timeout_;
  ChannelState state_ = ChannelState::kWaiting;
  bool seen_ = false;
};

// 1, 2, 4 … 30 s between restarts; back to 1 s once a pipeline has run
// `kHealthy` without failing.
class Backoff {
 public:
  static constexpr std::int64_t kFirst = 1'000'000;
  static constexpr std::int64_t kMax = 30'000'000;
  static constexpr std::int64_t kHealthy = 60'000'000;

  // The pipeline that started at `started` failed at `now`: how long to wait.
  std::int64_t next(std::int64_t started, std::int64_t now) {
    if (now - started >= kHealthy) delay_ = kFirst;
    const std::int64_t d = delay_;
    delay_ = delay_ * 2 > kMax ? kMax : delay_ * 2;
    return d;
  }

 private:
  std::int64_t delay_ = kFirst;
};

}  // namespace nagare::launcher
