// Identifiers that are also secrets (the publish credential) or must not be
// guessable (the playback id), and the RTP ports channels listen on.
//
// Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace nagare::launcher {

// 128 random bits each. The channel id is the publish credential; the
// playback id is what viewers see, and says nothing of the channel id.
constexpr std::size_t kChannelIdBytes = 16;
constexpr std::size_t kPlaybackIdBytes = 16;

// `bytes` random bytes from the kernel (getrandom), as lowercase hex.
std::string random_hex(std::size_t bytes);

// True for what random_hex can return: lowercase hex digits only, so such
// an id is safe in a path or a URL as it is.
bool is_hex_id(std::string_view id, std::size_t bytes);

// Equal, in a time that depends only on the lengths (for tokens).
bool constant_time_equal(std::string_view a, std::string_view b);

// Video and audio port pairs from [low, high]: video on an even port, audio
// on the next one.
class PortPool {
 public:
  PortPool(std::uint16_t low, std::uint16_t high) : low_(low), high_(high) {}

  // The first free pair that `usable` accepts (it can try binding them);
  // nullopt when none is left.
  template <typename Usable>
  std::optional<std::pair<std::uint16_t, std::uint16_t>> take(Usable&& usable) {
    for (unsigned p = low_ + (low_ % 2); p + 1 <= high_; p += 2) {
      const auto video = static_cast<std::uint16_t>(p);
      const auto audio = static_cast<std::uint16_t>(p + 1);
      if (used_.count(video) || !usable(video, audio)) continue;
      used_.insert(video);
      return std::pair{video, audio};
    }
    return std::nullopt;
  }
  void give_back(std::uint16_t video_port) { used_.erase(video_port); }

 private:
  std::uint16_t low_;
  std::uint16_t high_;
  std::set<std::uint16_t> used_;
};

}  // namespace nagare::launcher
