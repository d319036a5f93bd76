// The small pieces of the launcher's core: a channel's lifecycle and its
// restart back-off (lifecycle.hpp), the Prometheus text (figures.hpp), ids,
// tokens and RTP ports (ids.hpp), which files an HLS request may read
// (http_paths.hpp), and atomic file writes (files.hpp, on a real file
// system in a fresh folder under $TMPDIR or /tmp).
#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "figures.hpp"
#include "files.hpp"
#include "http_paths.hpp"
#include "ids.hpp"
#include "lifecycle.hpp"

using namespace nagare::launcher;

namespace {

constexpr std::int64_t kSecond = 1'000'000;  // lifecycle times are microseconds

using Action = Lifecycle::Action;

using nagare::test::TempDir;

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

// --- Lifecycle -----------------------------------------------------------

TEST_CASE("lifecycle: waiting, live, idle, live again", "[lifecycle]") {
  Lifecycle l(15 * kSecond);
  CHECK(l.state() == ChannelState::kWaiting);
  CHECK(l.tick(1 * kSecond, 0) == Action::kNone);
  CHECK(l.state() == ChannelState::kWaiting);

  // The first packet starts the broadcast.
  CHECK(l.tick(2 * kSecond, 2 * kSecond - 100'000) == Action::kBroadcastStarted);
  CHECK(l.state() == ChannelState::kLive);
  CHECK(l.tick(3 * kSecond, 3 * kSecond - 20'000) == Action::kNone);
  CHECK(l.state() == ChannelState::kLive);

  // Idle after exactly kIdleAfter without a packet, not a microsecond before.
  const std::int64_t last = 3 * kSecond;
  CHECK(l.tick(last + Lifecycle::kIdleAfter - 1, last) == Action::kNone);
  CHECK(l.state() == ChannelState::kLive);
  CHECK(l.tick(last + Lifecycle::kIdleAfter, last) == Action::kNone);
  CHECK(l.state() == ChannelState::kIdle);

  // Packets again: live, same broadcast.
  CHECK(l.tick(6 * kSecond, 6 * kSecond - 10'000) == Action::kNone);
  CHECK(l.state() == ChannelState::kLive);
}

TEST_CASE("lifecycle: idle ends the broadcast after idle_timeout, then new packets start the next", "[lifecycle]") {
  Lifecycle l(15 * kSecond);
  const std::int64_t last = 10 * kSecond;
  REQUIRE(l.tick(last, last) == Action::kBroadcastStarted);
  REQUIRE(l.tick(last + 3 * kSecond, last) == Action::kNone);
  REQUIRE(l.state() == ChannelState::kIdle);
  for (std::int64_t t = last + 4 * kSecond; t < last + 15 * kSecond; t += kSecond / 2) {
    INFO(t);
    CHECK(l.tick(t, last) == Action::kNone);
    CHECK(l.state() == ChannelState::kIdle);
  }
  CHECK(l.tick(last + 15 * kSecond - 1, last) == Action::kNone);
  CHECK(l.tick(last + 15 * kSecond, last) == Action::kEndBroadcast);

  // The channel starts a new pipeline that listens after the broadcast.
  l.listening(true);
  CHECK(l.state() == ChannelState::kEnded);
  CHECK(l.tick(last + 16 * kSecond, 0) == Action::kNone);
  CHECK(l.state() == ChannelState::kEnded);
  CHECK(l.tick(last + 60 * kSecond, 0) == Action::kNone);  // ended stays ended, however long
  CHECK(l.state() == ChannelState::kEnded);
  const std::int64_t again = last + 61 * kSecond;
  CHECK(l.tick(again, again - 5'000) == Action::kBroadcastStarted);
  CHECK(l.state() == ChannelState::kLive);

  // A live channel never ends, whatever the timeout.
  Lifecycle short_timeout(1 * kSecond);
  REQUIRE(short_timeout.tick(kSecond, kSecond) == Action::kBroadcastStarted);
  for (std::int64_t t = kSecond; t < 100 * kSecond; t += kSecond) {
    CHECK(short_timeout.tick(t, t - 1000) == Action::kNone);
  }
  CHECK(short_timeout.state() == ChannelState::kLive);
}

TEST_CASE("lifecycle: waiting never ends without a packet", "[lifecycle]") {
  Lifecycle l(1 * kSecond);
  for (std::int64_t t = 0; t < 60 * kSecond; t += kSecond) CHECK(l.tick(t, 0) == Action::kNone);
  CHECK(l.state() == ChannelState::kWaiting);
  // A new listener before any broadcast waits again.
  l.listening(false);
  CHECK(l.state() == ChannelState::kWaiting);
}

TEST_CASE("lifecycle: restarting ignores ticks until the new pipeline listens", "[lifecycle]") {
  Lifecycle l(15 * kSecond);
  REQUIRE(l.tick(kSecond, kSecond) == Action::kBroadcastStarted);
  l.restarting();
  CHECK(l.state() == ChannelState::kRestarting);
  CHECK(l.tick(2 * kSecond, 2 * kSecond) == Action::kNone);
  CHECK(l.tick(30 * kSecond, kSecond) == Action::kNone);  // long silence: no end either
  CHECK(l.state() == ChannelState::kRestarting);
  l.listening(false);
  CHECK(l.state() == ChannelState::kWaiting);
  CHECK(l.tick(31 * kSecond, 31 * kSecond) == Action::kBroadcastStarted);
  CHECK(l.state() == ChannelState::kLive);
}

TEST_CASE("lifecycle: state names", "[lifecycle]") {
  CHECK(to_string(ChannelState::kWaiting) == "waiting");
  CHECK(to_string(ChannelState::kLive) == "live");
  CHECK(to_string(ChannelState::kIdle) == "idle");
  CHECK(to_string(ChannelState::kEnded) == "ended");
  CHECK(to_string(ChannelState::kRestarting) == "restarting");
}

// --- Backoff -------------------------------------------------------------

TEST_CASE("backoff: 1, 2, 4, 8, 16, 30, 30 s, back to 1 s after a healthy run", "[lifecycle]") {
  Backoff b;
  std::int64_t now = 100 * kSecond;
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 7; ++i) {
    const std::int64_t started = now;
    now += 5 * kSecond;  // each pipeline fails quickly
    delays.push_back(b.next(started, now));
  }
  CHECK(delays == std::vector<std::int64_t>{1 * kSecond, 2 * kSecond, 4 * kSecond, 8 * kSecond, 16 * kSecond,
                                            30 * kSecond, 30 * kSecond});

  // Just short of healthy: still 30 s.
  CHECK(b.next(now, now + Backoff::kHealthy - 1) == 30 * kSecond);
  // A run of kHealthy: the next failure waits 1 s, and the doubling starts over.
  now += 200 * kSecond;
  CHECK(b.next(now, now + Backoff::kHealthy) == 1 * kSecond);
  CHECK(b.next(now, now + kSecond) == 2 * kSecond);
  CHECK(b.next(now, now + kSecond) == 4 * kSecond);
}

// --- render_metrics --------------------------------------------------------

TEST_CASE("metrics: Prometheus text format", "[figures]") {
  LabelledFigures a;
  a.playback_id = "0123456789abcdef";
  a.figures.state = ChannelState::kLive;
  a.figures.broadcast = 3;
  a.figures.bytes_in = 123456789;
  a.figures.packets_in = 98765;
  a.figures.packets_lost = 12;
  a.figures.av_offset_ns = -40'000'000;
  a.figures.latency_ns = 500'000'000;
  a.figures.restarts = 2;
  a.figures.renditions = {{41, 29.97}, {40, 15}};
  LabelledFigures b;
  b.playback_id = "fedcba9876543210";
  b.figures.renditions = {{0, 0}};
  const std::string text = render_metrics({a, b});
  INFO(text);
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');

  // Each family: one HELP, then one TYPE, then its samples, and no family
  // twice (the format requires a family's lines to be together).
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (-?[0-9.e+-]+))");
  std::map<std::string, std::string> types;
  std::map<std::string, std::map<std::string, std::string>> samples;  // family → labels → value
  std::string current;
  bool expect_type = false;
  for (const std::string& line : lines_of(text)) {
    INFO(line);
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      CHECK_FALSE(expect_type);
      CHECK(types.count(m[1].str()) == 0);
      current = m[1].str();
      expect_type = true;
    } else if (std::regex_match(line, m, type)) {
      CHECK(expect_type);
      CHECK(m[1] == current);
      types[m[1].str()] = m[2].str();
      expect_type = false;
    } else {
      REQUIRE(std::regex_match(line, m, sample));
      CHECK_FALSE(expect_type);
      CHECK(m[1] == current);  // a sample belongs to the family just declared
      CHECK(samples[m[1].str()].count(m[2].str()) == 0);
      samples[m[1].str()][m[2].str()] = m[4].str();
    }
  }

  const std::map<std::string, std::string> expected_types = {
      {"nagare_channels", "gauge"},
      {"nagare_channel_state", "gauge"},
      {"nagare_input_bytes_total", "counter"},
      {"nagare_input_packets_total", "counter"},
      {"nagare_input_packets_lost_total", "counter"},
      {"nagare_av_offset_seconds", "gauge"},
      {"nagare_latency_seconds", "gauge"},
      {"nagare_restarts_total", "counter"},
      {"nagare_broadcast", "gauge"},
      {"nagare_segments_total", "counter"},
      {"nagare_encoder_fps", "gauge"},
  };
  CHECK(types == expected_types);
  for (const auto& [name, kind] : types) {
    // Prometheus naming: counters, and only counters, end in _total.
    const bool total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
    CHECK(total == (kind == "counter"));
  }

  const std::string la = "{channel=\"0123456789abcdef\"}";
  const std::string lb = "{channel=\"fedcba9876543210\"}";
  CHECK(samples["nagare_channels"] == std::map<std::string, std::string>{{"", "2"}});
  CHECK(samples["nagare_input_bytes_total"] == std::map<std::string, std::string>{{la, "123456789"}, {lb, "0"}});
  CHECK(samples["nagare_input_packets_total"][la] == "98765");
  CHECK(samples["nagare_input_packets_lost_total"][la] == "12");
  CHECK(samples["nagare_av_offset_seconds"][la] == "-0.04");
  CHECK(samples["nagare_latency_seconds"][la] == "0.5");
  CHECK(samples["nagare_restarts_total"][la] == "2");
  CHECK(samples["nagare_broadcast"][la] == "3");
  CHECK(samples["nagare_broadcast"][lb] == "0");

  // One-hot state: every state of every channel, 1 for the one it is in.
  const auto& state = samples["nagare_channel_state"];
  CHECK(state.size() == 10);
  for (const char* s : {"waiting", "live", "idle", "ended", "restarting"}) {
    const std::string ka = R"({channel="0123456789abcdef",state=")" + std::string(s) + "\"}";
    const std::string kb = R"({channel="fedcba9876543210",state=")" + std::string(s) + "\"}";
    REQUIRE(state.count(ka));
    REQUIRE(state.count(kb));
    CHECK(state.at(ka) == (std::string(s) == "live" ? "1" : "0"));
    CHECK(state.at(kb) == (std::string(s) == "waiting" ? "1" : "0"));
  }

  // Per rendition, labelled with its number.
  CHECK(samples["nagare_segments_total"] ==
        std::map<std::string, std::string>{{"{channel=\"0123456789abcdef\",rendition=\"0\"}", "41"},
                                           {"{channel=\"0123456789abcdef\",rendition=\"1\"}", "40"},
                                           {"{channel=\"fedcba9876543210\",rendition=\"0\"}", "0"}});
  CHECK(samples["nagare_encoder_fps"]["{channel=\"0123456789abcdef\",rendition=\"0\"}"] == "29.97");
  CHECK(samples["nagare_encoder_fps"]["{channel=\"0123456789abcdef\",rendition=\"1\"}"] == "15");
}

TEST_CASE("metrics: no channels", "[figures]") {
  const std::string text = render_metrics({});
  // Families are still declared, so dashboards see them before any channel.
  CHECK(text.find("nagare_channels 0\n") != std::string::npos);
  CHECK(text.find("# TYPE nagare_input_bytes_total counter\n") != std::string::npos);
  CHECK(text.find('{') == std::string::npos);
}

// --- ids -------------------------------------------------------------------

TEST_CASE("ids: random_hex", "[ids]") {
  CHECK(random_hex(0).empty());
  for (std::size_t bytes : {1u, 8u, 16u, 32u}) {
    const std::string id = random_hex(bytes);
    CHECK(id.size() == bytes * 2);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(is_hex_id(id, bytes));
  }
  // 1000 ids of 16 bytes: no repeats, and every digit shows up (a broken
  // conversion that never produces, say, 'f' would pass the charset check).
  std::set<std::string> seen;
  std::set<char> digits;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = random_hex(16);
    seen.insert(id);
    digits.insert(id.begin(), id.end());
  }
  CHECK(seen.size() == 1000);
  CHECK(digits.size() == 16);
}

TEST_CASE("ids: is_hex_id", "[ids]") {
  CHECK(is_hex_id("0123456789abcdef", 8));
  CHECK(is_hex_id("", 0));
  CHECK_FALSE(is_hex_id("0123456789abcdef", 16));  // wrong length
  CHECK_FALSE(is_hex_id("0123456789abcde", 8));
  CHECK_FALSE(is_hex_id("0123456789abcdef0", 8));
  CHECK_FALSE(is_hex_id("0123456789ABCDEF", 8));  // random_hex writes lowercase
  CHECK_FALSE(is_hex_id("0123456789abcdeg", 8));
  CHECK_FALSE(is_hex_id("../../etc/passwd", 8));
  CHECK_FALSE(is_hex_id(std::string("01234567\0abcdef0", 16), 8));
  CHECK_FALSE(is_hex_id("01234567 abcdef0", 8));
}

TEST_CASE("ids: constant_time_equal", "[ids]") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("secret-token", "secret-token"));
  CHECK_FALSE(constant_time_equal("secret-token", "secret-tokeN"));
  CHECK_FALSE(constant_time_equal("secret-token", "Secret-token"));
  CHECK_FALSE(constant_time_equal("secret-token", "secret-toke"));
  CHECK_FALSE(constant_time_equal("secret-token", "secret-token "));
  CHECK_FALSE(constant_time_equal("secret", ""));
  CHECK_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
  CHECK(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  // Every single-bit difference is seen.
  const std::string token = random_hex(16);
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string other = token;
      other[i] = static_cast<char>(other[i] ^ (1 << bit));
      CHECK_FALSE(constant_time_equal(token, other));
    }
  }
}

