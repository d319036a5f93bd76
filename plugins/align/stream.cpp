#include "stream.hpp"

#include <algorithm>
#include <cstdlib>

namespace nagare::align {

namespace {

// RFC 3550 §A.1: a sequence number this far from the expected one is not a
// reordered packet but a new sequence (or a stray).
constexpr std::int64_t kMaxDropout = 3000;
// Keys left free below an epoch's first packet, for packets of the same
// epoch that arrive after it but were sent before it.
constexpr std::int64_t kReserve = 64;
// How fast the release base may rise toward the recent lowest transit:
// 1000 ppm, twice the worst sender clock the aligner must follow. Time
// counts for at most 100 ms per packet: after a pause the recent lowest is
// one packet, not yet a floor.
constexpr std::int64_t kCreepDivisor = 1000;
constexpr std::int64_t kMaxCreepStep = 100 * kMillisecond;
// The longest audio packet RFC 7587 allows (Opus: 120 ms).
constexpr std::int64_t kMaxPacketDuration = 120 * kMillisecond;

std::int64_t ticks_to_ns(std::int64_t ticks, std::uint32_t rate) {
  // Split so that hours of 90 kHz ticks cannot overflow the multiplication.
  return ticks / rate * kSecond + ticks % rate * kSecond / rate;
}

template <typename Raw>
std::int64_t peek(const Unwrapper<Raw>& unwrapper, Raw raw) {
  const std::int64_t last = *unwrapper.last();
  using Signed = std::make_signed_t<Raw>;
  return last + static_cast<Signed>(static_cast<Raw>(raw - static_cast<Raw>(last)));
}

}  // namespace

Stream::Stream(Media media, std::uint32_t clock_rate)
    : media_(media), clock_rate_(clock_rate ? clock_rate : 90000), pending_clock_rate_(clock_rate_) {}

void Stream::set_clock_rate(std::uint32_t rate) {
  if (rate) pending_clock_rate_ = rate;
}

std::int64_t Stream::media_ns(std::int64_t ticks) const { return ticks_to_ns(ticks, clock_rate_); }

std::optional<std::int64_t> Stream::next_due() const {
  std::int64_t key = 0;
  const Entry* head = ring_.front(&key);
  if (!head) return std::nullopt;
  return head->epoch == epoch_ ? release_base_ + head->media + head->latency : head->due;
}

Stream::Admission Stream::admit(const Arrival& a, std::uint32_t handle, const Params& params,
                                std::vector<std::uint32_t>& discarded) {
  ++counters_.packets;
  if (!started_) {
    start_epoch(a, Restart::first, params);
    Admission admission = enqueue(a, handle, params);
    admission.restart = Restart::first;
    return admission;
  }
  if (const std::optional<Restart> why = misfit(a, params)) {
    // A packet that fits nothing waits aside; the next in sequence that
    // agrees with it (same SSRC, consecutive, consistent timing) makes the
    // restart real. A lone stray from an old sequence never does.
    if (candidate_ && confirms(*candidate_, a)) {
      const Candidate first = *candidate_;
      candidate_.reset();
      start_epoch(first.arrival, first.reason, params);
      if (enqueue(first.arrival, first.handle, params).verdict != Verdict::queued) {
        discarded.push_back(first.handle);
      }
      Admission admission = enqueue(a, handle, params);
      admission.restart = first.reason;
      return admission;
    }
    if (candidate_) {
      discarded.push_back(candidate_->handle);
      ++counters_.rejected;
    }
    candidate_ = Candidate{a, handle, *why, params.max_jump};
    return {Verdict::held, std::nullopt, 0};
  }
  return enqueue(a, handle, params);
}

std::optional<Restart> Stream::misfit(const Arrival& a, const Params& params) const {
  if (a.ssrc != ssrc_) return Restart::ssrc;
  if (pending_clock_rate_ != clock_rate_) return Restart::timestamp;
  const std::int64_t key = key_offset_ + peek(sequences_, a.sequence);
  if (key > highest_key_ + kMaxDropout || key < ring_.head() - kMaxDropout) return Restart::sequence;
  const std::int64_t transit = a.arrival - media_ns(peek(timestamps_, a.timestamp) - origin_);
  if (std::abs(transit - release_base_) > params.max_jump) return Restart::timestamp;
  return std::nullopt;
}

bool Stream::confirms(const Candidate& c, const Arrival& a) const {
  if (a.ssrc != c.arrival.ssrc || a.sequence != static_cast<std::uint16_t>(c.arrival.sequence + 1)) return false;
  const std::int64_t media = ticks_to_ns(ts_distance(c.arrival.timestamp, a.timestamp), pending_clock_rate_);
  return std::abs(a.arrival - c.arrival.arrival - media) <= c.max_jump / 2;
}

void Stream::start_epoch(const Arrival& a, Restart reason, const Params& params) {
  if (started_) {
    ++counters_.restarts;
    ++epoch_;
  }
  clock_rate_ = pending_clock_rate_;
  ssrc_ = a.ssrc;
  if (!started_ || reason == Restart::ssrc || reason == Restart::sequence) {
    // A new sequence: keys continue above everything seen, with room below
    // for this epoch's own reordered packets.
    sequences_.reset();
    const std::int64_t first_key = started_ ? highest_key_ + 1 + kReserve : kReserve;
    key_offset_ = first_key - sequences_.unwrap(a.sequence);
    highest_key_ = first_key;
  }
  timestamps_.reset();
  origin_ = timestamps_.unwrap(a.timestamp);
  const std::int64_t transit = a.arrival;  // media 0
  release_base_ = transit;
  own_base_ = transit;
  latest_base_ = transit - packet_duration_ + params.anchor;
  last_queued_.reset();
  last_transit_ = transit;
  last_arrival_ = a.arrival;
  floor_.reset();
  started_ = true;
}

Stream::Admission Stream::enqueue(const Arrival& a, std::uint32_t handle, const Params& params) {
  const std::int64_t key = key_offset_ + sequences_.unwrap(a.sequence);
  const std::int64_t media = media_ns(timestamps_.unwrap(a.timestamp) - origin_);
  const std::int64_t transit = a.arrival - media;

  if (key < ring_.head()) {
    if (ring_.head() - key <= static_cast<std::int64_t>(released_.size()) &&
        released_[static_cast<std::size_t>(key) % released_.size()]) {
      ++counters_.duplicates;
      return {Verdict::duplicate, std::nullopt, 0};
    }
    ++counters_.late;
    ++counters_.dropped;
    return {Verdict::dropped, std::nullopt, 0};
  }
  if (ring_.contains(key)) {
    ++counters_.duplicates;
    return {Verdict::duplicate, std::nullopt, 0};
  }

  track_transit(a.arrival, transit);
  Entry entry;
  entry.key = key;
  entry.media = media;
  entry.base = latest_base_;
  entry.arrival = a.arrival;
  entry.due = release_base_ + media + params.latency;
  entry.latency = params.latency;
  entry.epoch = epoch_;
  entry.handle = handle;
  entry.sequence = a.sequence;
  entry.late = a.arrival > entry.due;
  if (ring_.put(key, entry) != KeyRing<Entry>::Put::ok) {
    ++counters_.rejected;
    return {Verdict::rejected, std::nullopt, 0};
  }
  if (entry.late) ++counters_.late;
  note_duration(key, media, a.arrival);
  if (key < highest_key_) {
    ++counters_.reordered;
  } else {
    highest_key_ = key;
  }
  return {Verdict::queued, std::nullopt, transit - release_base_};
}

// Opus and friends send 10 to 120 ms per packet; DTX pauses make longer
// steps, which the shortest-of-10-s choice ignores.
void Stream::note_duration(std::int64_t key, std::int64_t media, std::int64_t arrival) {
  if (media_ != Media::audio) return;
  if (last_queued_ && last_queued_->first + 1 == key) {
    const std::int64_t step = media - last_queued_->second;
    if (step > 0 && step <= kMaxPacketDuration) {
      durations_.add(arrival, step);
      packet_duration_ = *durations_.value();
    }
  }
  last_queued_ = {key, media};
}

void Stream::track_transit(std::int64_t arrival, std::int64_t transit) {
  // RFC 3550 §6.4.1 interarrival jitter, kept in nanoseconds.
  jitter_ += (std::abs(transit - last_transit_) - jitter_) / 16;
  last_transit_ = transit;

  // The release base is the lowest transit: a packet that took the
  // shortest path waits exactly the latency. It falls at once to a new
  // lowest, and rises slowly toward the lowest of the last four seconds, so
  // a sender whose clock runs slow against ours keeps its buffer.
  floor_.add(arrival, transit);
  if (transit < release_base_) {
    release_base_ = transit;
  } else if (const std::optional<std::int64_t> low = floor_.value(); low && *low > release_base_) {
    const std::int64_t creep = std::clamp<std::int64_t>(arrival - last_arrival_, 0, kMaxCreepStep) / kCreepDivisor;
    release_base_ += std::min(*low - release_base_, creep);
  }
  last_arrival_ = std::max(last_arrival_, arrival);
}

Step Stream::pop() {
  const std::int64_t from = ring_.head();
  std::int64_t key = 0;
  Step step;
  step.entry = ring_.pop_front(&key);
  if (!released_epoch_ || *released_epoch_ != step.entry.epoch) {
    step.epoch_start = true;
    released_epoch_ = step.entry.epoch;
  } else if (key > from) {
    step.lost = key - from;
    step.first_lost_sequence = static_cast<std::uint16_t>(step.entry.sequence - step.lost);
    counters_.lost += static_cast<std::uint64_t>(step.lost);
  }
  mark_released(from, key);
  return step;
}

void Stream::mark_released(std::int64_t from, std::int64_t key) {
  if (key - from >= static_cast<std::int64_t>(released_.size())) {
    released_.reset();
  } else {
    for (std::int64_t k = from; k < key; ++k) released_.reset(static_cast<std::size_t>(k) % released_.size());
  }
  released_.set(static_cast<std::size_t>(key) % released_.size());
}

std::optional<std::uint32_t> Stream::take_candidate() {
  if (!candidate_) return std::nullopt;
  const std::uint32_t handle = candidate_->handle;
  candidate_.reset();
  ++counters_.rejected;
  return handle;
}

void Stream::flush(std::vector<std::uint32_t>& handles) {
  while (!ring_.empty()) handles.push_back(ring_.pop_front().handle);
  if (const auto held = take_candidate()) handles.push_back(*held);
  const StreamCounters counters = counters_;
  *this = Stream(media_, pending_clock_rate_);
  counters_ = counters;
}

}  // namespace nagare::align
