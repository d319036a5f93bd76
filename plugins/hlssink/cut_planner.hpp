// Where segments should end, and whether a key frame that arrived is the
// place to end one.
//
// Boundaries are planned on an absolute grid: boundary k of a timeline is
// wanted at origin + k × target. A cut is judged by the time it would give
// the segment (the audio-frame start nearest the key frame when there is
// audio), so the running sum of segment durations stays within one audio
// frame of k × target whenever the encoder puts key frames where they were
// asked for. When it does not, each cut is made at the key frame nearest its
// boundary and the next boundary is still measured from the origin, so an
// error never accumulates.
//
// Plain C++, no GStreamer; times are integer nanoseconds.
#pragma once

#include <cstdint>
#include <optional>

namespace nagare::hls {

struct PlannerConfig {
  std::int64_t target = 2'000'000'000;  // ns
  // Longest segment whose EXTINF still rounds to EXT-X-TARGETDURATION or
  // less (RFC 8216 §4.3.3.1), used when key frames come at their own pace.
  std::int64_t longest = 2'500'000'000 - 1'000'000;
  // Whether key frames are requested from the encoder at planned cuts.
  bool requests = true;
};

// EXT-X-TARGETDURATION for a target: the segments this planner makes round
// to at most this many seconds.
std::int64_t target_duration_seconds(std::int64_t target_ns);

class CutPlanner {
 public:
  explicit CutPlanner(PlannerConfig config) : config_(config) {}

  // A timeline starts (stream start, or after a discontinuity): its first
  // segment begins at `origin`.
  void begin(std::int64_t origin);
  bool started() const { return origin_.has_value(); }
  std::int64_t origin() const { return *origin_; }

  // The boundary the next cut aims for, and when it is wanted.
  std::uint64_t next_index() const { return next_; }
  std::int64_t ideal(std::uint64_t index) const;

  // Whether to cut at a candidate: a key frame whose segment would start at
  // `cut`, in the segment that began at `segment_start`.
  //  - `tolerance`: how far before the boundary a cut still counts as on it
  //    (one audio frame; half a video frame without audio).
  //  - `spacing`: the last interval between candidates (key frames; or
  //    audio frames when every frame is one), if known.
  //  - `early`: while requests are honoured, how much earlier still a key
  //    frame is taken, as the one asked for landing on the other side of an
  //    audio frame's midpoint (see the .cpp); the segmenter gives one more
  //    tolerance for video key frames, none for audio-only cuts.
  bool should_cut(std::int64_t cut, std::int64_t segment_start, std::int64_t tolerance,
                  std::optional<std::int64_t> spacing, std::int64_t early = 0) const;

  // A cut was made at `cut`: the boundary it stands for is the one nearest
  // it, and the next cut aims at the one after. Within `tolerance` after it
  // and `tolerance + early` before it, it is on it (a request honoured).
  void cut_made(std::int64_t cut, std::int64_t tolerance, std::int64_t early = 0);

  // Whether the encoder honours requests: assumed until a second cut of the
  // timeline lands off its boundary, and never again after that.
  bool honoured() const { return honoured_; }

 private:
  PlannerConfig config_;
  std::optional<std::int64_t> origin_;
  std::uint64_t next_ = 1;
  bool honoured_ = true;
  int misses_ = 0;  // cuts off their boundary in this timeline
};

}  // namespace nagare::hls
