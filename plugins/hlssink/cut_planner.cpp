#include "cut_planner.hpp"

#include <algorithm>

namespace nagare::hls {

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
// PES timestamps are 90 kHz ticks (11.1 µs), so a frame time read back from
// them may sit a tick off the grid it was planned on.
constexpr std::int64_t kSlack = 100'000;

}  // namespace

std::int64_t target_duration_seconds(std::int64_t target_ns) {
  // The planner keeps segments within two audio frames (< 0.1 s) of the
  // target, which never rounds above the target rounded up.
  return std::max<std::int64_t>(1, (target_ns + kSecond - 1) / kSecond);
}

void CutPlanner::begin(std::int64_t origin) {
  origin_ = origin;
  next_ = 1;
  honoured_ = true;
  misses_ = 0;
}

std::int64_t CutPlanner::ideal(std::uint64_t index) const {
  return origin_.value_or(0) + static_cast<std::int64_t>(index) * config_.target;
}

bool CutPlanner::should_cut(std::int64_t cut, std::int64_t segment_start, std::int64_t tolerance,
                            std::optional<std::int64_t> spacing, std::int64_t early) const {
  if (!origin_ || cut <= segment_start) return false;
  const std::int64_t wanted = ideal(next_);
  if (cut >= wanted - tolerance - kSlack) return true;
  if (config_.requests && honoured_) {
    // The key frame asked for lands where the encoder's frames are, which a
    // request made seconds ahead can only predict: a few milliseconds off
    // (behind videorate, 30 → 15 fps, more), a frame near the midpoint of
    // two audio frames takes the earlier one, and its cut is one more audio
    // frame early. Waiting for another key frame then means a whole GOP: a
    // segment of two targets, past what EXT-X-TARGETDURATION allows.
    // Earlier than that, the one asked for is still to come.
    return early > 0 && cut >= wanted - tolerance - early - kSlack;
  }
  if (!spacing || *spacing <= 0) return false;
  // Key frames come at their own pace: take the one nearest the boundary,
  if (cut >= wanted - *spacing / 2) return true;
  // and cut before the segment would outgrow EXT-X-TARGETDURATION.
  const std::int64_t length = cut - segment_start;
  return length >= config_.target / 2 && length + *spacing > config_.longest;
}

void CutPlanner::cut_made(std::int64_t cut, std::int64_t tolerance, std::int64_t early) {
  const std::int64_t since_origin = std::max<std::int64_t>(0, cut - origin_.value_or(cut));
  const auto nearest = static_cast<std::uint64_t>((since_origin + config_.target / 2) / config_.target);
  const std::uint64_t index = std::max(nearest, next_);
  const std::int64_t error = cut - ideal(index);
  const bool on_boundary = error >= -(tolerance + early + kSlack) && error <= tolerance + kSlack;
  if (!on_boundary) ++misses_;
  // One miss may be a request that came too late (the first boundary, with
  // an encoder that holds frames); a second says the encoder ignores them,
  // and a fixed GOP that lands near a boundary by chance must not make the
  // planner wait for key frames that will not come.
  honoured_ = on_boundary && misses_ < 2;
  next_ = index + 1;
}

}  // namespace nagare::hls
