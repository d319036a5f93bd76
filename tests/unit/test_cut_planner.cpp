// The cut planner and the key-frame scheduler: where cuts should land, and
// which video frame to ask the encoder for.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>

#include "hlssink/cut_planner.hpp"
#include "hlssink/keyframe_scheduler.hpp"

using namespace nagare::hls;

namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1'000 * kMs;
constexpr std::int64_t kMp3Frame = 24 * kMs;                 // 1152 samples at 48 kHz
constexpr std::int64_t kNtscFrame = kSecond * 1001 / 30000;  // 33.367 ms

}  // namespace

TEST_CASE("EXT-X-TARGETDURATION is the target rounded up, at least 1", "[cut_planner]") {
  CHECK(target_duration_seconds(2 * kSecond) == 2);
  CHECK(target_duration_seconds(1500 * kMs) == 2);
  CHECK(target_duration_seconds(2001 * kMs) == 3);
  CHECK(target_duration_seconds(100 * kMs) == 1);
}

TEST_CASE("a key frame within one audio frame before the boundary is a cut; earlier ones wait", "[cut_planner]") {
  CutPlanner planner(PlannerConfig{.target = kSecond, .requests = true});
  planner.begin(10 * kSecond);
  CHECK(planner.ideal(1) == 11 * kSecond);
  CHECK_FALSE(planner.should_cut(11 * kSecond - 25 * kMs, 10 * kSecond, kMp3Frame, std::nullopt));
  CHECK(planner.should_cut(11 * kSecond - 24 * kMs, 10 * kSecond, kMp3Frame, std::nullopt));
  CHECK(planner.should_cut(11 * kSecond + 500 * kMs, 10 * kSecond, kMp3Frame, std::nullopt));
}

TEST_CASE("the key frame asked for, its cut one audio frame early, is still the cut", "[cut_planner]") {
  // Seen in a 15 fps rendition of 30 fps input (nagare serve, 2 s target,
  // MP3): the key frame asked for came 20 ms before the boundary, 11.6 ms
  // after one audio frame's start and 12.4 ms before the next, so its cut
  // was 32 ms early; waiting for the next key frame gave a 3.984 s segment
  // under EXT-X-TARGETDURATION:2.
  CutPlanner planner(PlannerConfig{.target = 2 * kSecond, .requests = true});
  planner.begin(0);
  const std::int64_t early = 2 * kSecond - 32 * kMs;
  CHECK_FALSE(planner.should_cut(early, 0, kMp3Frame, 1900 * kMs));  // an audio-only cut
  CHECK(planner.should_cut(early, 0, kMp3Frame, 1900 * kMs, kMp3Frame));
  // Earlier than two audio frames is another key frame (the encoder's own):
  // the one asked for is still to come.
  CHECK_FALSE(planner.should_cut(2 * kSecond - 49 * kMs, 0, kMp3Frame, 1900 * kMs, kMp3Frame));
  // Taken, it counts as on its boundary: requests are still honoured.
  planner.cut_made(early, kMp3Frame, kMp3Frame);
  CHECK(planner.honoured());
  CHECK(planner.next_index() == 2);
  // An encoder that ignores requests is not given the extra frame.
  CutPlanner ignored(PlannerConfig{.target = 2 * kSecond, .requests = false});
  ignored.begin(0);
  CHECK_FALSE(ignored.should_cut(early, 0, kMp3Frame, std::nullopt, kMp3Frame));
}

TEST_CASE("boundaries are measured from the origin, so a late cut does not shift the next one", "[cut_planner]") {
  CutPlanner planner(PlannerConfig{.target = kSecond, .requests = true});
  planner.begin(0);
  planner.cut_made(1016 * kMs, kMp3Frame);
  CHECK(planner.honoured());
  CHECK(planner.next_index() == 2);
  CHECK(planner.ideal(2) == 2 * kSecond);
  // A cut 300 ms late: the encoder did not honour the request.
  planner.cut_made(2300 * kMs, kMp3Frame);
  CHECK_FALSE(planner.honoured());
  CHECK(planner.next_index() == 3);
  CHECK(planner.ideal(3) == 3 * kSecond);
}

TEST_CASE("a cut far past several boundaries stands for the nearest and skips the rest", "[cut_planner]") {
  CutPlanner planner(PlannerConfig{.target = 2 * kSecond, .requests = false});
  planner.begin(0);
  planner.cut_made(3 * kSecond, kMp3Frame);  // a 3 s GOP: 1.5 boundaries, rounds to 2
  CHECK(planner.next_index() == 3);
  planner.cut_made(9 * kSecond, kMp3Frame);
  CHECK(planner.next_index() == 6);
}

TEST_CASE("with key frames at their own pace, the one nearest the boundary is taken", "[cut_planner]") {
  CutPlanner planner(PlannerConfig{.target = 2 * kSecond, .requests = false});
  planner.begin(0);
  const std::int64_t gop = 800 * kMs;  // key frames at 0.8, 1.6, 2.4 ...
  CHECK_FALSE(planner.should_cut(800 * kMs, 0, kMp3Frame, gop));
  CHECK(planner.should_cut(1600 * kMs, 0, kMp3Frame, gop));  // as near as 2.4 would be
  // Key frames every second from 0.4: 1.4 is 0.6 s early, 2.4 only 0.4 late.
  CHECK_FALSE(planner.should_cut(1400 * kMs, 0, kMp3Frame, 1000 * kMs));
  CHECK(planner.should_cut(2400 * kMs, 0, kMp3Frame, 1000 * kMs));
}

