// nagarealign's core on simulated arrival traces (align_sim.hpp): what a
// viewer depends on is that audio plays exactly as its RTP clock says, that
// video lines up with it, that the latency is what was asked for, and that
// every loss is reported once and nothing plays twice.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>

#include "align_sim.hpp"
#include "common/wrap.hpp"

using namespace nagare;
using namespace nagare::align;
using namespace nagare::align::sim;

namespace {

constexpr std::int64_t kAudio = 0, kVideo = 1;

// The sender-side instant a packet's fastest possible copy would have
// arrived: audio packets leave when captured + 20 ms, a video frame's
// packets all count from its first (the release base is per media time).
std::int64_t earliest_arrival(const Scenario& sc, const Packet& p) {
  return (p.stream == kAudio ? p.send : p.capture) + sc.base_delay;
}

// Audio positions move exactly as the RTP clock says between consecutive
// released packets, except where a DISCONT says the timeline starts over.
// Returns the number of DISCONT packets.
int check_audio_continuity(const Run& r) {
  int disconts = 0;
  const auto& a = r.released[kAudio];
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].discont) {
      ++disconts;
      continue;
    }
    REQUIRE(i > 0);
    const Packet& prev = r.packets[a[i - 1].packet];
    const Packet& cur = r.packets[a[i].packet];
    const std::int64_t expected = ts_distance(prev.rtp.timestamp, cur.rtp.timestamp) * kSecond / 48000;
    INFO("audio packet " << i << " at " << cur.capture / ms << " ms");
    REQUIRE(a[i].position - a[i - 1].position == expected);
  }
  return disconts;
}

// Nothing leaves twice, everything leaves in order, and between two
// released packets of one epoch every missing packet is reported lost
// exactly once, with its sequence number.
void check_order_and_losses(const Run& r, int stream, std::uint64_t* lost_total) {
  const auto& rel = r.released[stream];
  std::set<std::uint32_t> handles;
  std::size_t lost_index = 0;
  std::vector<Lost> lost;
  for (const Lost& l : r.lost) {
    if (l.stream == stream) lost.push_back(l);
  }
  for (std::size_t i = 0; i < rel.size(); ++i) {
    REQUIRE(handles.insert(static_cast<std::uint32_t>(rel[i].packet)).second);
    const Packet& cur = r.packets[rel[i].packet];
    REQUIRE_FALSE((cur.duplicate && i > 0 && r.packets[rel[i - 1].packet].serial == cur.serial));
    if (i == 0) continue;
    const Packet& prev = r.packets[rel[i - 1].packet];
    REQUIRE(cur.serial > prev.serial);
    if (rel[i].discont && cur.rtp.ssrc != prev.rtp.ssrc) {
      while (lost_index < lost.size() && lost[lost_index].time <= rel[i].time &&
             lost[lost_index].position <= rel[i].position) {
        ++lost_index;  // nothing is reported across an SSRC change
      }
      continue;
    }
    const std::int64_t missing = cur.serial - prev.serial - 1;
    for (std::int64_t k = 0; k < missing; ++k) {
      REQUIRE(lost_index < lost.size());
      REQUIRE(lost[lost_index].sequence == static_cast<std::uint16_t>(prev.rtp.sequence + 1 + k));
      ++lost_index;
    }
  }
  REQUIRE(lost_index == lost.size());
  *lost_total = lost.size();
}

// On-time packets leave at their due time (earliest arrival + latency);
// late ones leave the moment they arrive.
void check_release_times(const Scenario& sc, const Run& r, std::int64_t from) {
  const std::int64_t latency = sc.config.latency;
  std::size_t on_time = 0, late = 0;
  for (int stream = 0; stream < 2; ++stream) {
    for (const Released& x : r.released[stream]) {
      const Packet& p = r.packets[x.packet];
      if (p.capture < from) continue;
      const std::int64_t due = earliest_arrival(sc, p) + latency;
      INFO("stream " << stream << " capture " << p.capture / ms << " ms, arrival " << p.arrival / ms << " ms, due "
                     << due / ms << " ms, left " << x.time / ms << " ms");
      if (p.arrival <= due - 5 * ms) {
        REQUIRE(std::abs(x.time - due) <= 5 * ms);
        ++on_time;
      } else if (p.arrival > due + 5 * ms) {
        REQUIRE(x.time == p.arrival);
        ++late;
      }
    }
  }
  REQUIRE(on_time > 0);
  (void)late;
}

