// nagarealign's core: several RTP streams onto one timeline without RTCP,
// released SRT-style at base + media time + latency. Plain C++, no
// GStreamer; packets are opaque handles that the caller owns.
//
// The timeline: every audio stream's positions follow its RTP clock exactly
// (each epoch's base is fixed when it starts). Other streams (video) are
// placed from arrival times so that media captured at the same instant gets
// the same position in every stream, taking each stream's lowest observed
// transit as equal, and are slewed gently when their clock drifts from the
// first audio stream's (the master). Release times are separate from
// positions: each stream releases at its own lowest transit + media time +
// latency, so jitter and latency changes never move a position.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "drift.hpp"
#include "stream.hpp"
#include "window.hpp"

namespace nagare::align {

enum class LatencyMode : std::uint8_t { fixed, adaptive };

struct Config {
  std::int64_t latency = 500 * kMillisecond;  // fixed latency, or adaptive's starting point
  LatencyMode mode = LatencyMode::fixed;
  std::int64_t min_latency = 50 * kMillisecond;  // adaptive bounds
  std::int64_t max_latency = 2000 * kMillisecond;
  std::int64_t max_jump = 3000 * kMillisecond;  // transit change that restarts a timeline
};

// One thing leaving a stream, in order: a packet, or a sequence number
// that is not coming.
struct Output {
  enum class Kind : std::uint8_t { packet, lost };
  Kind kind = Kind::packet;
  std::uint32_t handle = 0;   // packet: the caller's reference
  std::int64_t position = 0;  // timeline position (the output PTS)
  std::int64_t duration = 0;  // lost: the time it would have covered
  std::uint16_t sequence = 0;
  bool discont = false;  // packet: the timeline starts over here
};

struct StreamStats {
  StreamCounters counters;
  Media media = Media::audio;
  bool master = false;
  std::uint32_t clock_rate = 0;
  std::int64_t jitter = 0;          // RFC 3550 interarrival jitter, ns
  std::int64_t latency = 0;         // current latency, ns
  std::int64_t av_offset = 0;       // shift applied against the stream's own arrival placement, ns
  std::optional<double> drift_ppm;  // this clock against the master's (the master: against ours)
};

class Aligner {
 public:
  using StreamId = std::size_t;

  explicit Aligner(const Config& config = {});

  // Latency changes apply to packets admitted afterwards.
  void configure(const Config& config);
  const Config& config() const { return config_; }

  StreamId add_stream(Media media, std::uint32_t clock_rate);
  // A stream's caps changed: new media kind or clock rate (the latter
  // starts a new epoch with the next packet).
  void set_format(StreamId id, Media media, std::uint32_t clock_rate);
  // Flushes a stream and takes it off the timeline for good.
  void remove_stream(StreamId id, std::vector<std::uint32_t>& handles);

  // Takes one packet. Unless the verdict is `queued` or `held`, the handle
  // stays the caller's. Handles given up on are appended to `discarded`.
  Verdict admit(StreamId id, const Arrival& arrival, std::uint32_t handle, std::vector<std::uint32_t>& discarded);

  // Appends everything of the stream that is due by `now`.
  void release(StreamId id, std::int64_t now, std::vector<Output>& out);
  // Appends everything of the stream, due or not (EOS); a packet kept aside
  // for a restart is appended to `discarded`.
  void drain(StreamId id, std::vector<Output>& out, std::vector<std::uint32_t>& discarded);
  // Appends everything queued, due or not, keeping a packet held for a
  // restart: what must leave before a serialized event that came after it.
  void release_all(StreamId id, std::vector<Output>& out);
  // Forgets the stream's packets and timeline (flush); handles appended.
  void flush(StreamId id, std::vector<std::uint32_t>& handles);

  std::optional<std::int64_t> next_due(StreamId id) const;
  // The latency packets are admitted with now, and the most a packet may
  // be held (what a latency query adds).
  std::int64_t latency() const { return latency_; }
  std::int64_t max_hold() const;
  StreamStats stats(StreamId id) const;

 private:
  struct Slot {
    explicit Slot(Stream s) : stream(std::move(s)) {}
    Stream stream;
    bool active = true;
    // Placement of a stream that follows the master.
    std::optional<std::int64_t> offset;  // position = media + offset
    std::int64_t last_media = 0;
    std::int64_t last_position = 0;
    bool released_any = false;
    DriftMeter drift;
    std::uint32_t drift_epoch = 0;
    std::uint32_t drift_master_epoch = 0;
  };

  Slot* master();
  const Slot* master() const;
  std::int64_t anchor_for(const Slot& slot) const;
  void emit(Slot& slot, const Step& step, std::vector<Output>& out);
  std::int64_t place(Slot& slot, const Step& step, bool* discont);
  void measure_drift(Slot& slot, std::int64_t now);
  void adapt_latency(std::int64_t now, std::int64_t excess);

  Config config_;
  std::vector<Slot> slots_;
  std::optional<StreamId> master_;
  std::int64_t latency_;
  std::optional<std::int64_t> last_adapt_;
  WindowExtreme<10, std::greater<>> excess_{kSecond};  // worst lateness over ~10 s
};

}  // namespace nagare::align
