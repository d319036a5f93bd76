// What nagarehlssink writes: playlists and segments for audio only, video
// only and both; the last segment and EXT-X-ENDLIST at EOS; the live
// window, file deletion and segment URIs.
#include <atomic>

#include "hlssink_fixture.hpp"

namespace nagare::test::elements::hls {
namespace {

// Counts the buffers that leave an element's source pad.
class BufferCount {
 public:
  explicit BufferCount(GstElement* element) : probe_(element, "src", GST_PAD_PROBE_TYPE_BUFFER, &on_buffer_) {}
  std::size_t get() const { return count_; }

 private:
  std::atomic<std::size_t> count_ = 0;
  std::function<GstPadProbeReturn(GstPad*, GstPadProbeInfo*)> on_buffer_ = [this](GstPad*, GstPadProbeInfo*) {
    ++count_;
    return GST_PAD_PROBE_OK;
  };
  Probe probe_;
};

// The playlist and the folder's contents at the moment EOS reaches the
// sink's writer, before the writer acts on it.
class AtEos {
 public:
  AtEos(GstElement* hls, const TempDir& dir)
      : dir_(dir), probe_(internal_writer(hls).get(), "sink", GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, &on_event_) {}
  bool seen() const { return seen_; }
  const std::string& playlist() const { return playlist_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  const TempDir& dir_;
  bool seen_ = false;
  std::string playlist_;
  std::vector<std::string> files_;
  std::function<GstPadProbeReturn(GstPad*, GstPadProbeInfo*)> on_event_ = [this](GstPad*, GstPadProbeInfo* info) {
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
      seen_ = true;
      files_ = file_names(dir_.path());
      if (fs::exists(dir_.path() / "index.m3u8")) playlist_ = read_text(dir_.path() / "index.m3u8");
    }
    return GST_PAD_PROBE_OK;
  };
  Probe probe_;
};

// The folder holds the playlist and exactly the segments it lists: no
// temporary file left behind.
void check_folder_matches(const TempDir& dir, const MediaPlaylist& playlist) {
  std::vector<std::string> expected = playlist.uris;
  expected.emplace_back("index.m3u8");
  std::sort(expected.begin(), expected.end());
  CHECK(file_names(dir.path()) == expected);
}

}  // namespace

TEST_CASE("audio only: MP3 or AAC in ADTS gives a playlist of audio segments", "[hlssink][output]") {
  TempDir dir;
  SECTION("MP3") {
    HlsPipeline p(mp3_source(125), dir);  // 126 frames, 3.024 s
    const BufferCount frames(p.element("audioparse").get());
    const RunResult result = p.run();
    REQUIRE(result.eos);
    REQUIRE(result.errors.empty());
    REQUIRE(frames.get() == 126);

    const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
    CHECK(playlist.ended);
    CHECK(playlist.target_duration == 1);
    REQUIRE(playlist.uris.size() == 4);
    CHECK(playlist.uris.front() == "seg00000.ts");
    CHECK(playlist.extinf_us == std::vector<std::int64_t>{1'008'000, 984'000, 1'008'000, 24'000});
    check_folder_matches(dir, playlist);
    for (const std::string& uri : playlist.uris) {
      const TsFile ts = check_segment(dir.path() / uri);
      CHECK_FALSE(ts.video_pid);
      CHECK((ts.audio_stream_type == 0x03 || ts.audio_stream_type == 0x04));
      CHECK_FALSE(ts.audio.empty());
    }
    const Stats s = p.stats();
    CHECK(s.segments == 4);
    CHECK(s.keyframe_requests == 0);  // no video to ask for
  }
  SECTION("AAC") {
    HlsPipeline p(aac_source(125), dir);
    const BufferCount frames(p.element("audioparse").get());
    const RunResult result = p.run();
    REQUIRE(result.eos);
    REQUIRE(result.errors.empty());

    const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
    CHECK(playlist.ended);
    REQUIRE(playlist.uris.size() == 3);
    check_folder_matches(dir, playlist);
    // 1024-sample frames of 21.3 ms: cuts on the frame nearest each second
    // (47 frames, then 47 again to 2.005 s). Times are 90 kHz ticks, which
    // mpegtsmux rounds down: allow one.
    const std::int64_t tick_us = kTick / 1000 + 1;
    CHECK(std::llabs(playlist.extinf_us[0] - 1'002'667) <= tick_us);
    CHECK(std::llabs(playlist.extinf_us[1] - 1'002'667) <= tick_us);
    // Every frame is in the playlist's time.
    CHECK(std::llabs(playlist.total_us() * 3 - static_cast<std::int64_t>(frames.get()) * 64'000) <= 3 * tick_us);
    for (const std::string& uri : playlist.uris) {
      const TsFile ts = check_segment(dir.path() / uri);
      CHECK_FALSE(ts.video_pid);
      CHECK(ts.audio_stream_type == 0x0f);
      CHECK_FALSE(ts.audio.empty());
    }
  }
}

TEST_CASE("video only: a playlist of segments that each start on a key frame", "[hlssink][output]") {
  TempDir dir;
  HlsPipeline p(video_source(100), dir);  // 3.33 s
  const RunResult result = p.run();
  REQUIRE(result.eos);
  REQUIRE(result.errors.empty());

  const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
  CHECK(playlist.ended);
  REQUIRE(playlist.uris.size() == 4);
  check_folder_matches(dir, playlist);
  for (std::size_t i = 0; i < 3; ++i) CHECK(std::llabs(playlist.extinf_us[i] - 1'000'000) <= kTick / 1000);
  for (const std::string& uri : playlist.uris) {
    const TsFile ts = check_segment(dir.path() / uri);  // a key frame first
    CHECK(ts.video_pid);
    CHECK_FALSE(ts.audio_pid);
    CHECK(ts.video.size() >= 10);
  }
  CHECK(p.stats().keyframe_requests > 0);
}

TEST_CASE("EOS: the last segment is written and the playlist closed", "[hlssink][output][eos]") {
  TempDir dir;
  const bool with_audio = GENERATE(false, true);
  INFO((with_audio ? "video and MP3" : "video only"));
  // Video to 3.333 s; MP3 (141 frames) to 3.384 s.
  HlsPipeline p(video_source(100) + (with_audio ? mp3_source(140) : std::string()), dir);
  g_object_set(p.hls(), "playlist-length", 0u, nullptr);
  const AtEos at_eos(p.hls(), dir);
  const RunResult result = p.run();
  REQUIRE(result.eos);
  REQUIRE(result.errors.empty());
  REQUIRE(at_eos.seen());

  // Before EOS: the segments finished so far, and a playlist still open.
  const MediaPlaylist before = parse_playlist(at_eos.playlist());
  CHECK_FALSE(before.ended);
  CHECK(before.uris.size() == 3);

  const MediaPlaylist after = read_playlist(dir.path() / "index.m3u8");
  CHECK(after.ended);
  REQUIRE(after.uris.size() == 4);
  CHECK(std::vector<std::string>(after.uris.begin(), after.uris.begin() + 3) == before.uris);
  CHECK(std::find(at_eos.files().begin(), at_eos.files().end(), after.uris.back()) == at_eos.files().end());
  check_folder_matches(dir, after);
  const TsFile last = check_segment(dir.path() / after.uris.back());
  CHECK_FALSE(last.video.empty());

  // The playlist's time ends where the stream does: the audio's end when
  // there is audio, else the last video frame's.
  if (with_audio) {
    CHECK(after.total_us() == std::int64_t{141} * 24'000);
    CHECK_FALSE(last.audio.empty());
  } else {
    CHECK(std::llabs(after.total_us() * 1000 - video_frame_time(100)) <= 2 * kTick);
  }
}

TEST_CASE("playlist: live window, deleted files, URIs and dates", "[hlssink][output][playlist]") {
  TempDir dir;
  // Ten segments of 0.5 s (video to 5 s, MP3 to 5.016 s).
  HlsPipeline p(video_source(150) + mp3_source(208), dir, 0.5);

  SECTION("a window of 3, 4 files kept, segment URIs under playlist-root, no dates") {
    g_object_set(p.hls(), "playlist-length", 3u, "max-files", 4u, "playlist-root", "http://example.invalid/live",
                 "program-date-time", FALSE, nullptr);
    const RunResult result = p.run();
    REQUIRE(result.eos);
    REQUIRE(result.errors.empty());

    const Stats s = p.stats();
    REQUIRE(s.segments == 10);
    const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
    CHECK(playlist.ended);
    CHECK(playlist.target_duration == 1);  // 0.5 s rounded up
    CHECK(playlist.playlist_type.empty());
    CHECK(playlist.program_date_times == 0);
    // Every segment written was listed once: those that left the window
    // are counted by the media sequence.
    CHECK(playlist.media_sequence + playlist.uris.size() == s.segments);
    CHECK(playlist.uris == std::vector<std::string>{"http://example.invalid/live/seg00007.ts",
                                                    "http://example.invalid/live/seg00008.ts",
                                                    "http://example.invalid/live/seg00009.ts"});
    // Older files are deleted once they are out of the window and more
    // than max-files are on disk.
    CHECK(file_names(dir.path()) ==
          std::vector<std::string>{"index.m3u8", "seg00006.ts", "seg00007.ts", "seg00008.ts", "seg00009.ts"});
  }

  SECTION("an EVENT playlist keeps every segment; max-files 0 deletes none; dated entries") {
    g_object_set(p.hls(), "playlist-length", 0u, "max-files", 0u, nullptr);
    const RunResult result = p.run();
    REQUIRE(result.eos);
    REQUIRE(result.errors.empty());

    const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
    CHECK(playlist.playlist_type == "EVENT");
    CHECK(playlist.media_sequence == 0);
    CHECK(playlist.uris.size() == 10);
    CHECK(playlist.program_date_times == 10);
    check_folder_matches(dir, playlist);
  }

  SECTION("segments in a subfolder are listed relative to the playlist") {
    fs::create_directory(dir.path() / "segments");
    g_object_set(p.hls(), "location", (dir / "segments/part%d.ts").c_str(), "playlist-length", 2u, nullptr);
    const RunResult result = p.run();
    REQUIRE(result.eos);
    REQUIRE(result.errors.empty());

    const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
    CHECK(playlist.uris == std::vector<std::string>{"segments/part8.ts", "segments/part9.ts"});
    for (const std::string& uri : playlist.uris) check_segment(dir.path() / uri);
  }
}

}  // namespace nagare::test::elements::hls
