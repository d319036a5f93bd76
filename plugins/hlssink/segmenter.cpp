#include "segmenter.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "../common/int_math.hpp"
#include "audio_frames.hpp"

namespace nagare::hls {

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
// Audio that lands this far from where the previous frame ended has jumped:
// a new timeline. Smaller gaps (a lost packet's worth) are only gaps.
constexpr std::int64_t kAudioJump = 100'000'000;
// A jump in video DTS this large (or any step back). Not when the audio of
// the timeline is already there: then the video has a gap (frames lost on
// the way in and waited out until the next key frame, two seconds and more
// under loss) while the audio went on. A publisher that really restarts
// jumps both streams, and the muxer writes the jumped video before the
// audio catches up.
constexpr std::int64_t kVideoJump = kSecond;
// Both streams jump when a publisher restarts; the second one to land
// within this of the first belongs to the same discontinuity.
constexpr std::int64_t kSameJump = 2 * kSecond;
// A stream that has fallen this far behind the other no longer holds it back.
constexpr std::int64_t kStall = kSecond;

}  // namespace

Segmenter::Segmenter(SegmenterConfig config)
    : config_(std::move(config)),
      planner_(PlannerConfig{
          .target = config_.target,
          .longest = target_duration_seconds(config_.target) * kSecond + kSecond / 2 - kSecond / 1000,
          .requests = config_.requests,
      }) {}

PlanState Segmenter::plan() const {
  PlanState state;
  state.timeline = timeline_;
  if (planner_.started()) state.origin = planner_.origin();
  state.next_index = planner_.next_index();
  state.first_video_pts = first_video_pts_;
  return state;
}

void Segmenter::push(std::span<const std::uint8_t> bytes, std::vector<Segment>& done) {
  // mpegtsmux hands over whole packets; anything else (a piece that ended
  // inside a packet, or garbage) goes through a copy.
  if (!carry_.empty()) {
    carry_.insert(carry_.end(), bytes.begin(), bytes.end());
    std::vector<std::uint8_t> input;
    input.swap(carry_);
    consume(input, done);
    return;
  }
  consume(bytes, done);
}

void Segmenter::consume(std::span<const std::uint8_t> bytes, std::vector<Segment>& done) {
  while (bytes.size() >= ts::kPacketSize) {
    if (bytes[0] != ts::kSyncByte) {
      // Lost sync: skip to the next sync byte.
      ++stats_.malformed;
      const auto next = std::find(bytes.begin() + 1, bytes.end(), ts::kSyncByte);
      bytes = bytes.subspan(static_cast<std::size_t>(next - bytes.begin()));
      continue;
    }
    packet(bytes.first(ts::kPacketSize), done);
    bytes = bytes.subspan(ts::kPacketSize);
  }
  carry_.assign(bytes.begin(), bytes.end());
}

void Segmenter::packet(std::span<const std::uint8_t> bytes, std::vector<Segment>& done) {
  ++stats_.packets;
  const auto packet = ts::parse_packet(bytes);
  if (!packet) {
    ++stats_.malformed;
    return;
  }
  if (packet->pid == ts::kPatPid || (pmt_pid_ && packet->pid == *pmt_pid_)) {
    psi(*packet, bytes);
    return;
  }
  // Null packets and tables other than PAT/PMT (SDT, SCTE-35) stay out of
  // the segments.
  const bool is_video = video_.pid && packet->pid == *video_.pid;
  const bool is_audio = audio_.pid && packet->pid == *audio_.pid;
  if (!is_video && !is_audio) return;
  if (packet->payload_unit_start) {
    if (is_video) {
      start_video(*packet, bytes, done);
    } else {
      start_audio(*packet, bytes, done);
    }
  } else {
    if (is_audio && audio_pes_open_) {
      audio_.payload.insert(audio_.payload.end(), packet->payload.begin(), packet->payload.end());
    }
    write(is_video ? Track::kVideo : Track::kAudio, bytes);
  }
  close_ready(done);
}