TEST_CASE("requests assumed honoured: no early cut on an unrequested key frame", "[cut_planner]") {
  CutPlanner planner(PlannerConfig{.target = 2 * kSecond, .requests = true});
  planner.begin(0);
  CHECK_FALSE(planner.should_cut(1600 * kMs, 0, kMp3Frame, 800 * kMs));
}

TEST_CASE("a segment is cut before it would outgrow EXT-X-TARGETDURATION", "[cut_planner]") {
  // Target 2 s: EXTINF must round to 2 or less, so no segment reaches 2.5 s.
  CutPlanner planner(PlannerConfig{.target = 2 * kSecond, .longest = 2499 * kMs, .requests = false});
  planner.begin(0);
  // Key frames 1.4 s apart: waiting past 1.2 would make a 2.6 s segment.
  CHECK(planner.should_cut(1200 * kMs, 0, kMp3Frame, 1400 * kMs));
  // But never a runt: under half the target is not cut for that reason.
  CHECK_FALSE(planner.should_cut(900 * kMs, 0, kMp3Frame, 1700 * kMs));
}

TEST_CASE("nothing is cut before the timeline begins or at its start", "[cut_planner]") {
  CutPlanner planner(PlannerConfig{});
  CHECK_FALSE(planner.should_cut(5 * kSecond, 0, kMp3Frame, std::nullopt));
  planner.begin(0);
  CHECK_FALSE(planner.should_cut(0, 0, kMp3Frame, std::nullopt));
}

TEST_CASE("the scheduler asks for the frame whose audio cut is nearest the boundary", "[keyframe_scheduler]") {
  KeyframeScheduler scheduler(kSecond, 3 * kSecond);
  scheduler.audio_frame(0, kMp3Frame);
  // Boundary 1 s, 29.97 fps frames from 0: frame 30 is at 1.001 s, whose
  // nearest audio start is 1.008 s (+8 ms); frame 29 at 0.967 s cuts at
  // 0.960 s (-40 ms, more than a frame early).
  const std::int64_t chosen = scheduler.choose_frame(kSecond, 0, kNtscFrame);
  CHECK(chosen == 30 * kNtscFrame);
  // Every boundary over an hour: the chosen frame's cut is within one audio
  // frame of it.
  for (std::int64_t k = 1; k <= 3600; ++k) {
    const std::int64_t boundary = k * kSecond;
    const std::int64_t frame = scheduler.choose_frame(boundary, 0, kNtscFrame);
    const std::int64_t cut = (frame + kMp3Frame / 2) / kMp3Frame * kMp3Frame;
    INFO("boundary " << k);
    REQUIRE(std::abs(cut - boundary) <= kMp3Frame);
    REQUIRE(frame % kNtscFrame == 0);
  }
}

TEST_CASE("without audio the scheduler asks for the frame nearest the boundary", "[keyframe_scheduler]") {
  KeyframeScheduler scheduler(2 * kSecond, 3 * kSecond);
  CHECK(scheduler.choose_frame(2 * kSecond, 0, kNtscFrame) == 60 * kNtscFrame);  // 2.002 s
  CHECK(scheduler.choose_frame(4 * kSecond, 0, 40 * kMs) == 4 * kSecond);
}

TEST_CASE("each boundary is requested once, ahead by the lookahead, half a frame early", "[keyframe_scheduler]") {
  KeyframeScheduler scheduler(kSecond, 2 * kSecond);
  CHECK(scheduler.video_frame(0, 40 * kMs).empty());  // no plan yet
  scheduler.set_plan(0, 0, 1);
  const auto first = scheduler.video_frame(0, 40 * kMs);
  REQUIRE(first.size() == 2);  // boundaries 1 s and 2 s are within 2 s
  CHECK(first[0] == kSecond - 20 * kMs);
  CHECK(first[1] == 2 * kSecond - 20 * kMs);
  CHECK(scheduler.video_frame(40 * kMs, 40 * kMs).empty());
  const auto next = scheduler.video_frame(1000 * kMs, 40 * kMs);
  REQUIRE(next.size() == 1);
  CHECK(next[0] == 3 * kSecond - 20 * kMs);
}

TEST_CASE("a new timeline restarts the requests from its origin", "[keyframe_scheduler]") {
  KeyframeScheduler scheduler(kSecond, 2 * kSecond);
  scheduler.set_plan(0, 0, 1);
  CHECK(scheduler.video_frame(0, 40 * kMs).size() == 2);
  scheduler.set_plan(1, 100 * kSecond, 1);
  const auto requests = scheduler.video_frame(100 * kSecond, 40 * kMs);
  REQUIRE(requests.size() == 2);
  CHECK(requests[0] == 101 * kSecond - 20 * kMs);
}

TEST_CASE("a boundary too close to change is skipped, not requested late", "[keyframe_scheduler]") {
  KeyframeScheduler scheduler(kSecond, 2 * kSecond);
  scheduler.set_plan(0, 0, 1);
  // The plan arrives when frames near the first boundary already pass.
  const auto requests = scheduler.video_frame(990 * kMs, 40 * kMs);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0] == 1990 * kMs - 20 * kMs);  // frames pass at 0.99 + n x 0.04 s
}
