// nagarehlssink asking x264enc for key frames: the upstream force-key-unit
// events it sends (seen on x264enc's source pad), the key frames x264enc
// made of them, the segments that start on those frames, and the stats
// that sum it up.
//
// Sources: 30 fps video stamped n × 33.3 ms from 0 and, where there is
// audio, 48 kHz MP3 whose frames start every 24 ms from 0. With a 1 s
// target the planner's boundaries are k s; the audio frame nearest the key
// frame starts each segment.
#include <gst/video/video.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include "hlssink_fixture.hpp"

namespace nagare::test::elements::hls {
namespace {

struct KeyUnitRequest {
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  bool all_headers = false;
  guint count = 0;
  // The running time of the latest frame x264enc had output when the
  // request reached it.
  GstClockTime encoder_output = GST_CLOCK_TIME_NONE;
};

// Watches x264enc's source pad: the frames it outputs, which of them are
// key frames, and the force-key-unit requests that reach it from downstream.
class EncoderWatch {
 public:
  explicit EncoderWatch(GstElement* encoder)
      : buffers_(encoder, "src", GST_PAD_PROBE_TYPE_BUFFER, &on_buffer_),
        events_(encoder, "src", GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, &on_event_) {}

  std::vector<KeyUnitRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<GstClockTime> keyframes() {
    std::lock_guard lock(mutex_);
    return keyframes_;
  }
  std::size_t frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }

 private:
  GstPadProbeReturn buffer(GstPad* pad, GstPadProbeInfo* info) {
    GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
    const GstClockTime running_time = running_time_on(pad, buffer);
    std::lock_guard lock(mutex_);
    ++frames_;
    latest_output_ = running_time;
    if (!GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT)) keyframes_.push_back(running_time);
    return GST_PAD_PROBE_OK;
  }
  GstPadProbeReturn event(GstPad*, GstPadProbeInfo* info) {
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (!gst_video_event_is_force_key_unit(event)) return GST_PAD_PROBE_OK;
    KeyUnitRequest request;
    gboolean all_headers = FALSE;
    if (!gst_video_event_parse_upstream_force_key_unit(event, &request.running_time, &all_headers, &request.count)) {
      return GST_PAD_PROBE_OK;  // a downstream one: none should come this way
    }
    request.all_headers = all_headers;
    std::lock_guard lock(mutex_);
    request.encoder_output = latest_output_;
    requests_.push_back(request);
    return GST_PAD_PROBE_OK;
  }

  std::mutex mutex_;
  std::vector<KeyUnitRequest> requests_;
  std::vector<GstClockTime> keyframes_;
  std::size_t frames_ = 0;
  GstClockTime latest_output_ = GST_CLOCK_TIME_NONE;

  std::function<GstPadProbeReturn(GstPad*, GstPadProbeInfo*)> on_buffer_ = [this](GstPad* pad, GstPadProbeInfo* info) {
    return buffer(pad, info);
  };
  std::function<GstPadProbeReturn(GstPad*, GstPadProbeInfo*)> on_event_ = [this](GstPad* pad, GstPadProbeInfo* info) {
    return event(pad, info);
  };
  Probe buffers_;
  Probe events_;
};

std::int64_t round_div(std::int64_t a, std::int64_t b) { return (a + b / 2) / b; }

// Where a segment starts when a key frame is at `frame`: the start of the
// MP3 frame nearest it.
std::int64_t mp3_cut(std::int64_t frame) { return round_div(frame, kMp3Frame) * kMp3Frame; }

// The video frame (time of one of n × 10⁹ / 30) within 1 µs of `time`.
std::optional<std::int64_t> video_frame_at(std::int64_t time) {
  const std::int64_t n = round_div(time * 30, kSecond);
  const std::int64_t frame = video_frame_time(n);
  if (std::llabs(frame - time) > 1000) return std::nullopt;
  return frame;
}

bool contains_within(const std::vector<GstClockTime>& times, std::int64_t time, std::int64_t tolerance) {
  return std::any_of(times.begin(), times.end(),
                     [&](GstClockTime t) { return std::llabs(static_cast<std::int64_t>(t) - time) <= tolerance; });
}

// The PTS (ns, relative to the first segment's first video frame) of the
// first video and audio PES of every segment in `playlist`.
struct SegmentStart {
  std::optional<std::int64_t> video, audio;
  bool video_key = false;
};
std::vector<SegmentStart> segment_starts(const TempDir& dir, const MediaPlaylist& playlist) {
  std::vector<SegmentStart> starts;
  std::optional<std::int64_t> base;
  for (const std::string& uri : playlist.uris) {
    const TsFile ts = check_segment(dir.path() / uri);
    if (!base && !ts.video.empty()) base = ts.video.front().pts;
    REQUIRE(base);
    SegmentStart start;
    const auto to_ns = [&](std::int64_t pts) { return (pts - *base) * kSecond / 90'000; };
    if (!ts.video.empty()) {
      start.video = to_ns(ts.video.front().pts);
      start.video_key = ts.video.front().random_access;
    }
    if (!ts.audio.empty()) start.audio = to_ns(ts.audio.front().pts);
    starts.push_back(start);
  }
  return starts;
}

}  // namespace