// --- PortPool --------------------------------------------------------------

TEST_CASE("ports: even video ports, audio on the next, until the range is used up", "[ids]") {
  PortPool pool(20000, 20009);
  const auto any = [](std::uint16_t, std::uint16_t) { return true; };
  std::vector<std::pair<std::uint16_t, std::uint16_t>> taken;
  while (auto pair = pool.take(any)) taken.push_back(*pair);
  CHECK(taken == std::vector<std::pair<std::uint16_t, std::uint16_t>>{
                     {20000, 20001}, {20002, 20003}, {20004, 20005}, {20006, 20007}, {20008, 20009}});
  CHECK_FALSE(pool.take(any));

  // Given back, a pair is the first free one again.
  pool.give_back(20004);
  const auto again = pool.take(any);
  REQUIRE(again);
  CHECK(*again == std::pair<std::uint16_t, std::uint16_t>{20004, 20005});
  CHECK_FALSE(pool.take(any));
}

TEST_CASE("ports: an odd low end and a pair cut by the high end", "[ids]") {
  const auto any = [](std::uint16_t, std::uint16_t) { return true; };
  PortPool odd(20001, 20010);  // 20001 and 20010 cannot be in a pair
  std::vector<std::uint16_t> videos;
  while (auto pair = odd.take(any)) {
    CHECK(pair->first % 2 == 0);
    CHECK(pair->second == pair->first + 1);
    CHECK(pair->first >= 20001);
    CHECK(pair->second <= 20010);
    videos.push_back(pair->first);
  }
  CHECK(videos == std::vector<std::uint16_t>{20002, 20004, 20006, 20008});

  // The very top of the port space, without overflowing.
  PortPool top(65534, 65535);
  const auto pair = top.take(any);
  REQUIRE(pair);
  CHECK(*pair == std::pair<std::uint16_t, std::uint16_t>{65534, 65535});
  CHECK_FALSE(top.take(any));
  PortPool none(65535, 65535);
  CHECK_FALSE(none.take(any));
  PortPool single(20000, 20000);
  CHECK_FALSE(single.take(any));
}

