// One RTP stream's intake: unwrapping, restarts, reordering, duplicates and
// the release schedule. Plain C++, no GStreamer: times are integer
// nanoseconds on the receiver's clock, packets are opaque handles.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "../common/wrap.hpp"
#include "ring.hpp"
#include "window.hpp"

namespace nagare::align {

inline constexpr std::int64_t kMillisecond = 1'000'000;
inline constexpr std::int64_t kSecond = 1'000'000'000;

enum class Media : std::uint8_t { audio, video };

// One RTP packet as it arrived: its header fields and its arrival time.
struct Arrival {
  std::int64_t arrival = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
};

enum class Verdict : std::uint8_t {
  queued,     // held until its due time
  held,       // kept aside: it may start a new epoch once the next packet confirms it
  duplicate,  // already queued or already released; never leaves twice
  dropped,    // too late: a newer packet has left, and its loss was reported
  rejected,   // beyond the reorder span
};

// Why a stream's timeline started over.
enum class Restart : std::uint8_t { first, ssrc, sequence, timestamp };

// One queued packet.
struct Entry {
  std::int64_t key = 0;    // sequence number, unwrapped and continued across restarts
  std::int64_t media = 0;  // ns since the epoch's origin, from the RTP clock alone
  std::int64_t base = 0;   // timeline position of the epoch's media 0
  std::int64_t arrival = 0;
  std::int64_t due = 0;      // when it leaves, as known on arrival: release base + media + latency
  std::int64_t latency = 0;  // the latency it was admitted with
  std::uint32_t epoch = 0;
  std::uint32_t handle = 0;  // the owner's reference to the packet itself
  std::uint16_t sequence = 0;
  bool late = false;  // arrived after its due time, so leaves at once
};

struct StreamCounters {
  std::uint64_t packets = 0;  // every packet offered
  std::uint64_t lost = 0;     // sequence numbers reported lost
  std::uint64_t late = 0;     // arrived after their due time (left at once, or dropped)
  std::uint64_t dropped = 0;  // too late to leave: something newer had left
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;  // arrived after a higher sequence number
  std::uint64_t rejected = 0;   // stray packets that started nothing
  std::uint64_t restarts = 0;   // epochs after the first (SSRC change, jumps)
};

// What pop() hands out: the packet, whether it opens an epoch, and the
// sequence numbers lost just before it (none across an epoch boundary).
struct Step {
  Entry entry;
  bool epoch_start = false;
  std::int64_t lost = 0;
  std::uint16_t first_lost_sequence = 0;
};

class Stream {
 public:
  // Tunables the owner passes on each packet.
  struct Params {
    std::int64_t latency = 500 * kMillisecond;
    std::int64_t max_jump = 3000 * kMillisecond;
    // Where the timeline sits relative to this stream's lowest transit, for
    // an epoch that starts with this packet.
    std::int64_t anchor = 0;
  };

  struct Admission {
    Verdict verdict = Verdict::queued;
    std::optional<Restart> restart;  // this packet (or the one it confirmed) opened an epoch
    std::int64_t excess = 0;         // transit above the lowest: this packet's lateness
  };

  Stream(Media media, std::uint32_t clock_rate);

  Media media() const { return media_; }
  std::uint32_t clock_rate() const { return clock_rate_; }
  // A new clock rate applies from the next epoch, which it starts.
  void set_clock_rate(std::uint32_t rate);

  // Takes one packet. Handles of packets the stream gave up on (a stray kept
  // aside and then not confirmed) are appended to `discarded`.
  Admission admit(const Arrival& a, std::uint32_t handle, const Params& params, std::vector<std::uint32_t>& discarded);

  bool started() const { return started_; }
  bool empty() const { return ring_.empty(); }
  // When the next packet in sequence order leaves. A packet of the current
  // epoch counts from the release base as it is now, so a new lowest
  // transit moves all of them together and the order of due times is the
  // order of media times.
  std::optional<std::int64_t> next_due() const;
  // Takes the next packet in sequence order, whatever its due time.
  Step pop();
  // Drops everything and forgets the timeline; handles held are appended.
  void flush(std::vector<std::uint32_t>& handles);
  // Gives up a packet kept aside for a restart that never came (at EOS).
  std::optional<std::uint32_t> take_candidate();

  // The lowest transit (arrival - media) seen, tracking slow drift upwards.
  std::int64_t release_base() const { return release_base_; }
  // The lowest transit counted from when a packet could first be sent: an
  // audio packet only once its last sample is captured, one packet
  // duration after its timestamp; a video frame at its timestamp. Two
  // streams' sendable bases are taken as equal when aligning them.
  std::int64_t sendable_base() const { return release_base_ - packet_duration_; }
  // The latest epoch's timeline base minus the sendable base: where this
  // stream's timeline sits against its earliest possible arrivals.
  std::int64_t anchor() const { return latest_base_ - sendable_base(); }
  // Audio: the shortest recent packet duration (ptime); video: zero.
  std::int64_t packet_duration() const { return packet_duration_; }
  // Transit of the latest epoch's first packet: where the stream would sit
  // on its own.
  std::int64_t own_base() const { return own_base_; }
  std::uint32_t epoch() const { return epoch_; }
  std::int64_t jitter() const { return jitter_; }
  const StreamCounters& counters() const { return counters_; }

 private:
  struct Candidate {
    Arrival arrival;
    std::uint32_t handle = 0;
    Restart reason = Restart::ssrc;
    std::int64_t max_jump = 0;
  };

  std::int64_t media_ns(std::int64_t ticks) const;
  std::optional<Restart> misfit(const Arrival& a, const Params& params) const;
  bool confirms(const Candidate& c, const Arrival& a) const;
  void start_epoch(const Arrival& a, Restart reason, const Params& params);
  Admission enqueue(const Arrival& a, std::uint32_t handle, const Params& params);
  void track_transit(std::int64_t arrival, std::int64_t transit);
  void note_duration(std::int64_t key, std::int64_t media, std::int64_t arrival);
  void mark_released(std::int64_t from, std::int64_t key);

  Media media_;
  std::uint32_t clock_rate_;
  std::uint32_t pending_clock_rate_;

  bool started_ = false;
  std::uint32_t ssrc_ = 0;
  std::uint32_t epoch_ = 0;
  Unwrapper<std::uint16_t> sequences_;
  Unwrapper<std::uint32_t> timestamps_;
  std::int64_t key_offset_ = 0;  // key = offset + unwrapped sequence
  std::int64_t highest_key_ = 0;
  std::int64_t origin_ = 0;  // unwrapped RTP timestamp of media 0
  std::int64_t own_base_ = 0;
  std::int64_t latest_base_ = 0;

  std::int64_t release_base_ = 0;
  std::int64_t last_arrival_ = 0;
  std::int64_t last_transit_ = 0;
  std::int64_t jitter_ = 0;
  std::int64_t packet_duration_ = 0;
  std::optional<std::pair<std::int64_t, std::int64_t>> last_queued_;  // key, media
  WindowExtreme<10> durations_{kSecond};        // shortest step between consecutive packets, ~10 s
  WindowExtreme<8> floor_{500 * kMillisecond};  // lowest transit over ~4 s

  std::optional<Candidate> candidate_;

  KeyRing<Entry> ring_;
  std::optional<std::uint32_t> released_epoch_;
  // Whether each of the last 1024 keys before the ring's head left (set) or
  // was reported lost (clear): tells a duplicate from a straggler.
  std::bitset<1024> released_;

  StreamCounters counters_;
};

}  // namespace nagare::align