TEST_CASE("key-unit requests: ahead of the frames, on the frame whose audio cut is nearest each boundary",
          "[hlssink][keyframes]") {
  // 1 s: every boundary is on a video frame. 0.65 s: boundaries 3, 5 and 7
  // are nearest a frame whose audio cut is not the nearest to them, so the
  // frame next to it is asked for.
  const double target_s = GENERATE(1.0, 0.65);
  const auto target = static_cast<std::int64_t>(std::llround(target_s * 1e9));
  INFO("target-duration " << target_s);
  TempDir dir;
  HlsPipeline p(video_source(150) + mp3_source(208), dir, target_s);
  g_object_set(p.hls(), "playlist-length", 0u, nullptr);
  EncoderWatch encoder(p.element("enc").get());
  const RunResult result = p.run();
  REQUIRE(result.eos);
  REQUIRE(result.errors.empty());

  const auto requests = encoder.requests();
  const auto keyframes = encoder.keyframes();
  REQUIRE(encoder.frames() == 150);
  // Boundaries k × target, each asked for once and in order, up to 3 s
  // past the last frame the sink saw.
  CHECK(requests.size() == static_cast<std::size_t>((video_frame_time(149) + 3 * kSecond) / target));
  std::vector<std::int64_t> chosen;  // the frame each request is for
  std::size_t not_nearest = 0;       // boundaries where that is not the frame nearest the boundary
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const KeyUnitRequest& r = requests[i];
    const std::int64_t boundary = static_cast<std::int64_t>(i + 1) * target;
    INFO("request " << i << " at " << r.running_time << " ns, count " << r.count << ", encoder at " << r.encoder_output
                    << " ns, boundary " << boundary << " ns");
    CHECK(r.all_headers);
    CHECK(r.count == i + 1);
    // Half a frame before the frame it wants, so that frame is the first
    // at or after it whatever the rounding of its timestamp.
    REQUIRE(GST_CLOCK_TIME_IS_VALID(r.running_time));
    const auto frame = video_frame_at(static_cast<std::int64_t>(r.running_time) + kVideoFrame / 2);
    REQUIRE(frame);
    chosen.push_back(*frame);
    CHECK(std::llabs(*frame - boundary) <= kVideoFrame);
    if (std::llabs(*frame - boundary) > kVideoFrame / 2) ++not_nearest;
    // Sent before x264enc had that frame out, at most 3 s ahead.
    REQUIRE(GST_CLOCK_TIME_IS_VALID(r.encoder_output));
    CHECK(r.running_time > r.encoder_output);
    CHECK(r.running_time <= r.encoder_output + 3 * GST_SECOND + kVideoFrame);
    // Of the frames around the boundary, this one's audio cut is nearest
    // it, among those not more than an audio frame early.
    const std::int64_t error = mp3_cut(*frame) - boundary;
    CHECK(std::llabs(error) <= kMp3Frame);
    for (const std::int64_t other : {*frame - kVideoFrame, *frame + kVideoFrame}) {
      const std::int64_t other_error = mp3_cut(video_frame_at(other).value_or(other)) - boundary;
      INFO("the frame at " << other << " ns would cut " << other_error << " ns from the boundary");
      CHECK((other_error < -kMp3Frame || std::llabs(other_error) >= std::llabs(error)));
    }
  }
  CHECK(not_nearest == (target_s == 1.0 ? 0 : 3));

  // x264enc (no key frame of its own within 250 frames) made exactly the
  // key frames asked for that are inside the stream, and the first.
  std::size_t inside = 0;
  for (const std::int64_t frame : chosen) {
    if (frame >= video_frame_time(150)) continue;
    ++inside;
    INFO("key frame wanted at " << frame << " ns");
    CHECK(contains_within(keyframes, frame, 1000));
  }
  CHECK(keyframes.size() == inside + 1);
  CHECK(keyframes.front() == 0);

  // Every segment after the first starts on one of them, its audio on the
  // MP3 frame nearest it; EXTINF runs from audio cut to audio cut.
  const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
  const auto starts = segment_starts(dir, playlist);
  REQUIRE(starts.size() == inside + 1);
  const auto extinf_starts = playlist.starts_us();
  for (std::size_t s = 1; s < starts.size(); ++s) {
    INFO("segment " << s);
    REQUIRE(starts[s].video);
    REQUIRE(starts[s].audio);
    CHECK(starts[s].video_key);
    CHECK(std::llabs(*starts[s].video - chosen[s - 1]) <= 2 * kTick);
    CHECK(std::llabs(*starts[s].audio - mp3_cut(chosen[s - 1])) <= kTick);
    CHECK(extinf_starts[s] * 1000 == mp3_cut(chosen[s - 1]));
    // Each boundary within an audio frame of k × target, so the sum never
    // drifts; one segment is then within two audio frames of the target
    // (0.65 s gives 0.672 s, then 0.624 s).
    CHECK(std::llabs(extinf_starts[s] * 1000 - static_cast<std::int64_t>(s) * target) <= kMp3Frame);
    CHECK(std::llabs(playlist.extinf_us[s - 1] * 1000 - target) <= 2 * kMp3Frame);
  }
  CHECK(p.stats().keyframe_requests == requests.size());
}

