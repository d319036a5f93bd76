#include "lifecycle.hpp"

namespace nagare::launcher {

std::string_view to_string(ChannelState state) {
  switch (state) {
    case ChannelState::kWaiting: return "waiting";
    case ChannelState::kLive: return "live";
    case ChannelState::kIdle: return "idle";
    case ChannelState::kEnded: return "ended";
    case ChannelState::kRestarting: return "restarting";
  }
  return "unknown";
}

Lifecycle::Action Lifecycle::tick(std::int64_t now, std::int64_t last_packet) {
  const bool recent = last_packet > 0 && now - last_packet < kIdleAfter;
  switch (state_) {
    case ChannelState::kWaiting:
    case ChannelState::kEnded:
      if (last_packet > 0) {
        state_ = recent ? ChannelState::kLive : ChannelState::kIdle;
        seen_ = true;
        return Action::kBroadcastStarted;
      }
      return Action::kNone;
    case ChannelState::kLive:
      if (!recent) state_ = ChannelState::kIdle;
      return Action::kNone;
    case ChannelState::kIdle:
      if (recent) {
        state_ = ChannelState::kLive;
      } else if (seen_ && now - last_packet >= idle_timeout_) {
        return Action::kEndBroadcast;
      }
      return Action::kNone;
    case ChannelState::kRestarting: return Action::kNone;
  }
  return Action::kNone;
}

}  // namespace nagare::launcher
