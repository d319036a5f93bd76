// A closed-loop simulation of nagarealign's core: a sender with an audio
// and a video clock, a network with delay, jitter, loss, reordering and
// duplication, and a receiver that calls the Aligner exactly when packets
// arrive and when they fall due. Everything is recorded so that tests can
// check what a user hears and sees: positions, release times, loss reports.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "align/aligner.hpp"

namespace nagare::align::sim {

constexpr std::int64_t ms = kMillisecond;
constexpr std::int64_t s = kSecond;

struct Scenario {
  std::int64_t duration = 60 * s;
  double video_ppm = 0;  // the video clock runs this fast against audio (and us)
  std::int64_t base_delay = 30 * ms;
  std::int64_t jitter = 80 * ms;  // uniform 0..jitter on top of the base delay
  double loss = 0, reorder = 0, duplicate = 0;
  std::int64_t reorder_delay = 40 * ms;  // extra delay of a reordered packet
  bool audio = true, video = true;
  std::int64_t audio_start = 0, video_start = 0;
  std::uint16_t first_sequence = 65500;                 // just below the 16-bit wrap
  std::uint32_t first_timestamp = 0xFFFFFFFFu - 48000;  // about a second below the 32-bit wrap
  std::optional<std::int64_t> ssrc_change_at;           // both streams start a new SSRC
  std::optional<std::int64_t> gap_at;                   // the publisher stops sending...
  std::int64_t gap_length = 10 * s;                     // ...for this long
  bool gap_pauses_clock = false;                        // its RTP clocks stop during the gap
  Config config;
  std::uint32_t seed = 1;
};

struct Packet {
  int stream = 0;            // 0 audio, 1 video
  std::int64_t capture = 0;  // true time the media was captured
  std::int64_t send = 0;
  std::int64_t arrival = 0;
  Arrival rtp;
  std::int64_t serial = 0;  // unique per sent packet and stream (duplicates share it)
  int frame = -1;           // video: frame number
  bool duplicate = false;
};

struct Released {
  std::size_t packet = 0;  // index into Run::packets
  std::int64_t time = 0;   // when it left
  std::int64_t position = 0;
  bool discont = false;
};

struct Lost {
  int stream = 0;
  std::uint16_t sequence = 0;
  std::int64_t position = 0;
  std::int64_t time = 0;
};

struct Run {
  std::vector<Packet> packets;  // in arrival order; a handle is an index here
  std::vector<Released> released[2];
  std::vector<Lost> lost;
  std::vector<std::int64_t> sent_serials[2];  // serials of every packet the sender sent
  std::vector<std::int64_t> latency;          // the aligner's latency, once per simulated second
  StreamStats stats[2];
};

inline std::vector<Packet> make_packets(const Scenario& sc) {
  std::mt19937_64 rng(sc.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<Packet> out;
  auto deliver = [&](Packet p) {
    if (unit(rng) < sc.loss) return;
    std::int64_t delay = sc.base_delay + static_cast<std::int64_t>(unit(rng) * static_cast<double>(sc.jitter));
    if (unit(rng) < sc.reorder) delay += sc.reorder_delay;
    p.arrival = p.send + delay;
    out.push_back(p);
    if (unit(rng) < sc.duplicate) {
      p.duplicate = true;
      p.arrival = p.send + sc.base_delay + static_cast<std::int64_t>(unit(rng) * static_cast<double>(sc.jitter));
      out.push_back(p);
    }
  };
  auto in_gap = [&](std::int64_t t) { return sc.gap_at && t >= *sc.gap_at && t < *sc.gap_at + sc.gap_length; };
  // Media time the sender's clock skips over nothing when it keeps running,
  // and the whole gap when it pauses.
  auto clock_skip = [&](std::int64_t t) {
    return sc.gap_pauses_clock && sc.gap_at && t >= *sc.gap_at + sc.gap_length ? sc.gap_length : 0;
  };

  struct Source {
    std::uint32_t ssrc;
    std::uint16_t sequence;
    std::uint32_t timestamp0;
    bool switched = false;
  };
  // Audio: 20 ms Opus packets, sent when their last sample is captured.
  if (sc.audio) {
    Source src{0x1111, sc.first_sequence, sc.first_timestamp};
    std::int64_t serial = 0;
    for (std::int64_t k = 0;; ++k) {
      const std::int64_t capture = sc.audio_start + k * 20 * ms;
      if (capture >= sc.duration) break;
      if (in_gap(capture)) continue;
      std::int64_t media = capture - sc.audio_start - clock_skip(capture);
      if (sc.ssrc_change_at && capture >= *sc.ssrc_change_at && !src.switched) {
        src = {0x3333, 1000, 123456789u - static_cast<std::uint32_t>(media * 48 / ms), true};
      }
      Packet p;
      p.stream = 0;
      p.capture = capture;
      p.send = capture + 20 * ms;
      p.rtp = {0, src.sequence++, static_cast<std::uint32_t>(src.timestamp0 + media * 48 / ms), src.ssrc};
      p.serial = serial++;
      deliver(p);
    }
  }
  // Video: 30 fps on a clock `video_ppm` fast; key frames of 12 packets
  // every 2 s, other frames 1 to 3 packets, paced 100 us apart.
  if (sc.video) {
    Source src{0x2222, static_cast<std::uint16_t>(sc.first_sequence + 20), sc.first_timestamp - 7777};
    std::int64_t serial = 0;
    const double rate = 1 + sc.video_ppm * 1e-6;
    for (int n = 0;; ++n) {
      const auto capture = sc.video_start + static_cast<std::int64_t>(static_cast<double>(n) * 1e9 / 30.0 / rate);
      if (capture >= sc.duration) break;
      if (in_gap(capture)) continue;
      const std::int64_t skipped_frames = clock_skip(capture) * 30 / s;
      if (sc.ssrc_change_at && capture >= *sc.ssrc_change_at && !src.switched) {
        src = {0x4444, 40000, 987654321u - static_cast<std::uint32_t>(3000 * (n - skipped_frames)), true};
      }
      const int count = n % 60 == 0 ? 12 : 1 + n % 3;
      for (int i = 0; i < count; ++i) {
        Packet p;
        p.stream = 1;
        p.capture = capture;
        p.send = capture + std::int64_t{i} * 100'000;
        p.frame = n;
        p.rtp = {0, src.sequence++, static_cast<std::uint32_t>(src.timestamp0 + 3000 * (n - skipped_frames)), src.ssrc};
        p.serial = serial++;
        deliver(p);
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Packet& a, const Packet& b) { return a.arrival < b.arrival; });
  for (Packet& p : out) p.rtp.arrival = p.arrival;
  return out;
}

// Drives an Aligner through the packets: before each arrival, everything
// that falls due is released at its due time; each packet is released at
// once after its arrival if it is already due.
inline Run run(const Scenario& sc) {
  Run r;
  r.packets = make_packets(sc);
  for (const Packet& p : r.packets) {
    if (!p.duplicate) r.sent_serials[p.stream].push_back(p.serial);
  }
  Aligner aligner(sc.config);
  const Aligner::StreamId ids[2] = {aligner.add_stream(Media::audio, 48000), aligner.add_stream(Media::video, 90000)};
  std::vector<Output> out;
  std::vector<std::uint32_t> discarded;
  auto collect = [&](int stream, std::int64_t now) {
    for (const Output& o : out) {
      if (o.kind == Output::Kind::lost) {
        r.lost.push_back({stream, o.sequence, o.position, now});
      } else {
        r.released[stream].push_back({o.handle, now, o.position, o.discont});
      }
    }
    out.clear();
  };
  auto release_until = [&](std::int64_t limit) {
    for (;;) {
      std::optional<std::int64_t> earliest;
      int which = 0;
      for (int i = 0; i < 2; ++i) {
        const auto due = aligner.next_due(ids[i]);
        if (due && *due <= limit && (!earliest || *due < *earliest)) {
          earliest = due;
          which = i;
        }
      }
      if (!earliest) return;
      aligner.release(ids[which], *earliest, out);
      collect(which, *earliest);
    }
  };
  std::int64_t next_sample = 0;
  for (std::size_t i = 0; i < r.packets.size(); ++i) {
    const Packet& p = r.packets[i];
    release_until(p.arrival);
    while (next_sample <= p.arrival) {
      r.latency.push_back(aligner.latency());
      next_sample += s;
    }
    aligner.admit(ids[p.stream], p.rtp, static_cast<std::uint32_t>(i), discarded);
    aligner.release(ids[p.stream], p.arrival, out);
    collect(p.stream, p.arrival);
  }
  release_until(INT64_MAX);
  for (int i = 0; i < 2; ++i) r.stats[i] = aligner.stats(ids[i]);
  return r;
}

// The audio position of true instant `capture`, read off the nearest
// released audio packet (audio's RTP clock is true time in this model).
inline std::optional<std::int64_t> audio_position_at(const Run& r, std::int64_t capture) {
  const auto& a = r.released[0];
  if (a.empty()) return std::nullopt;
  auto it = std::lower_bound(a.begin(), a.end(), capture,
                             [&](const Released& x, std::int64_t c) { return r.packets[x.packet].capture < c; });
  if (it == a.end()) --it;
  if (it != a.begin() && capture - r.packets[std::prev(it)->packet].capture < r.packets[it->packet].capture - capture) {
    --it;
  }
  if (std::abs(r.packets[it->packet].capture - capture) > 100 * ms) return std::nullopt;
  return it->position + (capture - r.packets[it->packet].capture);
}

struct AvError {
  std::int64_t worst = 0;  // largest |video - audio| at equal capture instants
  std::size_t frames = 0;  // frames compared
};

// Compares each released video frame with the audio position of its capture
// instant, for frames captured in [from, to).
inline AvError av_error(const Run& r, std::int64_t from, std::int64_t to = INT64_MAX) {
  AvError e;
  for (const Released& v : r.released[1]) {
    const Packet& p = r.packets[v.packet];
    if (p.capture < from || p.capture >= to) continue;
    const auto audio = audio_position_at(r, p.capture);
    if (!audio) continue;
    e.worst = std::max(e.worst, std::abs(v.position - *audio));
    ++e.frames;
  }
  return e;
}

}  // namespace nagare::align::sim
