// Cuts mpegtsmux's output into HLS segments.
//
// Why after the muxer, on transport packets: the muxer interleaves audio and
// video by timestamp, so the audio frames that belong after a video cut can
// leave it before the key frame does (and in a live pipeline, a late stream
// is muxed later still). Reading the PES timestamps lets every PES go to the
// segment it belongs to, whatever order the muxer wrote them in, while each
// PID keeps its packet order and continuity counters.
//
// The rules, per timeline (the stream start, or a jump in the timestamps):
//  - It starts at a video key frame (or at the first audio frame when there
//    is no video). Video before that key frame is dropped, and so is audio
//    before the audio frame nearest to it.
//  - A segment starts at a video key frame the CutPlanner accepts, with the
//    audio cut at the audio-frame start nearest that key frame. Without
//    video, any audio frame can start one.
//  - Every segment opens with the latest PAT and PMT; its EXTINF runs from
//    its start to the next segment's (audio time when there is audio).
//  - A jump in the audio timestamps of more than 100 ms, or in video's DTS of
//    more than 1 s (or backwards), ends the timeline: its segments are
//    closed and the next one is marked as a discontinuity.
//
// Plain C++, no GStreamer; times are nanoseconds on the unwrapped PES clock.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "cut_planner.hpp"
#include "ts.hpp"

namespace nagare::hls {

struct SegmenterConfig {
  std::int64_t target = 2'000'000'000;  // ns
  bool requests = true;                 // key frames are requested at planned cuts
  // Wall clock (ns since the Unix epoch), read when a timeline begins: a
  // segment's date is that reading plus its media time since.
  std::function<std::int64_t()> wall_clock{};
};

struct Segment {
  std::vector<std::uint8_t> bytes;         // a complete MPEG-TS file
  std::int64_t start = 0;                  // ns
  std::int64_t duration = 0;               // ns, what EXTINF says
  bool discontinuity = false;              // first segment after a timestamp jump
  std::uint64_t timeline = 0;              // 0 for the first, +1 at each discontinuity
  std::optional<std::int64_t> wall_clock;  // the date of its start, ns since the Unix epoch
};

struct SegmenterStats {
  std::uint64_t packets = 0;
  std::uint64_t malformed = 0;  // packets or PES headers that did not parse
  std::uint64_t dropped = 0;    // PES before their timeline's first key frame
  std::uint64_t discontinuities = 0;
  std::uint64_t segments = 0;
};

// What the key-frame scheduler needs to know of the plan (see scheduler.hpp).
struct PlanState {
  std::uint64_t timeline = 0;
  std::optional<std::int64_t> origin;  // none until the timeline has begun
  std::uint64_t next_index = 1;
  std::optional<std::int64_t> first_video_pts;  // maps this clock to running time
};

class Segmenter {
 public:
  explicit Segmenter(SegmenterConfig config);

  // Takes the muxer's output in pieces of any size; appends the segments it
  // completes to `done`.
  void push(std::span<const std::uint8_t> bytes, std::vector<Segment>& done);
  // End of stream: everything left becomes the last segments.
  void finish(std::vector<Segment>& done);

  const SegmenterStats& stats() const { return stats_; }
  PlanState plan() const;

 private:
  enum class Track { kVideo, kAudio };
  enum class Phase { kWaiting, kRunning };

  // Where the packets of the PES being received on a PID go.
  struct Route {
    enum class Kind { kNone, kDrop, kHold, kSegment } kind = Kind::kNone;
    std::uint64_t segment = 0;
  };

  struct TrackState {
    std::optional<std::uint16_t> pid;
    ts::StreamKind kind = ts::StreamKind::kOther;
    ts::PtsUnwrapper unwrapper;
    Route route;
    std::optional<std::int64_t> last_start;  // PTS of the latest PES (video: DTS when present)
    std::optional<std::int64_t> last_end;    // audio: where the latest complete PES ends
    std::optional<std::uint64_t> routed;     // latest segment this track wrote into
    std::int64_t frame = 0;                  // audio frame duration; video frame interval (0: unknown)
    std::vector<std::uint8_t> payload;       // audio: the PES being received, to count its frames
  };

  struct HeldAudio {
    std::int64_t start = 0;
    std::optional<std::int64_t> end;
    std::vector<std::uint8_t> packets;
  };

  struct OpenSegment {
    std::uint64_t id = 0;
    std::vector<std::uint8_t> bytes;
    std::int64_t start = 0;
    std::int64_t audio_cut = 0;  // audio frames starting from here (± half a frame) belong here
    std::optional<std::int64_t> audio_end;
    std::optional<std::int64_t> video_end;
    bool discontinuity = false;
    std::uint64_t timeline = 0;
  };

  void consume(std::span<const std::uint8_t> bytes, std::vector<Segment>& done);
  void packet(std::span<const std::uint8_t> bytes, std::vector<Segment>& done);
  void psi(const ts::Packet& packet, std::span<const std::uint8_t> bytes);
  void start_video(const ts::Packet& packet, std::span<const std::uint8_t> bytes, std::vector<Segment>& done);
  void start_audio(const ts::Packet& packet, std::span<const std::uint8_t> bytes, std::vector<Segment>& done);
  void complete_audio_pes();
  void route_video(std::int64_t pts, bool keyframe);
  void release_audio(bool flushing);
  void write(Track track, std::span<const std::uint8_t> bytes);
  void discontinuity(std::int64_t time, std::vector<Segment>& done);
  void close_ready(std::vector<Segment>& done);
  void close_all(std::vector<Segment>& done);
  void emit(OpenSegment& segment, std::int64_t duration, std::vector<Segment>& done);

  void begin_timeline(std::int64_t origin, std::int64_t audio_cut);
  OpenSegment& open_segment(std::int64_t start, std::int64_t audio_cut);
  OpenSegment* find_open(std::uint64_t id);
  std::int64_t audio_cut_near(std::int64_t time) const;
  bool audio_in_timeline() const;
  bool video_stalled() const;
  std::int64_t cut_tolerance() const;

  SegmenterConfig config_;
  CutPlanner planner_;
  SegmenterStats stats_;

  std::vector<std::uint8_t> carry_;  // bytes of a packet split across push() calls
  std::optional<std::uint16_t> pmt_pid_;
  std::vector<std::uint8_t> pat_;  // latest PAT and PMT packets, written at each segment start
  std::vector<std::uint8_t> pmt_;
  std::uint8_t pat_counter_ = 0;
  std::uint8_t pmt_counter_ = 0;

  TrackState video_;
  TrackState audio_;
  std::deque<HeldAudio> held_;
  bool audio_pes_open_ = false;  // an audio PES with a good header is being received
  std::optional<std::int64_t> first_video_pts_;
  std::optional<std::int64_t> last_keyframe_;
  std::optional<std::int64_t> keyframe_spacing_;

  Phase phase_ = Phase::kWaiting;
  bool video_in_timeline_ = false;
  bool audio_seen_in_timeline_ = false;
  bool pending_discontinuity_ = false;
  std::uint64_t timeline_ = 0;
  std::int64_t timeline_origin_ = 0;
  std::optional<std::int64_t> timeline_wall_clock_;
  std::uint64_t next_id_ = 0;
  std::optional<std::int64_t> jumped_to_;  // where the latest discontinuity led
  std::deque<OpenSegment> open_;
};

}  // namespace nagare::hls
