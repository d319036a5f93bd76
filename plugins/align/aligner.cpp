#include "aligner.hpp"

#include <algorithm>
#include <cstdlib>

namespace nagare::align {

namespace {

// A follower's offset moves toward its target with this time constant...
constexpr std::int64_t kSlewTime = 2 * kSecond;
// ...but never faster than 1/20 of media time (a 33 ms frame moves at most
// 1.7 ms), so positions stay monotonic and frame spacing stays plausible.
constexpr std::int64_t kMaxSlewDivisor = 20;
// An error this large is not drift but a new situation (the master joined
// late, or restarted): jump there and say so rather than slewing for ages.
constexpr std::int64_t kMaxSlew = 250 * kMillisecond;
// Adaptive latency: headroom over the worst recent lateness, and how fast
// the latency may rise (1/10 of elapsed time) and fall (1/50).
constexpr std::int64_t kMinHeadroom = 20 * kMillisecond;
constexpr std::int64_t kRiseDivisor = 10;
constexpr std::int64_t kFallDivisor = 50;

}  // namespace

Aligner::Aligner(const Config& config) : config_(config), latency_(config.latency) { configure(config); }

void Aligner::configure(const Config& config) {
  config_ = config;
  config_.max_latency = std::max(config_.max_latency, config_.min_latency);
  latency_ = config_.mode == LatencyMode::fixed
                 ? config_.latency
                 : std::clamp(last_adapt_ ? latency_ : config_.latency, config_.min_latency, config_.max_latency);
}

Aligner::StreamId Aligner::add_stream(Media media, std::uint32_t clock_rate) {
  slots_.emplace_back(Stream(media, clock_rate));
  return slots_.size() - 1;
}

void Aligner::set_format(StreamId id, Media media, std::uint32_t clock_rate) {
  Slot& slot = slots_.at(id);
  if (slot.stream.media() != media && !slot.stream.started()) {
    slot.stream = Stream(media, clock_rate);
  } else {
    slot.stream.set_clock_rate(clock_rate);
  }
}

void Aligner::remove_stream(StreamId id, std::vector<std::uint32_t>& handles) {
  flush(id, handles);
  slots_.at(id).active = false;
  if (master_ == id) master_.reset();
}

Aligner::Slot* Aligner::master() { return master_ ? &slots_[*master_] : nullptr; }
const Aligner::Slot* Aligner::master() const { return master_ ? &slots_[*master_] : nullptr; }

// Where a stream's new epoch sits: in line with the master when there is
// one, else where the stream itself sat before (zero for its first epoch).
std::int64_t Aligner::anchor_for(const Slot& slot) const {
  const Slot* m = master();
  if (m && m != &slot && m->stream.started()) return m->stream.anchor();
  return slot.stream.started() ? slot.stream.anchor() : 0;
}

Verdict Aligner::admit(StreamId id, const Arrival& arrival, std::uint32_t handle,
                       std::vector<std::uint32_t>& discarded) {
  Slot& slot = slots_.at(id);
  Stream::Params params;
  params.latency = latency_;
  params.max_jump = config_.max_jump;
  params.anchor = anchor_for(slot);
  const Stream::Admission admission = slot.stream.admit(arrival, handle, params, discarded);
  if (!master_ && slot.stream.media() == Media::audio && slot.stream.started() && slot.active) master_ = id;
  if (admission.verdict == Verdict::queued) {
    measure_drift(slot, arrival.arrival);
    adapt_latency(arrival.arrival, admission.excess);
  }
  return admission.verdict;
}

void Aligner::release(StreamId id, std::int64_t now, std::vector<Output>& out) {
  Slot& slot = slots_.at(id);
  for (std::optional<std::int64_t> due = slot.stream.next_due(); due && *due <= now; due = slot.stream.next_due()) {
    emit(slot, slot.stream.pop(), out);
  }
}

void Aligner::release_all(StreamId id, std::vector<Output>& out) {
  Slot& slot = slots_.at(id);
  while (!slot.stream.empty()) emit(slot, slot.stream.pop(), out);
}

void Aligner::drain(StreamId id, std::vector<Output>& out, std::vector<std::uint32_t>& discarded) {
  release_all(id, out);
  if (const auto held = slots_.at(id).stream.take_candidate()) discarded.push_back(*held);
}

void Aligner::flush(StreamId id, std::vector<std::uint32_t>& handles) {
  Slot& slot = slots_.at(id);
  slot.stream.flush(handles);
  const Stream stream = slot.stream;
  slot = Slot(stream);
  if (master_ == id) master_.reset();
}

std::optional<std::int64_t> Aligner::next_due(StreamId id) const { return slots_.at(id).stream.next_due(); }

std::int64_t Aligner::max_hold() const {
  return config_.mode == LatencyMode::fixed ? config_.latency : config_.max_latency;
}

void Aligner::emit(Slot& slot, const Step& step, std::vector<Output>& out) {
  bool discont = step.epoch_start;
  const std::int64_t position = place(slot, step, &discont);
  if (step.lost > 0 && slot.released_any) {
    // Spread the lost packets evenly between their neighbours, as a
    // jitterbuffer's lost-packet events do.
    const std::int64_t span = std::max<std::int64_t>(0, position - slot.last_position);
    const std::int64_t duration = span / (step.lost + 1);
    for (std::int64_t i = 1; i <= step.lost; ++i) {
      Output lost;
      lost.kind = Output::Kind::lost;
      lost.position = slot.last_position + span * i / (step.lost + 1);
      lost.duration = duration;
      lost.sequence = static_cast<std::uint16_t>(step.first_lost_sequence + i - 1);
      out.push_back(lost);
    }
  }
  Output packet;
  packet.handle = step.entry.handle;
  packet.position = position;
  packet.sequence = step.entry.sequence;
  packet.discont = discont;
  out.push_back(packet);
  slot.last_position = position;
  slot.released_any = true;
}

// Audio follows its own RTP clock from its epoch's base, untouched. Other
// streams start at their epoch's base (already in line with the master) and
// then follow the target the master sets: their own sendable base plus the
// master's anchor, i.e. "our fastest packet took as long after capture as
// the master's fastest packet did". The offset changes only between frames, so
// every packet of a frame gets the same position.
std::int64_t Aligner::place(Slot& slot, const Step& step, bool* discont) {
  const Entry& e = step.entry;
  if (slot.stream.media() == Media::audio) return e.base + e.media;
  if (step.epoch_start || !slot.offset) {
    slot.offset = e.base;
    slot.last_media = e.media;
    return e.media + *slot.offset;
  }
  const Slot* m = master();
  if (e.media > slot.last_media && e.epoch == slot.stream.epoch() && m && m != &slot && m->stream.started()) {
    const std::int64_t target = slot.stream.sendable_base() + m->stream.anchor();
    const std::int64_t error = target - *slot.offset;
    if (std::abs(error) > kMaxSlew) {
      *slot.offset = target;
      *discont = true;
    } else {
      const std::int64_t elapsed = e.media - slot.last_media;
      const std::int64_t limit = elapsed / kMaxSlewDivisor;
      const std::int64_t step_size = error * std::min(elapsed, kSlewTime) / kSlewTime;
      *slot.offset += std::clamp(step_size, -limit, limit);
    }
  }
  slot.last_media = std::max(slot.last_media, e.media);
  return e.media + *slot.offset;
}

void Aligner::measure_drift(Slot& slot, std::int64_t now) {
  const Slot* m = master();
  const bool follower = m && m != &slot && m->stream.started();
  const std::uint32_t master_epoch = follower ? m->stream.epoch() : 0;
  if (slot.drift_epoch != slot.stream.epoch() || slot.drift_master_epoch != master_epoch) {
    slot.drift.reset();
    slot.drift_epoch = slot.stream.epoch();
    slot.drift_master_epoch = master_epoch;
  }
  const std::int64_t reference = follower ? m->stream.release_base() : 0;
  slot.drift.add(now, slot.stream.release_base() - reference);
}

void Aligner::adapt_latency(std::int64_t now, std::int64_t excess) {
  if (config_.mode != LatencyMode::adaptive) return;
  excess_.add(now, excess);
  const std::int64_t elapsed = last_adapt_ ? std::max<std::int64_t>(0, now - *last_adapt_) : 0;
  last_adapt_ = now;
  const std::int64_t worst = excess_.value().value_or(0);
  const std::int64_t target =
      std::clamp(worst + std::max(worst / 4, kMinHeadroom), config_.min_latency, config_.max_latency);
  if (target > latency_) {
    latency_ += std::min(target - latency_, elapsed / kRiseDivisor);
  } else {
    latency_ -= std::min(latency_ - target, elapsed / kFallDivisor);
  }
}

StreamStats Aligner::stats(StreamId id) const {
  const Slot& slot = slots_.at(id);
  StreamStats s;
  s.counters = slot.stream.counters();
  s.media = slot.stream.media();
  s.master = master_ == id;
  s.clock_rate = slot.stream.clock_rate();
  s.jitter = slot.stream.jitter();
  s.latency = latency_;
  if (slot.stream.started()) {
    const std::int64_t placed = slot.offset ? *slot.offset : slot.stream.anchor() + slot.stream.sendable_base();
    s.av_offset = placed - slot.stream.own_base();
  }
  s.drift_ppm = slot.drift.ppm();
  return s;
}

}  // namespace nagare::align