Scenario impaired(double video_ppm, std::int64_t duration) {
  Scenario sc;
  sc.duration = duration;
  sc.video_ppm = video_ppm;
  sc.jitter = 80 * ms;
  sc.loss = 0.05;
  sc.reorder = 0.02;
  sc.duplicate = 0.01;
  sc.seed = static_cast<std::uint32_t>(1000 + video_ppm);
  return sc;
}

}  // namespace

TEST_CASE("aligner: two impaired hours, video clock +-300 ppm against audio", "[align][sim]") {
  const double ppm = GENERATE(300.0, -300.0);
  const Scenario sc = impaired(ppm, std::int64_t{2} * 3600 * s);
  const Run r = run(sc);
  INFO("video clock " << ppm << " ppm");

  // Audio: one unbroken timeline, exactly the RTP clock, for two hours.
  REQUIRE(check_audio_continuity(r) == 1);  // the first packet only
  // Video lines up with audio from 5 s on: the drift (2.16 s over the run
  // if left alone) is followed.
  const AvError e = av_error(r, 5 * s);
  REQUIRE(e.frames > 200000);
  REQUIRE(e.worst <= 15 * ms);

  std::uint64_t lost_audio = 0, lost_video = 0;
  check_order_and_losses(r, kAudio, &lost_audio);
  check_order_and_losses(r, kVideo, &lost_video);
  REQUIRE(r.stats[kAudio].counters.lost == lost_audio);
  REQUIRE(r.stats[kVideo].counters.lost == lost_video);
  // About 5% of what was sent (a few more: duplicates do not fill gaps).
  const double audio_loss = static_cast<double>(lost_audio) / 360000.0;
  REQUIRE(audio_loss > 0.04);
  REQUIRE(audio_loss < 0.06);
  REQUIRE(r.stats[kAudio].counters.duplicates > 0);
  REQUIRE(r.stats[kVideo].counters.reordered > 0);

  check_release_times(sc, r, 5 * s);

  // The stats see the drift; video follows the master, audio is the master.
  REQUIRE(r.stats[kAudio].master);
  REQUIRE_FALSE(r.stats[kVideo].master);
  REQUIRE(r.stats[kVideo].drift_ppm.has_value());
  REQUIRE(*r.stats[kVideo].drift_ppm == Approx(ppm).margin(30));
  REQUIRE(std::abs(*r.stats[kAudio].drift_ppm) < 30);
  REQUIRE(r.stats[kAudio].jitter > 10 * ms);
}

TEST_CASE("aligner: every packet of a video frame gets the same position, and positions increase", "[align][sim]") {
  const Run r = run(impaired(300, 120 * s));
  const auto& v = r.released[kVideo];
  for (std::size_t i = 1; i < v.size(); ++i) {
    const Packet& prev = r.packets[v[i - 1].packet];
    const Packet& cur = r.packets[v[i].packet];
    if (cur.frame == prev.frame) {
      REQUIRE(v[i].position == v[i - 1].position);
    } else {
      REQUIRE(v[i].position > v[i - 1].position);
    }
  }
}

TEST_CASE("aligner: a packet later than the latency leaves at once, or is dropped once a newer one left",
          "[align][sim]") {
  Scenario sc = impaired(0, 60 * s);
  sc.config.latency = 40 * ms;  // half the packets come later than this
  const Run r = run(sc);
  check_release_times(sc, r, 5 * s);
  REQUIRE(r.stats[kAudio].counters.late > 100);
  REQUIRE(r.stats[kAudio].counters.dropped > 0);
  REQUIRE(r.stats[kAudio].counters.dropped < r.stats[kAudio].counters.late);
  REQUIRE(check_audio_continuity(r) == 1);
}

TEST_CASE("aligner: an SSRC change starts a declared new timeline on both streams", "[align][sim]") {
  Scenario sc = impaired(300, 120 * s);
  sc.ssrc_change_at = 60 * s;
  const Run r = run(sc);
  REQUIRE(check_audio_continuity(r) == 2);
  const auto video_disconts =
      std::count_if(r.released[kVideo].begin(), r.released[kVideo].end(), [](const Released& x) { return x.discont; });
  REQUIRE(video_disconts == 2);
  REQUIRE(av_error(r, 5 * s, 60 * s).worst <= 15 * ms);
  REQUIRE(av_error(r, 65 * s).worst <= 15 * ms);
  std::uint64_t lost = 0;
  check_order_and_losses(r, kAudio, &lost);
  check_order_and_losses(r, kVideo, &lost);
  REQUIRE(r.stats[kAudio].counters.restarts == 1);
  REQUIRE(r.stats[kVideo].counters.restarts == 1);
}