TEST_CASE("ports: pairs that usable() refuses are skipped, not used up", "[ids]") {
  PortPool pool(20000, 20007);
  std::vector<std::pair<std::uint16_t, std::uint16_t>> asked;
  // Something else holds 20002/20003 and 20004.
  std::set<std::uint16_t> busy = {20002, 20003, 20004};
  const auto usable = [&](std::uint16_t v, std::uint16_t a) {
    asked.emplace_back(v, a);
    return !busy.count(v) && !busy.count(a);
  };
  const auto first = pool.take(usable);
  REQUIRE(first);
  CHECK(first->first == 20000);
  asked.clear();
  const auto second = pool.take(usable);
  REQUIRE(second);
  CHECK(second->first == 20006);
  // 20000 is ours already and not asked about again; the busy ones were.
  CHECK(asked == std::vector<std::pair<std::uint16_t, std::uint16_t>>{{20002, 20003}, {20004, 20005}, {20006, 20007}});
  CHECK_FALSE(pool.take(usable));

  // Once the other holder lets go, the skipped pairs are there.
  busy.clear();
  const auto third = pool.take(usable);
  REQUIRE(third);
  CHECK(third->first == 20002);
}

// --- safe_relative_path / headers_for ---------------------------------------

TEST_CASE("http paths: accepted", "[http_paths]") {
  CHECK(safe_relative_path("index.m3u8") == "index.m3u8");
  CHECK(safe_relative_path("0/index.m3u8") == "0/index.m3u8");
  CHECK(safe_relative_path("0/b1-00001.ts") == "0/b1-00001.ts");
  CHECK(safe_relative_path("7/b12-99999.ts") == "7/b12-99999.ts");
  CHECK(safe_relative_path("thumbnail.jpg") == "thumbnail.jpg");
  CHECK(safe_relative_path("A_Z-0.9") == "A_Z-0.9");
  // Percent-encoded safe characters are decoded, in either case of hex.
  CHECK(safe_relative_path("index%2Em3u8") == "index.m3u8");
  CHECK(safe_relative_path("%30/b1-00001.ts") == "0/b1-00001.ts");
  CHECK(safe_relative_path("a%5fb%2d") == "a_b-");
  CHECK(safe_relative_path("x%41") == "xA");
  CHECK(safe_relative_path("a..b") == "a..b");  // dots inside a name are fine
}

