// When to ask the encoder for key frames, and for which frame.
//
// The segmenter cuts at the key frame whose nearest audio-frame start is
// closest to a boundary (origin + k × target). Video frames (every 33.4 ms
// at 29.97 fps) and audio frames (24 ms for MP3 at 48 kHz) rarely line up,
// so asking for "a key frame at the boundary" could miss it by a video frame
// plus half an audio frame. The scheduler predicts both grids from the
// latest frames and asks for the video frame whose audio cut lands nearest
// the boundary, well before the encoder sees that frame.
//
// Plain C++, no GStreamer; times are nanoseconds of running time.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace nagare::hls {

class KeyframeScheduler {
 public:
  // `lookahead`: how far ahead of the frames passing the sink requests are
  // made; more than the encoder's own delay (x264's lookahead included).
  KeyframeScheduler(std::int64_t target, std::int64_t lookahead) : target_(target), lookahead_(lookahead) {}

  // The plan as the segmenter last published it, moved onto running time.
  void set_plan(std::uint64_t timeline, std::optional<std::int64_t> origin, std::uint64_t next_index);
  void audio_frame(std::int64_t start, std::int64_t duration);
  // A video frame passes; returns the running times to request key units
  // at (each one half a frame before the frame chosen).
  std::vector<std::int64_t> video_frame(std::int64_t time, std::int64_t duration);

  // The frame of the series `frame_time + n × frame` (n ≥ 1) to make a key
  // frame so that the cut it gives lands nearest `boundary`.
  std::int64_t choose_frame(std::int64_t boundary, std::int64_t frame_time, std::int64_t frame) const;

 private:
  std::int64_t target_;
  std::int64_t lookahead_;
  std::uint64_t timeline_ = 0;
  std::optional<std::int64_t> origin_;
  std::uint64_t next_index_ = 1;
  std::uint64_t requested_ = 0;  // highest boundary index requested in this timeline
  std::optional<std::int64_t> audio_start_;
  std::int64_t audio_frame_ = 0;
};

}  // namespace nagare::hls
