// AES-128 segment encryption (plugins/hlssink/encryption.hpp) and what the
// HLS writer does with it: the cipher against NIST's vectors, key URIs, the
// key schedule's one-period lead, EXT-X-KEY in the playlist, key files, and
// the archive playlist and EXT-X-START of the same issue.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "hlssink/encryption.hpp"
#include "hlssink/hls_writer.hpp"
#include "recording_io.hpp"

using namespace nagare::hls;
using namespace nagare::hls::test;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

std::vector<std::uint8_t> from_hex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

SegmentKey nist_key() {
  // NIST SP 800-38A, F.2.1 CBC-AES128.Encrypt.
  SegmentKey k;
  const auto key = from_hex("2b7e151628aed2a6abf7158809cf4f3c");
  const auto iv = from_hex("000102030405060708090a0b0c0d0e0f");
  std::copy(key.begin(), key.end(), k.key.begin());
  std::copy(iv.begin(), iv.end(), k.iv.begin());
  return k;
}

// Random bytes that are not random: a counter, so keys are known.
RandomFill counting() {
  return [n = std::uint8_t{0}](std::span<std::uint8_t> out) mutable {
    for (auto& b : out) b = n++;
    return true;
  };
}

Segment segment(std::size_t packets, std::uint8_t fill) {
  Segment s;
  s.bytes.assign(packets * 188, fill);
  for (std::size_t i = 0; i < s.bytes.size(); i += 188) s.bytes[i] = 0x47;
  s.duration = kSecond;
  return s;
}

// One-second segments, three in the playlist, four on disk, no
// PROGRAM-DATE-TIME: segments s0.ts, s1.ts … and index.m3u8 in `dir`.
WriterConfig small_writer(const std::string& dir) {
  WriterConfig config;
  config.location = dir + "s%d.ts";
  config.playlist_location = dir + "index.m3u8";
  config.target = kSecond;
  config.playlist_length = 3;
  config.max_files = 4;
  config.program_date_time = false;
  return config;
}

}  // namespace

TEST_CASE("encryption: AES-128-CBC as NIST SP 800-38A gives it, with PKCS#7 padding", "[encryption]") {
  const SegmentKey k = nist_key();
  const auto plain = from_hex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  const auto cipher = encrypt_segment(plain, k);
  REQUIRE(cipher);
  // The four blocks are NIST's; a fifth, all padding, follows (PKCS#7 pads a
  // whole block onto input that is a multiple of 16 bytes).
  CHECK(cipher->size() == 80);
  CHECK(std::vector<std::uint8_t>(cipher->begin(), cipher->begin() + 64) ==
        from_hex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
                 "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"));
  CHECK(decrypt_segment(*cipher, k) == plain);
}

TEST_CASE("encryption: every length round-trips, padded to the next block", "[encryption]") {
  const SegmentKey k = nist_key();
  for (const std::size_t size : {0, 1, 15, 16, 17, 188, 188 * 700}) {
    INFO(size);
    const std::vector<std::uint8_t> plain(size, 0x47);
    const auto cipher = encrypt_segment(plain, k);
    REQUIRE(cipher);
    CHECK(cipher->size() == (size / 16 + 1) * 16);
    CHECK(decrypt_segment(*cipher, k) == plain);
  }
}

TEST_CASE("encryption: another key or IV does not give the plaintext back", "[encryption]") {
  const SegmentKey k = nist_key();
  const std::vector<std::uint8_t> plain(std::size_t{188} * 3, 0x47);
  const auto cipher = *encrypt_segment(plain, k);
  SegmentKey other = k;
  other.key[0] ^= 1;
  const auto wrong_key = decrypt_segment(cipher, other);
  CHECK((!wrong_key || *wrong_key != plain));
  other = k;
  other.iv[0] ^= 1;
  const auto wrong_iv = decrypt_segment(cipher, other);  // CBC: only the first block differs
  REQUIRE(wrong_iv);
  CHECK(*wrong_iv != plain);
  CHECK(std::equal(wrong_iv->begin() + 16, wrong_iv->end(), plain.begin() + 16));
}

TEST_CASE("encryption: key URIs carry the key id", "[encryption]") {
  CHECK(key_uri_for("https://keys.example/k/{key_id}", "0a1b") == "https://keys.example/k/0a1b");
  CHECK(key_uri_for("https://keys.example/key", "0a1b") == "https://keys.example/key?key_id=0a1b");
  CHECK(key_uri_for("https://keys.example/key?ch=7", "0a1b") == "https://keys.example/key?ch=7&key_id=0a1b");
  CHECK(key_uri_for("https://keys.example/key#x", "0a1b") == "https://keys.example/key?key_id=0a1b#x");
  CHECK(key_uri_for("/keys/{key_id}.key", "ff") == "/keys/ff.key");
}