TEST_CASE("http paths: refused", "[http_paths]") {
  const std::vector<std::string> refused = {"..",
                                            "../x",
                                            "%2e%2e/x",
                                            "%2E%2e",
                                            "%2e%2E",
                                            "a%2fb",
                                            "a%2Fb",
                                            "0/../x",
                                            "0/..",
                                            ".hidden",
                                            "0/.hidden",
                                            "%2ehidden",
                                            "a/b/c",
                                            "0/1/index.m3u8",
                                            "",
                                            "/",
                                            "/index.m3u8",
                                            "0/",
                                            "a//b",
                                            "%",
                                            "%4",
                                            "a%",
                                            "%zz",
                                            "%g0",
                                            "%0g",
                                            std::string("a\0b", 3),
                                            "%00",
                                            "a\\b",
                                            "a%5cb",
                                            "..\\x",
                                            "a b",
                                            "a%20b",
                                            " index.m3u8",
                                            "index.m3u8 ",
                                            "a+b",
                                            "a?b",
                                            "a#b",
                                            "a:b",
                                            "~",
                                            "a\nb",
                                            "caf\xc3\xa9",
                                            "caf%C3%A9",
                                            ".",
                                            "./x",
                                            "%2e/x",
                                            "%2e"};
  for (const std::string& path : refused) {
    INFO('"' << path << '"');
    CHECK_FALSE(safe_relative_path(path));
  }
}