TEST_CASE("key-unit requests: none with send-keyframe-requests=false; cuts follow the encoder's key frames",
          "[hlssink][keyframes]") {
  TempDir dir;
  // A key frame every 30 frames (1 s) of x264enc's own.
  HlsPipeline p(video_source(150, "tune=zerolatency key-int-max=30") + mp3_source(208), dir);
  g_object_set(p.hls(), "playlist-length", 0u, "send-keyframe-requests", FALSE, nullptr);
  EncoderWatch encoder(p.element("enc").get());
  const RunResult result = p.run();
  REQUIRE(result.eos);
  REQUIRE(result.errors.empty());

  CHECK(encoder.requests().empty());
  CHECK(p.stats().keyframe_requests == 0);
  const auto keyframes = encoder.keyframes();
  REQUIRE(keyframes.size() == 5);  // 0, 1, 2, 3, 4 s

  const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
  const auto starts = segment_starts(dir, playlist);
  REQUIRE(starts.size() == 5);
  const auto extinf_starts = playlist.starts_us();
  for (std::size_t s = 1; s < starts.size(); ++s) {
    INFO("segment " << s);
    REQUIRE(starts[s].video);
    CHECK(starts[s].video_key);
    CHECK(std::llabs(*starts[s].video - static_cast<std::int64_t>(keyframes[s])) <= 2 * kTick);
    CHECK(extinf_starts[s] * 1000 == mp3_cut(static_cast<std::int64_t>(keyframes[s])));
  }
}

TEST_CASE("key-unit requests: in time for x264enc's default 40-frame lookahead at the default target",
          "[hlssink][keyframes]") {
  TempDir dir;
  // The preset's defaults (rc-lookahead 40, medium); threads pinned so the
  // encoder's delay, which grows with its thread count, is the same on any
  // machine.
  HlsPipeline p(video_source(240, "threads=2") + mp3_source(333), dir, 2.0);
  g_object_set(p.hls(), "playlist-length", 0u, nullptr);
  EncoderWatch encoder(p.element("enc").get());
  const RunResult result = p.run();
  REQUIRE(result.eos);
  REQUIRE(result.errors.empty());

  const auto requests = encoder.requests();
  const auto keyframes = encoder.keyframes();
  REQUIRE(requests.size() >= 3);
  for (const KeyUnitRequest& r : requests) {
    const auto frame = video_frame_at(static_cast<std::int64_t>(r.running_time) + kVideoFrame / 2);
    REQUIRE(frame);
    if (*frame >= video_frame_time(240)) continue;
    INFO("key frame wanted at " << *frame << " ns");
    CHECK(contains_within(keyframes, *frame, 1000));
  }
  const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
  REQUIRE(playlist.extinf_us.size() == 4);
  const auto starts = playlist.starts_us();
  for (std::size_t s = 1; s < starts.size(); ++s) {
    INFO("segment " << s);
    CHECK(std::llabs(starts[s] * 1000 - static_cast<std::int64_t>(s) * 2 * kSecond) <= kMp3Frame);
  }
}

TEST_CASE("stats: segments, mean EXTINF and drift agree with the playlist", "[hlssink][stats]") {
  TempDir dir;
  // Video to 5.0 s, MP3 to 5.016 s (209 frames): five segments.
  HlsPipeline p(video_source(150) + mp3_source(208), dir);
  g_object_set(p.hls(), "playlist-length", 0u, nullptr);
  EncoderWatch encoder(p.element("enc").get());
  const RunResult result = p.run();
  REQUIRE(result.eos);
  REQUIRE(result.errors.empty());

  const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
  REQUIRE(playlist.media_sequence == 0);  // an EVENT playlist keeps them all
  const auto n = playlist.extinf_us.size();
  REQUIRE(n == 5);
  const double total = static_cast<double>(playlist.total_us()) / 1e6;
  CHECK(total == Approx(5.016).margin(1e-6));

  // Read in NULL, after the run: what the run left.
  const Stats s = p.stats();
  CHECK(s.segments == n);
  CHECK(s.last_extinf == Approx(static_cast<double>(playlist.extinf_us.back()) / 1e6).margin(1e-6));
  CHECK(s.mean_extinf == Approx(total / static_cast<double>(n)).margin(1e-6));
  CHECK(std::abs(s.mean_extinf - 1.0) <= 0.024);
  CHECK(s.drift == Approx(total - static_cast<double>(n) * 1.0).margin(1e-6));
  CHECK(std::abs(s.drift) <= 0.024);
  CHECK(s.keyframe_requests > 0);
  CHECK(s.keyframe_requests == encoder.requests().size());
  CHECK(s.discontinuities == 0);
  CHECK(s.malformed == 0);
  CHECK(s.dropped == 0);  // both streams start on the first key frame
}

}  // namespace nagare::test::elements::hls
