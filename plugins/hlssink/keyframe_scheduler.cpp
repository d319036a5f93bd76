#include "keyframe_scheduler.hpp"

#include <algorithm>
#include <cstdlib>

#include "../common/int_math.hpp"

namespace nagare::hls {

namespace {

// Within this of the midpoint between two audio frames, a key frame may be
// cut at either: PES timestamps are 90 kHz ticks.
constexpr std::int64_t kMidway = 1'000'000;

}  // namespace

void KeyframeScheduler::set_plan(std::uint64_t timeline, std::optional<std::int64_t> origin, std::uint64_t next_index) {
  if (timeline != timeline_ || origin != origin_) requested_ = 0;
  timeline_ = timeline;
  origin_ = origin;
  next_index_ = next_index;
}

void KeyframeScheduler::audio_frame(std::int64_t start, std::int64_t duration) {
  audio_start_ = start;
  if (duration > 0) audio_frame_ = duration;
}

std::vector<std::int64_t> KeyframeScheduler::video_frame(std::int64_t time, std::int64_t duration) {
  std::vector<std::int64_t> requests;
  if (!origin_ || duration <= 0) return requests;
  for (std::uint64_t index = std::max(next_index_, requested_ + 1);; ++index) {
    const std::int64_t boundary = *origin_ + static_cast<std::int64_t>(index) * target_;
    if (boundary > time + lookahead_) break;
    requested_ = index;
    // Too close to change: the encoder has already seen those frames.
    if (boundary <= time + duration) continue;
    requests.push_back(choose_frame(boundary, time, duration) - duration / 2);
  }
  return requests;
}

std::int64_t KeyframeScheduler::choose_frame(std::int64_t boundary, std::int64_t frame_time, std::int64_t frame) const {
  const std::int64_t nearest = std::max<std::int64_t>(1, round_div(boundary - frame_time, frame));
  if (!audio_start_ || audio_frame_ <= 0) return frame_time + nearest * frame;
  // With audio, a cut lands on the audio-frame start nearest the key frame;
  // the segmenter takes one up to an audio frame early. Of the frames
  // around the boundary, take the one whose cut is nearest. A frame midway
  // between two audio frames may be cut at either (its timestamp is rounded
  // on the way), so it is judged by the worse of the two.
  std::int64_t best = frame_time + nearest * frame;
  std::int64_t best_error = -1;
  for (std::int64_t n = std::max<std::int64_t>(1, nearest - 2); n <= nearest + 2; ++n) {
    const std::int64_t candidate = frame_time + n * frame;
    const std::int64_t below = *audio_start_ + floor_div(candidate - *audio_start_, audio_frame_) * audio_frame_;
    const std::int64_t into = candidate - below;
    const bool midway = std::abs(into - audio_frame_ / 2) <= kMidway;
    const std::int64_t low = (midway || into < audio_frame_ / 2) ? below : below + audio_frame_;
    const std::int64_t high = (midway || into >= audio_frame_ / 2) ? below + audio_frame_ : below;
    if (low - boundary < -audio_frame_) continue;
    const std::int64_t error = std::max(std::abs(low - boundary), std::abs(high - boundary));
    if (best_error < 0 || error < best_error) {
      best = candidate;
      best_error = error;
    }
  }
  return best;
}

}  // namespace nagare::hls