TEST_CASE("http paths: headers_for", "[http_paths]") {
  const auto check = [](const char* name, const char* type, const char* cache) {
    INFO(name);
    const FileHeaders h = headers_for(name);
    CHECK(std::string(h.content_type) == type);
    CHECK(std::string(h.cache_control) == cache);
  };
  check("index.m3u8", "application/vnd.apple.mpegurl", "public, max-age=1");
  check("0/index.m3u8", "application/vnd.apple.mpegurl", "public, max-age=1");
  check("0/b1-00001.ts", "video/mp2t", "public, max-age=31536000, immutable");
  check("thumbnail.jpg", "image/jpeg", "no-cache");
  check("notes.txt", "application/octet-stream", "no-cache");
  check("ts", "application/octet-stream", "no-cache");
  check("index.m3u8.tmp", "application/octet-stream", "no-cache");  // a file half written never looks like a playlist
  check("x.tsx", "application/octet-stream", "no-cache");
  check("", "application/octet-stream", "no-cache");
}

// --- files -----------------------------------------------------------------

TEST_CASE("files: make_dirs", "[files]") {
  TempDir dir;
  CHECK(make_dirs(dir / "a/b/c") == 0);
  CHECK(is_dir(dir / "a"));
  CHECK(is_dir(dir / "a/b/c"));
  CHECK(make_dirs(dir / "a/b/c") == 0);  // already there
  CHECK(make_dirs(dir / "a/b") == 0);
  CHECK(make_dirs(dir / "x/y/") == 0);
  CHECK(is_dir(dir / "x/y"));
  CHECK(make_dirs(dir.path()) == 0);

  REQUIRE(write_file_atomically(dir / "file", "x") == 0);
  CHECK(make_dirs(dir / "file") == ENOTDIR);
  CHECK(make_dirs(dir / "file/sub") == ENOTDIR);
}

