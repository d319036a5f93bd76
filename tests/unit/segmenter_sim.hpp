// A closed loop with no GStreamer: a simulated encoder that honours (or
// ignores) key-unit requests, a muxer writing PES in DTS order, the
// KeyframeScheduler watching frames pass the sink, and the Segmenter
// cutting the transport stream. Tests run hours of media through it in a
// second and check every segment.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "hlssink/keyframe_scheduler.hpp"
#include "hlssink/segmenter.hpp"
#include "hlssink/ts.hpp"
#include "ts_builder.hpp"

namespace nagare::test {

struct SimMedia {
  bool video = true;
  std::int64_t frame_num = 1001;  // video frame duration num/den seconds
  std::int64_t frame_den = 30000;
  std::uint8_t audio_type = 0x03;  // 0: no audio; 0x03 MP3; 0x0f ADTS
  std::uint32_t rate = 48000;      // MP3: 48000 or 44100; ADTS: 48000
  std::int64_t target = 1'000'000'000;
  bool requests = true;
  bool segmenter_expects_requests = false;  // with gop > 0: requests sent, and ignored
  int gop = 0;            // > 0: the encoder makes a key frame every `gop` frames and ignores requests
  int encoder_delay = 0;  // frames the encoder holds (40 for x264's default lookahead)
  double seconds = 60;
};

// What a test learns of one segment, read back from its bytes.
struct SegmentView {
  hls::Segment meta;                    // bytes moved out
  std::vector<std::int64_t> video_pts;  // ticks, in order
  std::vector<bool> video_key;
  std::vector<std::int64_t> audio_pts;
  bool starts_with_tables = false;
};

inline SegmentView read_segment(hls::Segment segment) {
  SegmentView view;
  const auto& b = segment.bytes;
  view.starts_with_tables = b.size() >= 2 * ts::kPacketSize && b[1] == 0x40 && b[2] == 0x00 &&
                            ((b[ts::kPacketSize + 1] & 0x1f) << 8 | b[ts::kPacketSize + 2]) == TsBuilder::kPmtPid;
  for (std::size_t i = 0; i + ts::kPacketSize <= b.size(); i += ts::kPacketSize) {
    const auto packet = ts::parse_packet(std::span(b).subspan(i, ts::kPacketSize));
    if (!packet || !packet->payload_unit_start) continue;
    const auto pes = ts::parse_pes_header(packet->payload);
    if (!pes || !pes->pts) continue;
    if (packet->pid == TsBuilder::kVideoPid) {
      view.video_pts.push_back(*pes->pts);
      view.video_key.push_back(packet->random_access);
    } else if (packet->pid == TsBuilder::kAudioPid) {
      view.audio_pts.push_back(*pes->pts);
    }
  }
  segment.bytes.clear();
  view.meta = std::move(segment);
  return view;
}

struct SimResult {
  std::vector<SegmentView> segments;
  hls::SegmenterStats stats;
  std::int64_t video_frames = 0;
  std::int64_t audio_frames = 0;
  std::int64_t audio_frame_ns = 0;
};

inline SimResult simulate(const SimMedia& m) {
  constexpr std::int64_t kBase = TsBuilder::kClockBase;
  hls::Segmenter segmenter(
      hls::SegmenterConfig{.target = m.target, .requests = (m.requests && m.gop == 0) || m.segmenter_expects_requests});
  hls::KeyframeScheduler scheduler(m.target, 3'000'000'000);
  TsBuilder builder;
  SimResult result;
  std::vector<hls::Segment> done;
  auto push = [&](const std::vector<std::uint8_t>& bytes) {
    segmenter.push(bytes, done);
    for (auto& segment : done) result.segments.push_back(read_segment(std::move(segment)));
    done.clear();
  };
  push(builder.tables(m.video, m.audio_type));

  const std::uint32_t samples = m.audio_type == 0x0f ? 1024 : 1152;
  result.audio_frame_ns = static_cast<std::int64_t>(samples) * 1'000'000'000 / m.rate;
  auto video_ticks = [&](std::int64_t i) { return i * 90000 * m.frame_num / m.frame_den; };
  auto audio_ticks = [&](std::int64_t j) { return (j * 90000 * samples + m.rate / 2) / m.rate; };
  const std::int64_t frame_ns = m.frame_num * 1'000'000'000 / m.frame_den;
  const auto end_ticks = static_cast<std::int64_t>(m.seconds * 90000);

  std::deque<bool> encoded;  // key-frame decisions of frames not yet at the sink
  std::int64_t next_encode = 0;
  std::vector<std::int64_t> pending;  // requested running times
  auto encode_until = [&](std::int64_t frame) {
    for (; next_encode <= frame; ++next_encode) {
      bool key = next_encode == 0;
      if (m.gop > 0) {
        key = next_encode % m.gop == 0;
      } else {
        const std::int64_t time = ts::ticks_to_ns(video_ticks(next_encode));
        for (auto it = pending.begin(); it != pending.end();) {
          if (*it <= time) {
            key = true;
            it = pending.erase(it);
          } else {
            ++it;
          }
        }
      }
      encoded.push_back(key);
    }
  };

  const std::vector<std::uint8_t> video_payload(100, 0x11);
  const std::vector<std::uint8_t> audio_payload = m.audio_type == 0x0f ? adts_frame(80) : mp3_frame(m.rate);
  std::int64_t i = 0, j = 0;
  for (;;) {
    const bool video_left = m.video && video_ticks(i) < end_ticks;
    const bool audio_left = m.audio_type != 0 && audio_ticks(j) < end_ticks;
    if (!video_left && !audio_left) break;
    if (video_left && (!audio_left || video_ticks(i) <= audio_ticks(j))) {
      encode_until(i + m.encoder_delay);
      const bool key = encoded.front();
      encoded.pop_front();
      push(builder.pes(TsBuilder::kVideoPid, video_ticks(i) + kBase, video_payload, key));
      const hls::PlanState plan = segmenter.plan();
      std::optional<std::int64_t> origin;
      if (plan.origin) origin = *plan.origin - ts::ticks_to_ns(kBase);
      scheduler.set_plan(plan.timeline, origin, plan.next_index);
      if (m.requests && m.gop == 0) {
        for (const std::int64_t r : scheduler.video_frame(ts::ticks_to_ns(video_ticks(i)), frame_ns))
          pending.push_back(r);
      }
      ++i;
    } else {
      push(builder.pes(TsBuilder::kAudioPid, audio_ticks(j) + kBase, audio_payload));
      scheduler.audio_frame(ts::ticks_to_ns(audio_ticks(j)), result.audio_frame_ns);
      ++j;
    }
  }
  segmenter.finish(done);
  for (auto& segment : done) result.segments.push_back(read_segment(std::move(segment)));
  result.stats = segmenter.stats();
  result.video_frames = i;
  result.audio_frames = j;
  return result;
}

}  // namespace nagare::test