TEST_CASE("encryption: EXT-X-KEY attributes", "[encryption]") {
  SegmentKey k = nist_key();
  k.uri = "https://keys.example/k/01";
  CHECK(k.attributes() == "METHOD=AES-128,URI=\"https://keys.example/k/01\",IV=0x000102030405060708090a0b0c0d0e0f");
  CHECK(k.key_hex() == "2b7e151628aed2a6abf7158809cf4f3c");
}

TEST_CASE("key schedule: one key for the whole run without rotation", "[encryption]") {
  KeySchedule keys("k/{key_id}", 0, counting());
  REQUIRE(keys.start());
  const auto made = keys.take_new();
  REQUIRE(made.size() == 1);
  CHECK(made[0].id.size() == 16);
  CHECK(made[0].uri == "k/" + made[0].id);
  CHECK(made[0].first_segment == 0);
  for (std::uint64_t i : {0, 1, 1000}) CHECK(keys.key_for(i)->id == made[0].id);
  CHECK(keys.take_new().empty());
}

TEST_CASE("key schedule: with rotation, each key is made a whole period before it is used", "[encryption]") {
  constexpr std::uint32_t kRotation = 3;
  KeySchedule keys("k", kRotation, counting());
  REQUIRE(keys.start());
  std::set<std::string> announced;
  std::set<std::string> ids;
  std::uint64_t last_first = 0;
  for (const auto& k : keys.take_new()) announced.insert(k.id);
  CHECK(announced.size() == 2);  // the first and the next
  for (std::uint64_t i = 0; i < 20; ++i) {
    const SegmentKey* k = keys.key_for(i);
    REQUIRE(k);
    CHECK(k->first_segment == i / kRotation * kRotation);
    CHECK(announced.count(k->id) == 1);  // known before its segment is written
    ids.insert(k->id);
    // What is made now is for the period after this one.
    for (const auto& made : keys.take_new()) {
      CHECK(made.first_segment >= i + 1);
      CHECK(made.first_segment > last_first);
      last_first = made.first_segment;
      announced.insert(made.id);
    }
  }
  CHECK(ids.size() == 7);  // segments 0..19 in periods of 3
  CHECK(announced.size() == 8);
}

TEST_CASE("key schedule: a failing random generator makes no key", "[encryption]") {
  KeySchedule keys("k", 0, [](std::span<std::uint8_t>) { return false; });
  CHECK(!keys.start());
  CHECK(keys.key_for(0) == nullptr);
  CHECK(keys.take_new().empty());
}

TEST_CASE("system_random fills with bytes that differ between calls", "[encryption]") {
  std::array<std::uint8_t, 16> a{};
  std::array<std::uint8_t, 16> b{};
  REQUIRE(system_random(a));
  REQUIRE(system_random(b));
  CHECK(a != b);
}

TEST_CASE("playlist: EXT-X-KEY before the first segment and wherever the key changes", "[encryption][playlist]") {
  Playlist playlist(1, 3);
  for (const char* key : {"A", "A", "B", "B", "B"}) {
    PlaylistEntry e;
    e.uri = std::string("s") + key;
    e.duration = kSecond;
    e.key = std::string("METHOD=AES-128,URI=\"") + key + "\"";
    playlist.append(e);
  }
  // The window is the last three: B B B; the key in force comes first.
  CHECK(playlist.render() ==
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:2\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-KEY:METHOD=AES-128,URI=\"B\"\n"
        "#EXTINF:1.000,\nsB\n#EXTINF:1.000,\nsB\n#EXTINF:1.000,\nsB\n");
  PlaylistEntry clear;
  clear.uri = "clear";
  clear.duration = kSecond;
  playlist.append(clear);
  CHECK(playlist.render().find("#EXTINF:1.000,\nsB\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:1.000,\nclear\n") !=
        std::string::npos);
}