void Segmenter::psi(const ts::Packet& packet, std::span<const std::uint8_t> bytes) {
  if (!packet.payload_unit_start) return;  // mpegtsmux's tables fit one packet
  if (packet.pid == ts::kPatPid) {
    if (const auto pmt_pid = ts::parse_pat(packet.payload)) {
      pmt_pid_ = *pmt_pid;
      pat_.assign(bytes.begin(), bytes.end());
    } else {
      ++stats_.malformed;
    }
    return;
  }
  const auto pmt = ts::parse_pmt(packet.payload);
  if (!pmt) {
    ++stats_.malformed;
    return;
  }
  pmt_.assign(bytes.begin(), bytes.end());
  for (const ts::ElementaryStream& stream : pmt->streams) {
    if (stream.kind == ts::StreamKind::kH264 && !video_.pid) {
      video_.pid = stream.pid;
      video_.kind = stream.kind;
    } else if ((stream.kind == ts::StreamKind::kMpegAudio || stream.kind == ts::StreamKind::kAdts) && !audio_.pid) {
      audio_.pid = stream.pid;
      audio_.kind = stream.kind;
    }
  }
}

void Segmenter::start_video(const ts::Packet& packet, std::span<const std::uint8_t> bytes, std::vector<Segment>& done) {
  const auto pes = ts::parse_pes_header(packet.payload);
  if (!pes || !pes->pts) {
    ++stats_.malformed;
    video_.route = Route{Route::Kind::kDrop};
    return;
  }
  const std::int64_t pts = ts::ticks_to_ns(video_.unwrapper.unwrap(*pes->pts));
  const std::int64_t dts = pes->dts ? ts::ticks_to_ns(video_.unwrapper.unwrap(*pes->dts)) : pts;
  if (!first_video_pts_) first_video_pts_ = pts;

  const bool audio_there = audio_in_timeline() && dts <= *audio_.last_start + kVideoJump;
  if (video_.last_start && (dts < *video_.last_start || (dts > *video_.last_start + kVideoJump && !audio_there))) {
    discontinuity(dts, done);
  }
  if (video_.last_start && dts > *video_.last_start && dts - *video_.last_start < kSecond) {
    const std::int64_t step = dts - *video_.last_start;
    video_.frame = video_.frame == 0 ? step : std::min(video_.frame, step);
  }
  video_.last_start = dts;

  const bool keyframe = packet.random_access;
  if (keyframe) {
    if (last_keyframe_ && pts > *last_keyframe_) keyframe_spacing_ = pts - *last_keyframe_;
    last_keyframe_ = pts;
  }
  route_video(pts, keyframe);
  write(Track::kVideo, bytes);
  if (video_.route.kind == Route::Kind::kSegment) {
    if (OpenSegment* segment = find_open(video_.route.segment)) segment->video_end = pts + video_.frame;
  }
  release_audio(false);
}

void Segmenter::route_video(std::int64_t pts, bool keyframe) {
  if (phase_ == Phase::kWaiting) {
    if (!keyframe) {
      video_.route = Route{Route::Kind::kDrop};
      ++stats_.dropped;
      return;
    }
    const std::int64_t audio_cut = audio_seen_in_timeline_ ? audio_cut_near(pts) : pts;
    begin_timeline(std::min(pts, audio_cut), audio_cut);
    video_in_timeline_ = true;
  } else if (!video_in_timeline_) {
    // The timeline began on audio; video joins at its first key frame.
    if (!keyframe) {
      video_.route = Route{Route::Kind::kDrop};
      ++stats_.dropped;
      return;
    }
    video_in_timeline_ = true;
  } else if (keyframe) {
    const std::int64_t cut = audio_in_timeline() ? audio_cut_near(pts) : pts;
    const std::int64_t tolerance = cut_tolerance();
    // A key frame asked for may land one tolerance further early
    // (CutPlanner::should_cut).
    if (planner_.should_cut(cut, open_.back().start, tolerance, keyframe_spacing_, tolerance)) {
      open_segment(cut, cut);
      planner_.cut_made(cut, tolerance, tolerance);
    }
  }
  video_.route = Route{Route::Kind::kSegment, open_.back().id};
}

void Segmenter::start_audio(const ts::Packet& packet, std::span<const std::uint8_t> bytes, std::vector<Segment>& done) {
  complete_audio_pes();
  const auto pes = ts::parse_pes_header(packet.payload);
  if (!pes || !pes->pts) {
    ++stats_.malformed;
    audio_.route = Route{Route::Kind::kDrop};
    return;
  }
  audio_pes_open_ = true;
  const std::int64_t start = ts::ticks_to_ns(audio_.unwrapper.unwrap(*pes->pts));
  if (const auto frame = parse_audio_header(audio_.kind, pes->data)) audio_.frame = frame->duration_ns();
  if (audio_.last_end && std::abs(start - *audio_.last_end) > kAudioJump) discontinuity(start, done);
  audio_.last_start = start;
  audio_seen_in_timeline_ = true;
  audio_.payload.assign(pes->data.begin(), pes->data.end());

  held_.push_back(HeldAudio{start, std::nullopt, {}});
  audio_.route = Route{Route::Kind::kHold};
  write(Track::kAudio, bytes);
  release_audio(false);
}