TEST_CASE("aligner: a 10 s publisher gap with the RTP clocks running keeps one timeline", "[align][sim]") {
  Scenario sc = impaired(300, 60 * s);
  sc.gap_at = 20 * s;
  const Run r = run(sc);
  REQUIRE(check_audio_continuity(r) == 1);
  REQUIRE(av_error(r, 5 * s).worst <= 15 * ms);
  // The first packets after the gap wait the latency again, no longer.
  check_release_times(sc, r, 5 * s);
}

TEST_CASE("aligner: a 10 s gap with paused RTP clocks is a declared jump, and A/V stays aligned", "[align][sim]") {
  Scenario sc = impaired(300, 60 * s);
  sc.gap_at = 20 * s;
  sc.gap_pauses_clock = true;
  const Run r = run(sc);
  REQUIRE(check_audio_continuity(r) == 2);
  // Positions after the gap follow arrival: ~10 s later than the clock says.
  const auto& a = r.released[kAudio];
  const auto after = std::find_if(a.begin(), a.end(), [](const Released& x) { return x.discont && x.position > 0; });
  REQUIRE(after != a.end());
  REQUIRE(av_error(r, 5 * s, 20 * s).worst <= 15 * ms);
  REQUIRE(av_error(r, 35 * s).worst <= 15 * ms);
  REQUIRE(r.stats[kAudio].counters.restarts == 1);
}

TEST_CASE("aligner: audio-only and video-only publishers are not held back", "[align][sim]") {
  const bool audio = GENERATE(true, false);
  Scenario sc = impaired(0, 30 * s);
  sc.audio = audio;
  sc.video = !audio;
  const Run r = run(sc);
  const int stream = audio ? kAudio : kVideo;
  REQUIRE(r.released[stream].size() > 500);
  REQUIRE(r.released[1 - stream].empty());
  check_release_times(sc, r, 1 * s);
}

TEST_CASE("aligner: a stream that joins late is aligned when it arrives", "[align][sim]") {
  const bool video_late = GENERATE(true, false);
  Scenario sc = impaired(300, 40 * s);
  (video_late ? sc.video_start : sc.audio_start) = 8 * s;
  const Run r = run(sc);
  REQUIRE(check_audio_continuity(r) == 1);
  // Video that started alone jumps (declared) onto the audio timeline when
  // audio arrives; video that joins late starts on it.
  REQUIRE(av_error(r, 13 * s).worst <= 15 * ms);
  REQUIRE(av_error(r, 13 * s).frames > 500);
}

TEST_CASE("aligner: adaptive latency follows the jitter, gradually, without touching audio", "[align][sim]") {
  Scenario sc = impaired(0, 120 * s);
  sc.config.mode = LatencyMode::adaptive;
  sc.config.latency = 500 * ms;
  sc.config.min_latency = 50 * ms;
  sc.config.max_latency = 1000 * ms;
  const Run r = run(sc);
  REQUIRE(check_audio_continuity(r) == 1);
  REQUIRE(av_error(r, 5 * s).worst <= 15 * ms);
  // Jitter 0-80 ms (plus 40 ms for reordered packets): the latency settles
  // a little above the worst lateness, well below the 500 ms start.
  const std::int64_t settled = r.latency.back();
  REQUIRE(settled >= 120 * ms);
  REQUIRE(settled <= 200 * ms);
  for (std::size_t i = 1; i < r.latency.size(); ++i) {
    REQUIRE(std::abs(r.latency[i] - r.latency[i - 1]) <= 100 * ms);
  }
  REQUIRE(std::abs(r.stats[kAudio].latency - settled) <= 10 * ms);
  // Few packets come too late for the latency it chose.
  REQUIRE(r.stats[kAudio].counters.late < r.stats[kAudio].counters.packets / 100);
}

TEST_CASE("aligner: the first audio packet leaves after the latency, nothing waits for RTCP", "[align][sim]") {
  Scenario sc;
  sc.duration = 2 * s;
  sc.jitter = 0;
  const Run r = run(sc);
  REQUIRE_FALSE(r.released[kAudio].empty());
  const Released& first = r.released[kAudio].front();
  REQUIRE(first.discont);
  REQUIRE(first.time == r.packets[first.packet].arrival + sc.config.latency);
  REQUIRE(first.position == r.packets[first.packet].arrival);
}