TEST_CASE("files: write_file_atomically and read_file", "[files]") {
  TempDir dir;
  const std::string path = dir / "index.m3u8";
  CHECK_FALSE(read_file(path));

  CHECK(write_file_atomically(path, "#EXTM3U\n") == 0);
  CHECK(read_file(path) == "#EXTM3U\n");
  // Replaced whole, by a shorter text too.
  CHECK(write_file_atomically(path, "#EXTM3U\n#EXT-X-VERSION:3\n") == 0);
  CHECK(read_file(path) == "#EXTM3U\n#EXT-X-VERSION:3\n");
  CHECK(write_file_atomically(path, "x") == 0);
  CHECK(read_file(path) == "x");
  CHECK(write_file_atomically(path, "") == 0);
  CHECK(read_file(path) == "");

  // Bytes as they are, NULs and all.
  std::string binary;
  for (int i = 0; i < 70000; ++i) binary += static_cast<char>(i * 7 % 256);
  CHECK(write_file_atomically(path, binary) == 0);
  CHECK(read_file(path) == binary);

  // No temporary file is left behind.
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    names.insert(entry.path().filename().string());
  CHECK(names == std::set<std::string>{"index.m3u8"});

  // Into a folder that does not exist: the errno, and nothing written.
  CHECK(write_file_atomically(dir / "missing/index.m3u8", "x") == ENOENT);
  CHECK_FALSE(read_file(dir / "missing/index.m3u8"));
}

TEST_CASE("files: a reader sees the old file or the new one, never a mix", "[files]") {
  TempDir dir;
  const std::string path = dir / "index.m3u8";
  const std::string a(std::size_t{256} * 1024, 'a');
  const std::string b(std::size_t{300} * 1024, 'b');
  REQUIRE(write_file_atomically(path, a) == 0);
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done) {
      const auto text = read_file(path);
      // The rename may be between our open and our read: the file we opened
      // is still whole. A missing file would be a gap in the replacement.
      if (!text || (*text != a && *text != b)) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 200; ++i) REQUIRE(write_file_atomically(path, i % 2 ? a : b) == 0);
  done = true;
  reader.join();
  INFO(reads.load() << " reads");
  CHECK(torn == 0);
  CHECK(reads > 0);
}
