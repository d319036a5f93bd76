// nagarehlssink's AES-128 encryption, EXT-X-START and archive playlist in a
// real pipeline (x264enc + lamemp3enc, 1 s segments): the key messages on
// the bus and when they come, the key files, EXT-X-KEY in the playlist, and
// segments that decrypt to what a player can start on.
#include <array>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>

#include "hlssink/encryption.hpp"
#include "hlssink_fixture.hpp"

namespace nagare::test::elements::hls {
namespace {

using nagare::hls::SegmentKey;

struct KeyMessage {
  SegmentKey key;
  std::uint64_t first_segment = 0;
  std::string uri;
  std::string playlist_location;
};

template <std::size_t N>
void from_hex(const gchar* hex, std::array<std::uint8_t, N>& out) {
  REQUIRE(hex);
  REQUIRE(std::strlen(hex) == 2 * N);
  for (std::size_t i = 0; i < N; ++i)
    out[i] = static_cast<std::uint8_t>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
}

// The "nagare-hls-key" messages the sink posts, as they are posted (a bus
// sync handler, on the posting thread), and how many came after the first
// segment they encrypt was already on disk.
class KeyMessages {
 public:
  KeyMessages(GstElement* pipeline, std::function<bool(std::uint64_t)> written)
      : written_(std::move(written)), bus_(GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline))) {
    gst_bus_set_sync_handler(bus_.get(), &KeyMessages::on_message, this, nullptr);
  }
  ~KeyMessages() { gst_bus_set_sync_handler(bus_.get(), nullptr, nullptr, nullptr); }
  KeyMessages(const KeyMessages&) = delete;
  KeyMessages& operator=(const KeyMessages&) = delete;

  std::vector<KeyMessage> get() {
    std::lock_guard lock(mutex_);
    return keys_;
  }
  int late() {
    std::lock_guard lock(mutex_);
    return late_;
  }

 private:
  static GstBusSyncReply on_message(GstBus*, GstMessage* message, gpointer data) {
    auto* self = static_cast<KeyMessages*>(data);
    if (GST_MESSAGE_TYPE(message) != GST_MESSAGE_ELEMENT || !gst_message_has_name(message, "nagare-hls-key")) {
      return GST_BUS_PASS;
    }
    const GstStructure* s = gst_message_get_structure(message);
    KeyMessage k;
    k.key.id = gst_structure_get_string(s, "key-id");
    from_hex(gst_structure_get_string(s, "key"), k.key.key);
    from_hex(gst_structure_get_string(s, "iv"), k.key.iv);
    guint64 first = 0;
    gst_structure_get_uint64(s, "first-segment", &first);
    k.first_segment = first;
    k.uri = gst_structure_get_string(s, "uri");
    k.playlist_location = gst_structure_get_string(s, "playlist-location");
    std::lock_guard lock(self->mutex_);
    if (self->written_(first)) ++self->late_;
    self->keys_.push_back(std::move(k));
    return GST_BUS_PASS;
  }

  std::function<bool(std::uint64_t)> written_;
  GstPtr<GstBus> bus_;
  std::mutex mutex_;
  std::vector<KeyMessage> keys_;
  int late_ = 0;
};

// The segment file of index i, as the fixture names them.
fs::path segment_path(const TempDir& dir, std::uint64_t i) {
  char name[32];
  std::snprintf(name, sizeof name, "seg%05llu.ts", static_cast<unsigned long long>(i));
  return dir.path() / name;
}

}  // namespace

