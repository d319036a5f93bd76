// nagarehlssink when it cannot write: an element error naming the path,
// posted by the sink itself; what was written before stays intact; an
// unusable location pattern fails the state change.
//
// Failures are made with the file system, not permissions (tests may run
// as root): a folder that does not exist, a regular file where a folder
// should be, and a folder where the sink's temporary file (PATH.tmp) goes.
#include <atomic>
#include <functional>

#include "hlssink_fixture.hpp"

namespace nagare::test::elements::hls {
namespace {

// Runs `action` once, in the writer's streaming thread, before the first
// buffer it receives after `trigger` exists: the segment and the playlist
// listing it are both written by then.
class WhenWritten {
 public:
  WhenWritten(GstElement* hls, fs::path trigger, std::function<void()> action)
      : trigger_(std::move(trigger)),
        action_(std::move(action)),
        probe_(internal_writer(hls).get(), "sink",
               static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST), &on_data_) {}
  bool done() const { return done_; }

 private:
  fs::path trigger_;
  std::function<void()> action_;
  std::atomic<bool> done_ = false;
  std::function<GstPadProbeReturn(GstPad*, GstPadProbeInfo*)> on_data_ = [this](GstPad*, GstPadProbeInfo*) {
    if (!done_ && fs::exists(trigger_)) {
      action_();
      done_ = true;
    }
    return GST_PAD_PROBE_OK;
  };
  Probe probe_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The run ended on an error from the sink itself, RESOURCE/`code`, whose
// message names `path`.
void check_sink_error(const RunResult& result, GstResourceError code, const std::string& path,
                      const std::string& reason) {
  CHECK_FALSE(result.eos);
  REQUIRE_FALSE(result.errors.empty());
  const BusError& error = result.errors.front();
  INFO("error from " << error.source << ": " << error.message << " (" << error.debug << ")");
  CHECK(error.source == "hls");
  CHECK(error.domain == GST_RESOURCE_ERROR);
  CHECK(error.code == code);
  CHECK(contains(error.message, path));
  CHECK(contains(error.debug, reason));
}

}  // namespace

TEST_CASE("IO errors: a segment folder that does not exist", "[hlssink][errors]") {
  TempDir dir;
  HlsPipeline p(video_source(60) + mp3_source(80), dir);
  const std::string location = dir / "missing/seg%05d.ts";
  g_object_set(p.hls(), "location", location.c_str(), nullptr);
  const RunResult result = p.run();
  check_sink_error(result, GST_RESOURCE_ERROR_WRITE, dir / "missing/seg00000.ts", "No such file or directory");
  CHECK(file_names(dir.path()).empty());  // no playlist of nothing, no temporary file
}

TEST_CASE("IO errors: a playlist whose folder is a regular file", "[hlssink][errors]") {
  TempDir dir;
  write_text(dir.path() / "file", "not a folder\n");
  HlsPipeline p(video_source(60) + mp3_source(80), dir);
  const std::string playlist = dir / "file/index.m3u8";
  g_object_set(p.hls(), "playlist-location", playlist.c_str(), nullptr);
  const RunResult result = p.run();
  check_sink_error(result, GST_RESOURCE_ERROR_WRITE, playlist, "Not a directory");
  // The first segment, written before its playlist, is whole.
  CHECK(file_names(dir.path()) == std::vector<std::string>{"file", "seg00000.ts"});
  check_segment(dir.path() / "seg00000.ts");
  CHECK(read_text(dir.path() / "file") == "not a folder\n");
}

TEST_CASE("IO errors: a write that fails halfway leaves what was written intact", "[hlssink][errors]") {
  TempDir dir;
  HlsPipeline p(video_source(150) + mp3_source(208), dir);
  std::string playlist_then;
  const auto capture_playlist = [&] { playlist_then = read_text(dir.path() / "index.m3u8"); };

  SECTION("the playlist") {
    // Once two segments are listed, the playlist's temporary name becomes
    // a folder: the next playlist write cannot open it.
    const WhenWritten obstacle(p.hls(), dir.path() / "seg00001.ts", [&] {
      capture_playlist();
      fs::create_directory(dir.path() / "index.m3u8.tmp");
    });
    const RunResult result = p.run();
    REQUIRE(obstacle.done());
    check_sink_error(result, GST_RESOURCE_ERROR_WRITE, dir / "index.m3u8", "Is a directory");
    // The playlist is the last one written, listing two whole segments;
    // the third, written before the failed playlist, is whole too.
    CHECK(read_text(dir.path() / "index.m3u8") == playlist_then);
    const MediaPlaylist playlist = parse_playlist(playlist_then);
    CHECK(playlist.uris == std::vector<std::string>{"seg00000.ts", "seg00001.ts"});
    CHECK_FALSE(playlist.ended);
    CHECK(file_names(dir.path()) ==
          std::vector<std::string>{"index.m3u8", "index.m3u8.tmp", "seg00000.ts", "seg00001.ts", "seg00002.ts"});
    for (const char* name : {"seg00000.ts", "seg00001.ts", "seg00002.ts"}) check_segment(dir.path() / name);
    CHECK(p.stats().segments == 3);
  }

  SECTION("a segment") {
    const WhenWritten obstacle(p.hls(), dir.path() / "seg00001.ts", [&] {
      capture_playlist();
      fs::create_directory(dir.path() / "seg00002.ts.tmp");
    });
    const RunResult result = p.run();
    REQUIRE(obstacle.done());
    check_sink_error(result, GST_RESOURCE_ERROR_WRITE, dir / "seg00002.ts", "Is a directory");
    CHECK(read_text(dir.path() / "index.m3u8") == playlist_then);
    const MediaPlaylist playlist = parse_playlist(playlist_then);
    CHECK(playlist.uris == std::vector<std::string>{"seg00000.ts", "seg00001.ts"});
    CHECK(file_names(dir.path()) ==
          std::vector<std::string>{"index.m3u8", "seg00000.ts", "seg00001.ts", "seg00002.ts.tmp"});
    for (const char* name : {"seg00000.ts", "seg00001.ts"}) check_segment(dir.path() / name);
    CHECK(p.stats().segments == 2);
  }
}

TEST_CASE("IO errors: an unusable location pattern fails the start", "[hlssink][errors]") {
  const std::string name = GENERATE(as<std::string>(), "seg%s.ts", "seg.ts", "seg%d-%d.ts", "seg%", "seg%x.ts");
  TempDir dir;
  HlsPipeline p(video_source(30), dir);
  const std::string location = dir / name;
  INFO("location " << location);
  g_object_set(p.hls(), "location", location.c_str(), nullptr);

  CHECK(gst_element_set_state(p.pipeline(), GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
  const auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(p.pipeline()));
  const auto message = GstPtr<GstMessage>::adopt(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
  REQUIRE(message);
  const BusError error = to_bus_error(message.get());
  INFO("error from " << error.source << ": " << error.message << " (" << error.debug << ")");
  CHECK(error.source == "hls");
  CHECK(error.domain == GST_RESOURCE_ERROR);
  CHECK(error.code == GST_RESOURCE_ERROR_SETTINGS);
  CHECK(contains(error.message, "Unusable location pattern"));
  CHECK(contains(error.message, location));
  REQUIRE(gst_element_set_state(p.pipeline(), GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  CHECK(file_names(dir.path()).empty());

  // Corrected, the same element starts and writes.
  g_object_set(p.hls(), "location", (dir / "seg%u.ts").c_str(), nullptr);
  const RunResult result = p.run();
  CHECK(result.eos);
  CHECK(result.errors.empty());
  check_segment(dir.path() / "seg0.ts");
}

}  // namespace nagare::test::elements::hls