// The audio PES that was being received is complete: how long is it?
void Segmenter::complete_audio_pes() {
  if (!std::exchange(audio_pes_open_, false)) return;
  const AudioRun run = walk_audio_frames(audio_.kind, audio_.payload);
  const std::int64_t duration =
      run.sample_rate ? static_cast<std::int64_t>(run.samples) * kSecond / run.sample_rate : audio_.frame;
  const std::int64_t end = *audio_.last_start + duration;
  audio_.last_end = end;
  audio_.payload.clear();
  if (audio_.route.kind == Route::Kind::kHold && !held_.empty()) {
    held_.back().end = end;
  } else if (audio_.route.kind == Route::Kind::kSegment) {
    if (OpenSegment* segment = find_open(audio_.route.segment)) segment->audio_end = end;
  }
}

// Held audio goes to its segment once no key frame still to come could
// move the cut before it.
void Segmenter::release_audio(bool flushing) {
  while (!held_.empty()) {
    HeldAudio& held = held_.front();
    const std::int64_t half = audio_.frame / 2;
    if (phase_ == Phase::kWaiting) {
      // No key frame yet. Begin on audio if there is no video to wait for.
      const bool no_video = !video_.pid || flushing || held_.back().start - held.start > kStall;
      if (!no_video) return;
      begin_timeline(held.start, held.start);
    }
    const bool video_decides = video_in_timeline_ && !video_stalled();
    if (video_decides && !flushing && !(video_.last_start && held.start + half <= *video_.last_start)) return;

    if (!video_decides && planner_.should_cut(held.start, open_.back().start, half, audio_.frame)) {
      open_segment(held.start, held.start);
      planner_.cut_made(held.start, half);
    }
    // The latest segment whose audio begins at or before this frame.
    const auto latest = std::find_if(open_.rbegin(), open_.rend(),
                                     [&](const OpenSegment& s) { return s.audio_cut <= held.start + half; });
    OpenSegment* target = latest == open_.rend() ? nullptr : &*latest;
    const bool receiving = held_.size() == 1 && audio_.route.kind == Route::Kind::kHold;
    if (!target) {
      ++stats_.dropped;  // before the timeline's first key frame
      if (receiving) audio_.route = Route{Route::Kind::kDrop};
    } else {
      target->bytes.insert(target->bytes.end(), held.packets.begin(), held.packets.end());
      if (held.end) target->audio_end = held.end;
      audio_.routed = target->id;
      if (receiving) audio_.route = Route{Route::Kind::kSegment, target->id};
    }
    held_.pop_front();
  }
}

void Segmenter::write(Track track, std::span<const std::uint8_t> bytes) {
  TrackState& state = track == Track::kVideo ? video_ : audio_;
  switch (state.route.kind) {
    case Route::Kind::kHold:
      held_.back().packets.insert(held_.back().packets.end(), bytes.begin(), bytes.end());
      return;
    case Route::Kind::kSegment:
      if (OpenSegment* segment = find_open(state.route.segment)) {
        segment->bytes.insert(segment->bytes.end(), bytes.begin(), bytes.end());
        state.routed = segment->id;
      }
      return;
    case Route::Kind::kNone:
    case Route::Kind::kDrop: return;
  }
}

// The stream jumped to `time`: a new timeline. Whichever stream jumps first
// (the muxer writes them in DTS order) ends the old one.
void Segmenter::discontinuity(std::int64_t time, std::vector<Segment>& done) {
  if (jumped_to_ && std::abs(time - *jumped_to_) <= kSameJump) return;
  jumped_to_ = time;
  ++stats_.discontinuities;
  complete_audio_pes();
  release_audio(true);
  close_all(done);
  phase_ = Phase::kWaiting;
  pending_discontinuity_ = true;
  video_in_timeline_ = false;
  audio_seen_in_timeline_ = false;
  ++timeline_;
  last_keyframe_.reset();
  keyframe_spacing_.reset();
  video_.route = Route{Route::Kind::kDrop};
}

