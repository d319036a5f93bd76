// nagarealign through GstHarness with two streams on one element, audio on
// sink_0 and video on sink_1, one harness each on one GstTestClock: the
// audio is the master, and video is placed on its timeline from arrival
// times alone (no RTCP), taking each stream's lowest transit as equal.
#include <algorithm>

#include "align_harness.hpp"

namespace nagare::test::elements {
namespace {

// A sender that captures audio and video on one clock: audio packet k holds
// the 20 ms from capture time 20k ms and is sent once its last sample is in
// (20 ms later); video frame j is captured at 100 ms + j/30 s and sent at
// once. Both cross a network of kDelay; video `extra` more, plus
// `jitter(j)`. The RTP times start from unrelated random offsets, as RFC
// 3550 §5.1 has them.
constexpr GstClockTime kDelay = ms(1000);
constexpr std::size_t kAudioPackets = 25;  // captures 0 .. 480 ms
constexpr std::size_t kVideoFrames = 12;   // captures 100 .. 466.7 ms
constexpr std::uint32_t kAudioTs0 = 0x3a2b1c00;
constexpr std::uint32_t kVideoTs0 = 0x7f00a000;
constexpr std::uint16_t kAudioSeq0 = 1000, kVideoSeq0 = 30000;
constexpr std::uint32_t kFirstFrameTicks = 9000;  // 100 ms

GstClockTime audio_capture(std::size_t k) { return ms(20 * k); }
GstClockTime video_capture(std::size_t j) { return ticks_ns(kFirstFrameTicks + kFrameTicks * j, kVideoRate); }

struct Send {
  std::size_t lane = 0;
  Bytes bytes;
  GstClockTime arrival = 0;
};

struct Network {
  GstClockTime video_extra = 0;
  std::function<GstClockTime(std::size_t)> video_jitter = [](std::size_t) { return GstClockTime{0}; };
};

// Both streams' packets in the order they arrive (audio first on a tie).
std::vector<Send> schedule(const Network& net) {
  std::vector<Send> sends;
  for (std::size_t k = 0; k < kAudioPackets; ++k) {
    sends.push_back(
        {0, packet(static_cast<std::uint16_t>(kAudioSeq0 + k), kAudioTs0 + static_cast<std::uint32_t>(k) * kOpusTicks),
         kDelay + audio_capture(k) + ms(20)});
  }
  for (std::size_t j = 0; j < kVideoFrames; ++j) {
    sends.push_back({1,
                     packet(static_cast<std::uint16_t>(kVideoSeq0 + j),
                            kVideoTs0 + kFirstFrameTicks + static_cast<std::uint32_t>(j) * kFrameTicks, 0xdeadbeef),
                     kDelay + net.video_extra + video_capture(j) + net.video_jitter(j)});
  }
  std::stable_sort(sends.begin(), sends.end(), [](const Send& x, const Send& y) { return x.arrival < y.arrival; });
  return sends;
}

// Feeds the schedule and releases every packet of both streams.
void run(Align& a, const Network& net) {
  for (const Send& s : schedule(net)) REQUIRE(a.push(s.lane, s.bytes, s.arrival) == GST_FLOW_OK);
  INFO("waiting for every packet of both streams");
  REQUIRE(a.crank_until([&] { return a.buffer_count(0) == kAudioPackets && a.buffer_count(1) == kVideoFrames; }));
}

GstClockTime pts_of(const std::vector<Out>& outs, std::uint16_t sequence) {
  for (const Out& o : outs)
    if (o.kind == Out::Kind::buffer && o.sequence == sequence) return o.pts;
  FAIL("no buffer " << sequence);
  return GST_CLOCK_TIME_NONE;
}

std::vector<Out> expected_audio() {
  std::vector<Out> want;
  for (std::size_t k = 0; k < kAudioPackets; ++k)
    want.push_back(buffer_out(static_cast<std::uint16_t>(kAudioSeq0 + k), kDelay + ms(20) + audio_capture(k), k == 0));
  return want;
}

// Video on the audio's timeline: capture time + `offset` + where the audio
// puts capture time 0 (its first packet's arrival, kDelay + 20 ms).
std::vector<Out> expected_video(GstClockTime offset) {
  std::vector<Out> want;
  for (std::size_t j = 0; j < kVideoFrames; ++j)
    want.push_back(
        buffer_out(static_cast<std::uint16_t>(kVideoSeq0 + j), kDelay + ms(20) + offset + video_capture(j), j == 0));
  return want;
}

}  // namespace

TEST_CASE("co-captured audio and video over the same network delay get the same PTS", "[align][streams]") {
  Align a({.caps = {kOpusCaps, kH264Caps}});
  run(a, {});
  const std::vector<Out> audio = a.data(0), video = a.data(1);
  CHECK(audio == expected_audio());
  CHECK(video == expected_video(0));
  // Frames 0, 3, 6, 9 are captured with audio packets 5, 10, 15, 20.
  for (std::size_t j = 0; j < kVideoFrames; j += 3) {
    INFO("frame " << j);
    CHECK(pts_of(video, static_cast<std::uint16_t>(kVideoSeq0 + j)) ==
          pts_of(audio, static_cast<std::uint16_t>(kAudioSeq0 + 5 + 5 * j / 3)));
  }

  const StreamStats as = a.stats("sink_0"), vs = a.stats("sink_1");
  CHECK(a.stats_latency() == ms(500));
  CHECK(as.media == "audio");
  CHECK(as.master);
  CHECK(as.av_offset == 0);
  CHECK(vs.media == "video");
  CHECK_FALSE(vs.master);
  CHECK(vs.clock_rate == kVideoRate);
  CHECK(vs.counters == Counters{.packets = kVideoFrames});
  // The audio's timeline sits one packet (20 ms, its sending delay) above
  // its earliest possible arrivals; the video follows it there.
  CHECK(vs.av_offset == static_cast<std::int64_t>(ms(20)));
}

TEST_CASE("video frames late by up to 40 ms keep the co-captured audio's PTS", "[align][streams]") {
  Align a({.caps = {kOpusCaps, kH264Caps}});
  Network net;
  net.video_jitter = [](std::size_t j) { return j % 2 ? ms(40) : j % 4 == 2 ? ms(3) : 0; };
  run(a, net);
  CHECK(a.data(0) == expected_audio());
  CHECK(a.data(1) == expected_video(0));
  CHECK(a.stats("sink_1").jitter > 0);
}

TEST_CASE("a constant 40 ms more video transit cannot be seen: video comes out 40 ms later", "[align][streams]") {
  // Without RTCP only arrival tells capture time, and the lowest transits
  // are taken as equal: a frame that always takes 40 ms longer looks like
  // one captured 40 ms later. It gets the PTS of the audio that reached the
  // element with it, i.e. the audio captured 40 ms after it.
  Align a({.caps = {kOpusCaps, kH264Caps}});
  Network net;
  net.video_extra = ms(40);
  run(a, net);
  const std::vector<Out> audio = a.data(0), video = a.data(1);
  CHECK(audio == expected_audio());
  CHECK(video == expected_video(ms(40)));
  for (std::size_t j = 0; j + 3 < kVideoFrames; j += 3) {
    INFO("frame " << j);
    CHECK(pts_of(video, static_cast<std::uint16_t>(kVideoSeq0 + j)) ==
          pts_of(audio, static_cast<std::uint16_t>(kAudioSeq0 + 5 + 5 * j / 3 + 2)));
  }
}

TEST_CASE("EOS on one stream drains that stream only", "[align][streams][eos]") {
  Align a({.caps = {kOpusCaps, kH264Caps}});
  REQUIRE(a.push(0, packet(1, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(1, packet(7, 0), ms(1010)) == GST_FLOW_OK);
  CHECK(a.next_wake(2) == ms(1500));
  REQUIRE(a.push_event(1, gst_event_new_eos()));
  REQUIRE(a.wait_for_event(1, GST_EVENT_EOS));
  CHECK(a.data(1) == std::vector<Out>{buffer_out(7, ms(1010), true), event_out("eos")});
  CHECK(a.next_wake() == ms(1500));
  CHECK(a.pending_waits() == 1);
  CHECK(a.buffer_count(0) == 0);
  a.release(0, 1);
  CHECK(a.data(0) == std::vector<Out>{buffer_out(1, ms(1000), true)});
}

TEST_CASE("the master is the first audio stream, whatever its pad", "[align][streams]") {
  Align a({.caps = {kH264Caps, kOpusCaps}});
  REQUIRE(a.push(0, packet(1, 0), ms(1000)) == GST_FLOW_OK);
  CHECK_FALSE(a.stats("sink_0").master);
  CHECK_FALSE(a.stats("sink_1").master);
  REQUIRE(a.push(1, packet(1, 0), ms(1001)) == GST_FLOW_OK);
  CHECK_FALSE(a.stats("sink_0").master);
  CHECK(a.stats("sink_1").master);
  CHECK(a.stats("sink_0").media == "video");
  CHECK(a.stats("sink_1").media == "audio");
}

}  // namespace nagare::test::elements
