#include "align_trace.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace nagare::bench {

namespace {

// splitmix64: the same trace on every machine for a given seed.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(int per_mille) { return static_cast<int>(next() % 1000) < per_mille; }

 private:
  std::uint64_t state_;
};

struct RtpHeader {
  std::uint8_t payload_type = 0;
  bool marker = false;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
};

// RFC 3550 §5.1 fixed header, then `payload` filler bytes.
std::vector<std::uint8_t> rtp_packet(const RtpHeader& h, std::size_t payload) {
  std::vector<std::uint8_t> b;
  b.reserve(12 + payload);
  const auto put = [&b](std::uint32_t value, int bytes) {
    for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(value >> shift));
  };
  put(0x80, 1);  // version 2, no padding, extension or CSRCs
  put((h.marker ? 0x80u : 0u) | h.payload_type, 1);
  put(h.sequence, 2);
  put(h.timestamp, 4);
  put(h.ssrc, 4);
  b.resize(b.size() + payload, static_cast<std::uint8_t>(h.sequence));
  return b;
}

class TraceBuilder {
 public:
  explicit TraceBuilder(std::uint64_t seed) : rng_(seed) {}

  // One packet leaves the sender at `sent`; the network decides whether
  // and when it arrives.
  void send(std::size_t stream, std::int64_t sent, const RtpHeader& header, std::size_t payload) {
    const std::size_t index = next_index_[stream]++;
    if (rng_.chance(10)) {
      ++trace_.lost[stream];
      return;
    }
    std::int64_t arrival = sent + 20 * kMs + rng_.uniform(0, 40 * kMs);
    if (rng_.chance(5)) arrival += rng_.uniform(40 * kMs, 80 * kMs);
    trace_.packets.push_back(Packet{arrival, stream, index, rtp_packet(header, payload)});
  }

  Random& rng() { return rng_; }

  Trace finish(std::size_t frames) {
    std::stable_sort(trace_.packets.begin(), trace_.packets.end(),
                     [](const Packet& a, const Packet& b) { return a.arrival < b.arrival; });
    std::array<std::optional<std::size_t>, 2> highest;
    for (const Packet& p : trace_.packets) {
      ++trace_.arrived[p.stream];
      trace_.bytes += p.bytes.size();
      auto& h = highest[p.stream];
      if (h && p.index < *h) {
        ++trace_.reordered[p.stream];
      } else {
        h = p.index;
      }
    }
    trace_.frames = frames;
    trace_.last_arrival = trace_.packets.empty() ? 0 : trace_.packets.back().arrival;
    return std::move(trace_);
  }

 private:
  Random rng_;
  Trace trace_;
  std::array<std::size_t, 2> next_index_{};
};

}  // namespace

Trace make_trace(int seconds, std::uint64_t seed) {
  TraceBuilder builder(seed);
  Random& rng = builder.rng();
  const std::int64_t media = seconds * kSecond;

  // Audio: sequence numbers wrap a few hundred packets in.
  RtpHeader audio{111, false, 65000, 0x7ffff000u, 0x0a0d10u};
  for (std::int64_t captured = 0; captured < media; captured += 20 * kMs) {
    builder.send(kAudio, captured + 20 * kMs, audio, static_cast<std::size_t>(rng.uniform(90, 110)));
    ++audio.sequence;
    audio.timestamp += 960;
  }

  RtpHeader video{96, false, 40000, 0xfffe0000u, 0x71de0u};
  std::size_t frames = 0;
  for (std::int64_t frame = 0; frame * kSecond / 30 < media; ++frame, ++frames) {
    const std::int64_t captured = frame * kSecond / 30;
    const int count = frame % 60 == 0 ? 12 : static_cast<int>(rng.uniform(1, 8));
    video.timestamp = 0xfffe0000u + static_cast<std::uint32_t>(frame * 3000);
    for (int k = 0; k < count; ++k) {
      video.marker = k == count - 1;
      builder.send(kVideo, captured + k * kMs, video, static_cast<std::size_t>(rng.uniform(1050, 1150)));
      ++video.sequence;
    }
  }
  return builder.finish(frames);
}

}  // namespace nagare::bench