void Segmenter::begin_timeline(std::int64_t origin, std::int64_t audio_cut) {
  phase_ = Phase::kRunning;
  timeline_origin_ = origin;
  timeline_wall_clock_.reset();
  if (config_.wall_clock) timeline_wall_clock_ = config_.wall_clock();
  planner_.begin(origin);
  open_segment(origin, audio_cut);
}

Segmenter::OpenSegment& Segmenter::open_segment(std::int64_t start, std::int64_t audio_cut) {
  OpenSegment& segment = open_.emplace_back();
  segment.id = next_id_++;
  segment.start = start;
  segment.audio_cut = audio_cut;
  segment.timeline = timeline_;
  segment.discontinuity = std::exchange(pending_discontinuity_, false);
  // Each segment decodes on its own: it starts with the tables.
  if (!pat_.empty()) {
    segment.bytes.insert(segment.bytes.end(), pat_.begin(), pat_.end());
    ts::set_continuity_counter(std::span(segment.bytes).last(ts::kPacketSize), pat_counter_++);
  }
  if (!pmt_.empty()) {
    segment.bytes.insert(segment.bytes.end(), pmt_.begin(), pmt_.end());
    ts::set_continuity_counter(std::span(segment.bytes).last(ts::kPacketSize), pmt_counter_++);
  }
  return segment;
}

Segmenter::OpenSegment* Segmenter::find_open(std::uint64_t id) {
  for (OpenSegment& segment : open_) {
    if (segment.id == id) return &segment;
  }
  return nullptr;
}

// The audio-frame start nearest `time`, on the grid of the latest frame.
std::int64_t Segmenter::audio_cut_near(std::int64_t time) const {
  if (!audio_.last_start || audio_.frame <= 0) return time;
  return *audio_.last_start + round_div(time - *audio_.last_start, audio_.frame) * audio_.frame;
}

bool Segmenter::audio_in_timeline() const {
  if (!audio_seen_in_timeline_ || audio_.frame <= 0 || !audio_.last_start) return false;
  return !(video_.last_start && *audio_.last_start < *video_.last_start - kStall);
}

bool Segmenter::video_stalled() const {
  return video_.last_start && audio_.last_start && *video_.last_start < *audio_.last_start - kStall;
}

// How far before its boundary a cut still counts as on it: one audio frame
// (the grid cuts are made on), else half a video frame.
std::int64_t Segmenter::cut_tolerance() const {
  if (audio_in_timeline()) return audio_.frame;
  return video_.frame / 2;
}

void Segmenter::close_ready(std::vector<Segment>& done) {
  while (open_.size() >= 2) {
    const std::uint64_t id = open_.front().id;
    const bool video_past = !video_in_timeline_ || video_stalled() || (video_.routed && *video_.routed > id);
    const bool audio_past = !audio_in_timeline() || (audio_.routed && *audio_.routed > id);
    if (!video_past || !audio_past) return;
    emit(open_.front(), open_[1].start - open_.front().start, done);
    open_.pop_front();
  }
}

void Segmenter::close_all(std::vector<Segment>& done) {
  while (!open_.empty()) {
    OpenSegment& segment = open_.front();
    std::int64_t duration = 0;
    if (open_.size() >= 2) {
      duration = open_[1].start - segment.start;
    } else {
      const auto end = segment.audio_end ? segment.audio_end : segment.video_end;
      duration = end ? std::max<std::int64_t>(0, *end - segment.start) : 0;
    }
    emit(segment, duration, done);
    open_.pop_front();
  }
}

void Segmenter::emit(OpenSegment& segment, std::int64_t duration, std::vector<Segment>& done) {
  ++stats_.segments;
  Segment out;
  out.bytes = std::move(segment.bytes);
  out.start = segment.start;
  out.duration = duration;
  out.discontinuity = segment.discontinuity;
  out.timeline = segment.timeline;
  if (timeline_wall_clock_) out.wall_clock = *timeline_wall_clock_ + (segment.start - timeline_origin_);
  done.push_back(std::move(out));
}

void Segmenter::finish(std::vector<Segment>& done) {
  complete_audio_pes();
  release_audio(true);
  close_all(done);
}

}  // namespace nagare::hls