TEST_CASE("playlist: EXT-X-START and a VOD archive", "[playlist]") {
  Playlist live(2, 6);
  live.set_start_offset(-3'500'000'000);
  CHECK(live.render().find("\n#EXT-X-START:TIME-OFFSET=-3.500\n") != std::string::npos);
  live.set_start_offset(std::int64_t{12} * kSecond);
  CHECK(live.render().find("\n#EXT-X-START:TIME-OFFSET=12.000\n") != std::string::npos);
  live.set_start_offset(std::nullopt);
  CHECK(live.render().find("EXT-X-START") == std::string::npos);

  Playlist archive(2, 0);
  archive.set_vod_when_ended(true);
  CHECK(archive.render().find("#EXT-X-PLAYLIST-TYPE:EVENT\n") != std::string::npos);
  archive.end();
  CHECK(archive.render().find("#EXT-X-PLAYLIST-TYPE:VOD\n") != std::string::npos);
  CHECK(archive.render().find("#EXT-X-ENDLIST\n") != std::string::npos);
  CHECK(format_seconds(-1) == "0.000");  // rounds to zero, which has no sign
  CHECK(format_seconds(-1'000'000'000) == "-1.000");
  CHECK(format_seconds(1'234'567'000) == "1.234567");
}

TEST_CASE("writer: encrypted segments, each key file written before the segment that needs it", "[encryption]") {
  RecordingIo io;
  WriterConfig config = small_writer("");
  config.encryption =
      WriterConfig::Encryption{.key_uri = "https://k/{key_id}", .rotation = 2, .key_location = "keys/{key_id}"};
  auto writer = HlsWriter::create(config, io);
  REQUIRE(writer);
  REQUIRE(!writer->start());
  std::vector<SegmentKey> keys = writer->take_new_keys();
  REQUIRE(keys.size() == 2);
  for (int i = 0; i < 6; ++i) {
    const Segment s = segment(10, static_cast<std::uint8_t>(i));
    REQUIRE(!writer->add(s));
    for (auto& k : writer->take_new_keys()) keys.push_back(std::move(k));
    // Segment i's key, as the playlist names it, was taken before it was listed.
    const SegmentKey& key = keys[i / 2];
    CHECK(key.first_segment == static_cast<std::uint64_t>(i / 2 * 2));
    const std::string path = "s" + std::to_string(i) + ".ts";
    CHECK(io.contents.at(path) != s.bytes);
    CHECK(decrypt_segment(io.contents.at(path), key) == s.bytes);
    CHECK(io.contents.at("keys/" + key.id) == std::vector<std::uint8_t>(key.key.begin(), key.key.end()));
    CHECK(writer->playlist().render().find("#EXT-X-KEY:" + key.attributes() + "\n") != std::string::npos);
  }
  // Every key file was written before the first segment it encrypts.
  for (const SegmentKey& key : keys) {
    const auto file =
        std::find_if(io.calls.begin(), io.calls.end(), [&](const Call& c) { return c.path == "keys/" + key.id; });
    const auto first = std::find_if(io.calls.begin(), io.calls.end(), [&](const Call& c) {
      return c.path == "s" + std::to_string(key.first_segment) + ".ts";
    });
    REQUIRE(file != io.calls.end());
    CHECK(file < first);
  }
}

TEST_CASE("writer: the archive playlist keeps every segment, and nothing is deleted", "[hls-writer]") {
  RecordingIo io;
  WriterConfig config = small_writer("out/");
  config.start_offset = -2 * kSecond;
  config.archive_playlist_location = "out/archive.m3u8";
  auto writer = HlsWriter::create(config, io);
  REQUIRE(writer);
  REQUIRE(!writer->start());
  for (int i = 0; i < 40; ++i) REQUIRE(!writer->add(segment(1, 0)));
  CHECK(io.of(Op::kRemove).empty());
  CHECK(writer->playlist().entries().size() == 3);
  CHECK(writer->playlist().render().find("#EXT-X-START:TIME-OFFSET=-2.000\n") != std::string::npos);
  // Written whole with the first segment, then each segment appended: the
  // same text a whole rewrite would give, without rewriting it.
  const auto whole = io.of(Op::kPlaylist);
  CHECK(std::count_if(whole.begin(), whole.end(), [](const Call& c) { return c.path == "out/archive.m3u8"; }) == 1);
  CHECK(io.of(Op::kAppend).size() == 39);
  const auto first =
      std::find_if(whole.begin(), whole.end(), [](const Call& c) { return c.path == "out/archive.m3u8"; });
  CHECK(first->text + io.appended["out/archive.m3u8"] == writer->archive()->render());
  REQUIRE(!writer->end());
  const std::string archive = io.of(Op::kPlaylist).back().text;
  CHECK(io.of(Op::kPlaylist).back().path == "out/archive.m3u8");
  CHECK(archive.find("#EXT-X-PLAYLIST-TYPE:VOD\n") != std::string::npos);
  CHECK(archive.find("#EXT-X-MEDIA-SEQUENCE:0\n") != std::string::npos);
  CHECK(archive.find("#EXTINF:1.000,\ns0.ts\n") != std::string::npos);
  CHECK(archive.find("#EXTINF:1.000,\ns39.ts\n#EXT-X-ENDLIST\n") != std::string::npos);
  CHECK(archive.find("EXT-X-START") == std::string::npos);  // a VOD plays from its start
  for (int i = 0; i < 40; ++i) CHECK(io.disk.count("out/s" + std::to_string(i) + ".ts") == 1);
}
