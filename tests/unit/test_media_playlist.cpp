// The launcher's media playlist reader and VOD writer
// (launcher/media_playlist.hpp): what nagarehlssink writes, live and
// archived, encrypted or not, read back; errors naming their line.
#include <catch2/catch.hpp>

#include <string>

#include "media_playlist.hpp"

using namespace nagare::launcher;

namespace {

// An archive playlist as nagarehlssink writes it (1 s target, MP3 at
// 48 kHz, AES-128 with a new key every two segments, a publisher restart
// before the fourth segment).
const std::string kArchive =
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
    "#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
    "#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example/k/aa\",IV=0x000102030405060708090a0b0c0d0e0f\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:00.000Z\n#EXTINF:1.008,\nb1-00000.ts\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:01.008Z\n#EXTINF:0.984,\nb1-00001.ts\n"
    "#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example/k/bb\",IV=0xffeeddccbbaa99887766554433221100\n"
    "#EXTINF:1.008,\nb1-00002.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:0.5,\nb1-00003.ts\n";

}  // namespace

TEST_CASE("media playlist: nagarehlssink's archive, keys and discontinuities", "[media-playlist]") {
  const auto parsed = parse_media_playlist(kArchive);
  REQUIRE(parsed.playlist);
  const MediaPlaylist& p = *parsed.playlist;
  CHECK(p.target_duration == 1);
  CHECK(p.type == "EVENT");
  CHECK(!p.ended);
  REQUIRE(p.segments.size() == 4);
  CHECK(p.segments[0].uri == "b1-00000.ts");
  CHECK(p.segments[0].duration_us == 1'008'000);
  CHECK(p.segments[3].duration_us == 500'000);
  CHECK(p.total_us() == 3'500'000);
  REQUIRE(p.segments[1].key);
  CHECK(p.segments[1].key->uri == "https://keys.example/k/aa");
  CHECK(p.segments[1].key->iv == "0x000102030405060708090a0b0c0d0e0f");
  CHECK(p.segments[2].key->uri == "https://keys.example/k/bb");
  CHECK(p.segments[3].key == p.segments[2].key);
  CHECK(p.segments[3].discontinuity);
  CHECK(!p.segments[2].discontinuity);
}

TEST_CASE("media playlist: a VOD written from it reads back the same, closed", "[media-playlist]") {
  const MediaPlaylist p = *parse_media_playlist(kArchive).playlist;
  const std::string vod = render_vod(p);
  CHECK(vod.find("#EXT-X-PLAYLIST-TYPE:VOD\n") != std::string::npos);
  CHECK(vod.substr(vod.size() - 15) == "#EXT-X-ENDLIST\n");
  // A key line where the key changes, and only there.
  CHECK(vod.find("#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example/k/aa\",IV=0x000102030405060708090a0b0c0d0e0f\n"
                 "#EXTINF:1.008,\nb1-00000.ts\n#EXTINF:0.984,\nb1-00001.ts\n#EXT-X-KEY") != std::string::npos);
  const MediaPlaylist q = *parse_media_playlist(vod).playlist;
  CHECK(q.segments == p.segments);
  CHECK(q.ended);
  CHECK(q.type == "VOD");
  CHECK(render_vod(q) == vod);
}

TEST_CASE("media playlist: a clear segment after encrypted ones gets METHOD=NONE", "[media-playlist]") {
  const auto p = parse_media_playlist(
      "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:1,\na.ts\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:2.5,\nb.ts\n");
  REQUIRE(p.playlist);
  CHECK(p.playlist->segments[0].key);
  CHECK(!p.playlist->segments[1].key);
  CHECK(render_vod(*p.playlist).find("#EXT-X-KEY:METHOD=NONE\n#EXTINF:2.500,\nb.ts\n") != std::string::npos);
  // The target covers the longest segment, rounded (§4.3.3.1).
  CHECK(render_vod(*p.playlist).find("#EXT-X-TARGETDURATION:3\n") != std::string::npos);
}

TEST_CASE("media playlist: a clear broadcast has no key line; keys start and stop where they do", "[media-playlist]") {
  // Found by fuzzing: the writer compared the key in force by dereferencing
  // an empty std::optional, so a clear archive got METHOD=NONE before every
  // segment but the first, and an encrypted segment after clear ones
  // compared strings that were never constructed.
  const auto clear = parse_media_playlist("#EXTM3U\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n#EXTINF:1,\nc.ts\n");
  REQUIRE(clear.playlist);
  CHECK(render_vod(*clear.playlist).find("#EXT-X-KEY") == std::string::npos);

  const auto mixed = parse_media_playlist(
      "#EXTM3U\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:1,\nc.ts\n"
      "#EXTINF:1,\nd.ts\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:1,\ne.ts\n");
  REQUIRE(mixed.playlist);
  const std::string vod = render_vod(*mixed.playlist);
  CHECK(vod.find("#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:1.000,\na.ts\n#EXTINF:1.000,\nb.ts\n"
                 "#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:1.000,\nc.ts\n#EXTINF:1.000,\nd.ts\n"
                 "#EXT-X-KEY:METHOD=NONE\n#EXTINF:1.000,\ne.ts\n#EXT-X-ENDLIST\n") != std::string::npos);
}

TEST_CASE("media playlist: CRLF line ends, blank lines and unknown tags are fine", "[media-playlist]") {
  const auto p = parse_media_playlist("#EXTM3U\r\n\r\n#EXT-X-FOO:1\r\n#EXTINF:2,title\r\nseg.ts\r\n#EXT-X-ENDLIST\r\n");
  REQUIRE(p.playlist);
  CHECK(p.playlist->segments.size() == 1);
  CHECK(p.playlist->segments[0].uri == "seg.ts");
  CHECK(p.playlist->segments[0].duration_us == 2'000'000);
  CHECK(p.playlist->ended);
}

TEST_CASE("media playlist: errors name their line", "[media-playlist]") {
  auto error = [](const std::string& text) { return parse_media_playlist(text).error; };
  CHECK(error("") == "line 1: a playlist starts with #EXTM3U");
  CHECK(error("#EXTM3U\nseg.ts\n") == "line 2: a URI without an EXTINF before it");
  CHECK(error("#EXTM3U\n#EXTINF:1,\n#EXTINF:1,\na.ts\n") == "line 3: two EXTINF without a URI between them");
  CHECK(error("#EXTM3U\n#EXTINF:-1,\na.ts\n") == "line 2: EXTINF needs a duration in seconds");
  CHECK(error("#EXTM3U\n#EXTINF:1e3,\na.ts\n") == "line 2: EXTINF needs a duration in seconds");
  CHECK(error("#EXTM3U\n#EXTINF:99999999999,\na.ts\n") == "line 2: EXTINF needs a duration in seconds");
  CHECK(error("#EXTM3U\n#EXTINF:1,\n") == "line 3: the last EXTINF has no URI");
  CHECK(error("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128\n") == "line 2: EXT-X-KEY needs a URI unless its METHOD is NONE");
  CHECK(error("#EXTM3U\n#EXT-X-KEY:URI=\"k\n") == "line 2: EXT-X-KEY's attributes do not parse");
  CHECK(error("#EXTM3U\n#EXT-X-TARGETDURATION:x\n") == "line 2: EXT-X-TARGETDURATION needs whole seconds");
  CHECK(error("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:LIVE\n") == "line 2: EXT-X-PLAYLIST-TYPE is EVENT or VOD");
}

TEST_CASE("attribute lists: quoted strings, hex, and what does not parse", "[media-playlist]") {
  const auto a = parse_attributes("METHOD=AES-128,URI=\"https://k/x?a=1,b=2\",IV=0x0F");
  REQUIRE(a);
  REQUIRE(a->size() == 3);
  CHECK((*a)[1].second == "https://k/x?a=1,b=2");
  CHECK((*a)[2].second == "0x0F");
  for (const char* bad : {"=1", "A", "A=", "A=1,", "a=1", "A=\"x", "A=\"x\"y", "A=x\"y"}) {
    INFO(bad);
    CHECK(!parse_attributes(bad));
  }
}