TEST_CASE("encryption: keys reach the bus a rotation ahead, and every segment decrypts", "[hlssink][encryption]") {
  TempDir dir;
  HlsPipeline p(video_source(180) + mp3_source(250), dir);
  fs::create_directories(dir.path() / "keys");
  g_object_set(p.hls(), "key-uri", "https://keys.example/k/{key_id}", "key-rotation", 2u, "key-location",
               (dir.path() / "keys" / "{key_id}.key").c_str(), "max-files", 0u, "playlist-length", 0u, nullptr);
  KeyMessages keys(p.pipeline(),
                   [&dir](std::uint64_t first_segment) { return fs::exists(segment_path(dir, first_segment)); });
  const RunResult r = p.run();
  REQUIRE(r.eos);
  REQUIRE(r.errors.empty());

  const MediaPlaylist playlist = read_playlist(dir.path() / "index.m3u8");
  REQUIRE(playlist.uris.size() >= 5);
  CHECK(playlist.keys.size() == (playlist.uris.size() + 1) / 2);
  const auto taken = keys.get();
  // One key per two segments, and the one made ahead for the period after.
  CHECK(taken.size() == (playlist.uris.size() + 1) / 2 + 1);
  CHECK(keys.late() == 0);  // no key was posted after its first segment was written

  for (std::uint64_t i = 0; i < playlist.uris.size(); ++i) {
    INFO("segment " << i);
    const KeyMessage& m = taken.at(i / 2);
    CHECK(m.first_segment == i / 2 * 2);
    CHECK(m.uri == "https://keys.example/k/" + m.key.id);
    CHECK(m.playlist_location == (dir.path() / "index.m3u8").string());
    // The key file holds the key.
    CHECK(read_bytes(dir.path() / "keys" / (m.key.id + ".key")) ==
          std::vector<std::uint8_t>(m.key.key.begin(), m.key.key.end()));
    // EXT-X-KEY names it: a new key every two segments, from the first.
    CHECK(playlist.keys.at(i / 2) == "METHOD=AES-128,URI=\"" + m.uri + "\",IV=0x" + m.key.iv_hex());
    // The file on disk is ciphertext; decrypted, a segment a player starts on.
    const auto cipher = read_bytes(segment_path(dir, i));
    CHECK(cipher.size() % 16 == 0);
    CHECK((cipher.empty() || cipher[0] != 0x47 || cipher.size() % 188 != 0));
    const auto plain = nagare::hls::decrypt_segment(cipher, m.key);
    REQUIRE(plain);
    const TsFile ts = parse_ts(*plain);
    CHECK(ts.whole_packets);
    CHECK(ts.starts_with_pat);
    CHECK(!ts.video.empty());
    CHECK(ts.video.front().random_access);
  }
}

TEST_CASE("encryption: without rotation one key serves the whole run", "[hlssink][encryption]") {
  TempDir dir;
  HlsPipeline p(video_source(120) + mp3_source(170), dir);
  g_object_set(p.hls(), "key-uri", "/keys/channel", nullptr);
  KeyMessages keys(p.pipeline(), [](std::uint64_t) { return false; });
  REQUIRE(p.run().eos);
  const auto taken = keys.get();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].uri == "/keys/channel?key_id=" + taken[0].key.id);
  CHECK(read_playlist(dir.path() / "index.m3u8").keys.size() == 1);  // once, at the top of the window
  CHECK(nagare::hls::decrypt_segment(read_bytes(segment_path(dir, 1)), taken[0].key));
}

TEST_CASE("start-time-offset: EXT-X-START:TIME-OFFSET, and none when unset", "[hlssink][playlist]") {
  TempDir dir;
  {
    HlsPipeline p(video_source(60) + mp3_source(80), dir);
    double unset = 0;
    g_object_get(p.hls(), "start-time-offset", &unset, nullptr);
    CHECK(unset == -G_MAXDOUBLE);
    REQUIRE(p.run().eos);
    CHECK(!read_playlist(dir.path() / "index.m3u8").start_offset);
  }
  TempDir dir2;
  HlsPipeline p(video_source(60) + mp3_source(80), dir2);
  g_object_set(p.hls(), "start-time-offset", -2.5, nullptr);
  REQUIRE(p.run().eos);
  CHECK(read_playlist(dir2.path() / "index.m3u8").start_offset == "-2.500");
}

TEST_CASE("archive-playlist-location: every segment kept and listed, VOD at EOS", "[hlssink][playlist]") {
  TempDir dir;
  HlsPipeline p(video_source(240) + mp3_source(340), dir);
  g_object_set(p.hls(), "playlist-length", 3u, "max-files", 2u, "archive-playlist-location",
               (dir.path() / "archive.m3u8").c_str(), nullptr);
  REQUIRE(p.run().eos);
  const MediaPlaylist live = read_playlist(dir.path() / "index.m3u8");
  const MediaPlaylist archive = read_playlist(dir.path() / "archive.m3u8");
  CHECK(live.uris.size() == 3);
  REQUIRE(archive.uris.size() >= 7);
  CHECK(archive.playlist_type == "VOD");
  CHECK(archive.ended);
  CHECK(archive.media_sequence == 0);
  CHECK(archive.uris.back() == live.uris.back());
  for (const auto& uri : archive.uris) check_segment(dir.path() / uri);
  // The archive's durations add up to the whole run: EXTINF is the audio's
  // span, 341 MP3 frames of 24 ms.
  CHECK(archive.total_us() == std::int64_t{341} * 24'000);
}

}  // namespace nagare::test::elements::hls
