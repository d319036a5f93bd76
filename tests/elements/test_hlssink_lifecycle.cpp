// nagarehlssink across state changes: each run from READY→PAUSED writes a
// fresh playlist from segment 0; a run stopped without EOS leaves an open
// playlist the next run replaces; request pads can be released and asked
// for again between runs. No GLib warning or critical anywhere.
#include <chrono>
#include <thread>

#include "hlssink_fixture.hpp"

namespace nagare::test::elements::hls {
namespace {

// Waits (polling; the sink writes from its own thread) until `path`
// exists, for at most `seconds`.
bool wait_for_file(const fs::path& path, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!fs::exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void check_listed_segments(const TempDir& dir, const MediaPlaylist& playlist) {
  for (const std::string& uri : playlist.uris) check_segment(dir.path() / uri);
}

}  // namespace

TEST_CASE("lifecycle: PLAYING -> NULL -> PLAYING twice, a fresh playlist each run", "[hlssink][lifecycle]") {
  TempDir dir;
  HlsPipeline p(video_source(60) + mp3_source(80), dir);  // 2 s, two segments
  g_object_set(p.hls(), "playlist-length", 0u, nullptr);

  std::string first_playlist;
  Stats first_stats;
  for (int run = 0; run < 3; ++run) {
    INFO("run " << run);
    const RunResult result = p.run();  // to EOS, then NULL
    REQUIRE(result.eos);
    REQUIRE(result.errors.empty());
    const std::string text = without_dates(read_text(dir.path() / "index.m3u8"));
    const MediaPlaylist playlist = parse_playlist(text);
    CHECK(playlist.ended);
    CHECK(playlist.media_sequence == 0);
    CHECK(playlist.discontinuities == 0);
    REQUIRE(playlist.uris.size() == 2);
    CHECK(playlist.uris.front() == "seg00000.ts");
    check_listed_segments(dir, playlist);
    CHECK(file_names(dir.path()) == std::vector<std::string>{"index.m3u8", "seg00000.ts", "seg00001.ts"});
    // Counted from zero each run, not added up.
    const Stats s = p.stats();
    CHECK(s.segments == 2);
    CHECK(s.keyframe_requests > 0);
    if (run == 0) {
      first_playlist = text;
      first_stats = s;
    } else {
      CHECK(text == first_playlist);
      CHECK(s.keyframe_requests == first_stats.keyframe_requests);
      CHECK(s.mean_extinf == first_stats.mean_extinf);
    }
  }
}

TEST_CASE("lifecycle: stopped without EOS, then started again", "[hlssink][lifecycle]") {
  TempDir dir;
  // Live sources at first, so the stream is still flowing when it is
  // stopped; the second run is not live, to be quick.
  HlsPipeline p(
      "videotestsrc name=vsrc is-live=true num-buffers=90"
      " ! video/x-raw,format=I420,width=320,height=240,framerate=30/1"
      " ! x264enc tune=zerolatency ! h264parse ! hls.video "
      "audiotestsrc name=asrc is-live=true num-buffers=125 samplesperbuffer=1152"
      " ! audio/x-raw,rate=48000,channels=2 ! lamemp3enc ! mpegaudioparse ! hls.audio",
      dir, 0.5);
  g_object_set(p.hls(), "playlist-length", 0u, nullptr);

  REQUIRE(gst_element_set_state(p.pipeline(), GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  REQUIRE(wait_for_file(dir.path() / "seg00001.ts", 2.5));
  REQUIRE(gst_element_set_state(p.pipeline(), GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  // What it wrote until then is a playlist that is still open.
  const MediaPlaylist stopped = read_playlist(dir.path() / "index.m3u8");
  CHECK_FALSE(stopped.ended);
  REQUIRE(stopped.uris.size() >= 2);
  check_listed_segments(dir, stopped);
  const std::uint64_t segments_then = p.stats().segments;
  CHECK(segments_then == stopped.uris.size());

  // The next run starts over: segment 0, media sequence 0, closed at EOS.
  std::error_code ignored;
  for (const std::string& uri : stopped.uris) fs::remove(dir.path() / uri, ignored);
  g_object_set(p.element("vsrc").get(), "is-live", FALSE, nullptr);
  g_object_set(p.element("asrc").get(), "is-live", FALSE, nullptr);
  const RunResult result = p.run();
  REQUIRE(result.eos);
  REQUIRE(result.errors.empty());
  const MediaPlaylist restarted = read_playlist(dir.path() / "index.m3u8");
  CHECK(restarted.ended);
  CHECK(restarted.media_sequence == 0);
  CHECK(restarted.discontinuities == 0);
  REQUIRE(restarted.uris.size() == 6);  // 3 s in segments of 0.5 s
  CHECK(restarted.uris.front() == "seg00000.ts");
  check_listed_segments(dir, restarted);
  CHECK(p.stats().segments == 6);
}

TEST_CASE("lifecycle: request pads released and requested again between runs", "[hlssink][lifecycle][pads]") {
  init_gstreamer();
  const std::size_t log_problems_at_start = LogProblems::get().count();
  TempDir dir;
  {
    GError* error = nullptr;
    GstElement* made = gst_parse_launch(
        "videotestsrc num-buffers=45 ! video/x-raw,format=I420,width=320,height=240,framerate=30/1"
        " ! x264enc tune=zerolatency ! h264parse name=parse",
        &error);
    g_clear_error(&error);
    REQUIRE(made);
    const auto pipeline = GstPtr<GstElement>::adopt(static_cast<GstElement*>(gst_object_ref_sink(made)));
    const auto parse = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(made), "parse"));
    GstElement* hls = gst_element_factory_make("nagarehlssink", "hls");
    REQUIRE(hls);
    REQUIRE(gst_bin_add(GST_BIN(made), hls));
    g_object_set(hls, "location", (dir / "seg%05d.ts").c_str(), "playlist-location", (dir / "index.m3u8").c_str(),
                 "target-duration", 1.0, nullptr);
    const auto parse_src = GstPtr<GstPad>::adopt(gst_element_get_static_pad(parse.get(), "src"));
    const auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(made));

    for (int run = 0; run < 2; ++run) {
      INFO("run " << run);
      auto video = GstPtr<GstPad>::adopt(gst_element_request_pad_simple(hls, "video"));
      REQUIRE(video);
      REQUIRE(gst_pad_link(parse_src.get(), video.get()) == GST_PAD_LINK_OK);
      REQUIRE(gst_element_set_state(made, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
      const auto message = GstPtr<GstMessage>::adopt(gst_bus_timed_pop_filtered(
          bus.get(), 10 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
      REQUIRE(message);
      CHECK(GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_EOS);
      REQUIRE(gst_element_set_state(made, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
      const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
      CHECK(playlist.ended);
      CHECK(playlist.uris.size() == 2);
      check_listed_segments(dir, playlist);

      // Unlinked and released, the pad goes; the element has none left.
      GWeakRef weak;
      g_weak_ref_init(&weak, video.get());
      REQUIRE(gst_pad_unlink(parse_src.get(), video.get()));
      gst_element_release_request_pad(hls, video.get());
      video.reset();
      auto* still_there = static_cast<GObject*>(g_weak_ref_get(&weak));
      CHECK(still_there == nullptr);
      if (still_there) g_object_unref(still_there);
      g_weak_ref_clear(&weak);
      CHECK(hls->numpads == 0);
    }
  }
  const auto problems = LogProblems::get().since(log_problems_at_start);
  for (const auto& m : problems) UNSCOPED_INFO("logged: " << m);
  CHECK(problems.empty());
}

}  // namespace nagare::test::elements::hls
