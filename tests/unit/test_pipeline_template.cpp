// PipelineTemplate, substitute and expand (launcher/pipeline_template.hpp):
// the sections of a description file, the placeholders, and the text a
// channel's pipeline is launched from. expand() runs against the real
// pipelines/cpu.pipeline and pipelines/gpu.pipeline of the source tree
// (NAGARE_SOURCE_ROOT, set by meson), and is checked on its text alone: no
// GStreamer here.
#include <catch2/catch.hpp>

#include <cstddef>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "channel_config.hpp"
#include "pipeline_template.hpp"

using namespace nagare::launcher;

namespace {

std::string source_file(const std::string& relative) {
  const std::string path = std::string(NAGARE_SOURCE_ROOT) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

PipelineTemplate real(const char* name) {
  std::string error;
  auto t = PipelineTemplate::parse(source_file(std::string("pipelines/") + name), &error);
  INFO(error);
  REQUIRE(t);
  return *t;
}

std::string parse_error(const std::string& text) {
  std::string error;
  const auto t = PipelineTemplate::parse(text, &error);
  INFO(text);
  REQUIRE_FALSE(t);
  return error;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// The one line of `text` holding `needle` (each element chain of the
// description is one line).
std::string line_with(const std::string& text, const std::string& needle) {
  INFO(needle);
  REQUIRE(count(text, needle) == 1);
  const auto at = text.find(needle);
  const auto start = text.rfind('\n', at);
  const auto begin = start == std::string::npos ? 0 : start + 1;
  return text.substr(begin, text.find('\n', at) - begin);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Rendition transcoded(int width, int height, int fps, std::int64_t bps, AudioSpec audio = {}) {
  Rendition r;
  r.video = {width, height, fps, bps, false};
  r.audio = audio;
  return r;
}

Rendition passthrough(AudioSpec audio = {}) {
  Rendition r;
  r.video.passthrough = true;
  r.audio = audio;
  return r;
}

ChannelConfig channel(std::vector<Rendition> hls) {
  ChannelConfig c;
  c.hls = std::move(hls);
  c.input.video_port = 5004;
  c.input.audio_port = 5005;
  return c;
}

std::string expanded(const PipelineTemplate& t, const ChannelConfig& c,
                     const OutputPlan& out = {"/srv/ch", 1, "", ""}) {
  std::string error;
  const auto text = expand(t, c, out, &error);
  INFO(error);
  REQUIRE(text);
  CHECK(text->find("${") == std::string::npos);
  return *text;
}

std::string expand_error(const PipelineTemplate& t, const ChannelConfig& c,
                         const OutputPlan& out = {"/srv/ch", 1, "", ""}) {
  std::string error;
  const auto text = expand(t, c, out, &error);
  REQUIRE_FALSE(text);
  return error;
}

const char* const kMinimal =
    "[input]\nin\n"
    "[audio-mp3]\nmp3 ${a}\n"
    "[output]\nout ${n}\n";

}  // namespace

TEST_CASE("pipeline template: sections, comments and blank lines", "[pipeline_template]") {
  std::string error;
  const auto t = PipelineTemplate::parse(
      "# a comment before any section\n"
      "\n"
      "[input]\n"
      "  udpsrc ! fakesink   \n"
      "    # an indented comment\n"
      "tee name=video_in # not a comment: '#' only starts a line\n"
      "\n"
      "[audio-mp3]\r\n"
      "lamemp3enc\r\n"
      "[output]\n"
      "nagarehlssink",  // the last line needs no newline
      &error);
  INFO(error);
  REQUIRE(t);
  CHECK(t->has("input"));
  CHECK(t->has("audio-mp3"));
  CHECK(t->has("output"));
  CHECK_FALSE(t->has("decode"));
  CHECK_FALSE(t->has("thumbnail"));
  // Lines are trimmed and each ends in one newline.
  CHECK(t->section("input") == "udpsrc ! fakesink\ntee name=video_in # not a comment: '#' only starts a line\n");
  CHECK(t->section("audio-mp3") == "lamemp3enc\n");
  CHECK(t->section("output") == "nagarehlssink\n");
}

TEST_CASE("pipeline template: every known section may appear, once", "[pipeline_template]") {
  std::string error;
  const auto t = PipelineTemplate::parse(
      "[input]\na\n[decode]\nb\n[rendition]\nc\n[passthrough]\nd\n[audio-mp3]\ne\n[audio-aac]\nf\n[output]\ng\n"
      "[thumbnail]\nh\n",
      &error);
  INFO(error);
  REQUIRE(t);
  for (const char* s :
       {"input", "decode", "rendition", "passthrough", "audio-mp3", "audio-aac", "output", "thumbnail"}) {
    CHECK(t->has(s));
  }
  // A section may be empty.
  CHECK(PipelineTemplate::parse("[input]\n[audio-mp3]\n[output]\n", &error));
}

TEST_CASE("pipeline template: refused descriptions", "[pipeline_template]") {
  CHECK(parse_error("[input]\na\n[video]\nb\n[audio-mp3]\n[output]\n") == "line 3: unknown section [video]");
  CHECK(parse_error("[input]\n[Input]\n") == "line 2: unknown section [Input]");
  CHECK(parse_error("[]\n") == "line 1: unknown section []");
  CHECK(parse_error("[input]\na\n[audio-mp3]\nb\n\n[input]\nc\n[output]\n") == "line 6: section [input] appears twice");
  CHECK(parse_error("udpsrc ! fakesink\n[input]\n[audio-mp3]\n[output]\n") ==
        "line 1: text before the first [section]");
  CHECK(parse_error("# fine\n\nudpsrc\n[input]\n") == "line 3: text before the first [section]");
  CHECK(parse_error("[audio-mp3]\n[output]\n") == "section [input] is missing");
  CHECK(parse_error("[input]\n[audio-mp3]\n") == "section [output] is missing");
  CHECK(parse_error("[input]\n[output]\n[audio-aac]\n") == "section [audio-mp3] is missing");
  CHECK(parse_error("") == "section [input] is missing");
}

TEST_CASE("pipeline template: substitute", "[pipeline_template]") {
  const Placeholders values = {{"x", "1"}, {"name", "video_src"}, {"loop", "${x}"}, {"empty", ""}};
  std::string error;
  CHECK(substitute("${x}", values, &error) == "1");
  CHECK(substitute("a=${x} b=${name}!", values, &error) == "a=1 b=video_src!");
  CHECK(substitute("${x}${x}${empty}${x}", values, &error) == "111");
  CHECK(substitute("no placeholders", values, &error) == "no placeholders");
  CHECK(substitute("", values, &error) == "");
  CHECK(substitute("$$", values, &error) == "$");
  CHECK(substitute("$${x}", values, &error) == "${x}");  // an escaped dollar starts no placeholder
  CHECK(substitute("$$$${x}", values, &error) == "$${x}");
  CHECK(substitute("$$${x}", values, &error) == "$1");
  // A dollar not followed by '{' or '$' is just a dollar.
  CHECK(substitute("cost $5", values, &error) == "cost $5");
  CHECK(substitute("end $", values, &error) == "end $");
  // Values go in as they are, never expanded again.
  CHECK(substitute("${loop}", values, &error) == "${x}");

  CHECK_FALSE(substitute("a ${nope} b", values, &error));
  CHECK(error == "unknown placeholder ${nope}");
  CHECK_FALSE(substitute("${X}", values, &error));
  CHECK(error == "unknown placeholder ${X}");
  CHECK_FALSE(substitute("${}", values, &error));
  CHECK(error == "unknown placeholder ${}");
  CHECK_FALSE(substitute("ab${x", values, &error));
  CHECK(error == "unterminated ${ at offset 2");
  CHECK_FALSE(substitute("${x} ${", values, &error));
  CHECK(error == "unterminated ${ at offset 5");
}

TEST_CASE("pipeline template: the real descriptions parse with every section", "[pipeline_template]") {
  for (const char* name : {"cpu.pipeline", "gpu.pipeline"}) {
    INFO(name);
    const PipelineTemplate t = real(name);
    for (const char* s :
         {"input", "decode", "rendition", "passthrough", "audio-mp3", "audio-aac", "output", "thumbnail"}) {
      CHECK(t.has(s));
    }
  }
}

TEST_CASE("pipeline template: two transcoded renditions share one decoder and one audio encoder",
          "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  const ChannelConfig c = channel({transcoded(1280, 720, 30, 2'500'000), transcoded(640, 360, 30, 800'000)});
  const std::string text = expanded(cpu, c);

  CHECK(count(text, "udpsrc ") == 2);
  CHECK(count(text, "nagarealign ") == 1);
  CHECK(count(text, "avdec_h264") == 1);
  CHECK(count(text, "tee name=video_raw") == 1);
  CHECK(count(text, "x264enc ") == 2);
  CHECK(count(text, "x264enc name=venc0 ") == 1);
  CHECK(count(text, "x264enc name=venc1 ") == 1);
  CHECK(count(text, "width=1280,height=720,") == 1);
  CHECK(count(text, "width=640,height=360,") == 1);
  CHECK(count(text, " bitrate=2500 ") == 1);
  CHECK(count(text, " bitrate=800 ") == 1);
  CHECK(count(text, "videorate drop-only=true max-rate=30 ") == 2);
  CHECK(count(text, "! hls0.video") == 1);
  CHECK(count(text, "! hls1.video") == 1);

  // Both renditions take the same 64 kb/s MP3.
  CHECK(count(text, "lamemp3enc ") == 1);
  CHECK(count(text, "bitrate=64 ") == 1);
  CHECK(count(text, "tee name=audio0") == 1);
  CHECK(count(text, "audio1") == 0);
  CHECK(count(text, "audio0. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! hls0.audio") == 1);
  CHECK(count(text, "audio0. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! hls1.audio") == 1);
  CHECK(count(text, "nagarehlssink name=hls0 ") == 1);
  CHECK(count(text, "nagarehlssink name=hls1 ") == 1);
  CHECK(count(text, "appsink name=thumbnail") == 1);

  // Sections in the documented order: input, decode, renditions, audio,
  // outputs, thumbnail.
  const auto input = text.find("nagarealign");
  const auto decode = text.find("avdec_h264");
  const auto venc0 = text.find("venc0");
  const auto venc1 = text.find("venc1");
  const auto mp3 = text.find("lamemp3enc");
  const auto hls0 = text.find("nagarehlssink name=hls0");
  const auto hls1 = text.find("nagarehlssink name=hls1");
  const auto thumbnail = text.find("appsink name=thumbnail");
  CHECK(input < decode);
  CHECK(decode < venc0);
  CHECK(venc0 < venc1);
  CHECK(venc1 < mp3);
  CHECK(mp3 < hls0);
  CHECK(hls0 < hls1);
  CHECK(hls1 < thumbnail);
}

TEST_CASE("pipeline template: the input section takes the channel's RTP settings", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  ChannelConfig c = channel({transcoded(640, 480, 30, 1'000'000)});
  c.input.bind = "0.0.0.0";
  c.input.video_port = 40002;
  c.input.audio_port = 40003;
  c.input.video_payload_type = 102;
  c.input.audio_payload_type = 100;
  c.latency_ms = 250;
  std::string text = expanded(cpu, c);
  CHECK(count(text, "udpsrc name=video_src address=0.0.0.0 port=40002 ") == 1);
  CHECK(count(text, "udpsrc name=audio_src address=0.0.0.0 port=40003 ") == 1);
  CHECK(count(text, "encoding-name=H264,payload=102\"") == 1);
  CHECK(count(text, "encoding-name=OPUS,payload=100\"") == 1);
  CHECK(count(text, "nagarealign name=align latency=250 latency-mode=fixed\n") == 1);

  c.latency_ms.reset();  // "auto": adaptive, starting from the default hold
  text = expanded(cpu, c);
  CHECK(count(text, "nagarealign name=align latency=500 latency-mode=adaptive\n") == 1);
}

TEST_CASE("pipeline template: one audio encoder per distinct audio spec", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  const AudioSpec mp3_64{64000, AudioCodec::kMp3};
  const AudioSpec mp3_128{128000, AudioCodec::kMp3};
  const AudioSpec aac_96{96000, AudioCodec::kAac};
  const ChannelConfig c =
      channel({transcoded(1280, 720, 30, 2'500'000, mp3_64), transcoded(960, 540, 30, 1'500'000, mp3_128),
               transcoded(640, 360, 30, 800'000, aac_96), transcoded(320, 180, 15, 200'000, mp3_64)});
  const std::string text = expanded(cpu, c);
  CHECK(count(text, "lamemp3enc ") == 2);
  CHECK(count(text, "avenc_aac ") == 1);
  // Each encoder chain starts at audio_in and ends in its own tee.
  const std::string line_mp3_64 = line_with(text, "bitrate=64 ");
  CHECK(line_mp3_64.rfind("audio_in. ! ", 0) == 0);
  CHECK(line_mp3_64.find("lamemp3enc ") != std::string::npos);
  CHECK(ends_with(line_mp3_64, " ! tee name=audio0"));
  const std::string line_mp3_128 = line_with(text, "bitrate=128 ");
  CHECK(line_mp3_128.find("lamemp3enc ") != std::string::npos);
  CHECK(ends_with(line_mp3_128, " ! tee name=audio1"));
  const std::string line_aac = line_with(text, "avenc_aac ");
  CHECK(line_aac.rfind("audio_in. ! ", 0) == 0);
  CHECK(line_aac.find(" bitrate=96000 ") != std::string::npos);
  CHECK(ends_with(line_aac, " ! tee name=audio2"));
  CHECK(count(text, "tee name=audio3") == 0);
  CHECK(count(text, "audio0. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! hls0.audio") == 1);
  CHECK(count(text, "audio1. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! hls1.audio") == 1);
  CHECK(count(text, "audio2. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! hls2.audio") == 1);
  CHECK(count(text, "audio0. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! hls3.audio") == 1);
  CHECK(count(text, "avdec_h264") == 1);
  CHECK(count(text, "x264enc ") == 4);
}

TEST_CASE("pipeline template: passthrough renditions do not decode", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  const std::string only = expanded(cpu, channel({passthrough()}));
  CHECK(count(only, "avdec_h264") == 0);
  CHECK(count(only, "video_raw") == 0);
  CHECK(count(only, "x264enc") == 0);
  CHECK(count(only, "appsink name=thumbnail") == 0);  // no decoded frames to take it from
  CHECK(count(only, "video_in. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! hls0.video\n") ==
        1);
  CHECK(count(only, "nagarehlssink name=hls0 ") == 1);
  CHECK(count(only, "lamemp3enc ") == 1);

  // Passthrough next to a transcoded rendition: the decoder is there for
  // that one only, and the rendition numbers stay those of the channel.
  const std::string mixed = expanded(cpu, channel({passthrough(), transcoded(640, 360, 30, 800'000)}));
  CHECK(count(mixed, "avdec_h264") == 1);
  CHECK(count(mixed, "x264enc ") == 1);
  CHECK(count(mixed, "x264enc name=venc1 ") == 1);
  CHECK(count(mixed, "venc0") == 0);
  CHECK(count(mixed, "video_in. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! hls0.video\n") ==
        1);
  CHECK(count(mixed, "! h264parse ! hls1.video\n") == 1);
  CHECK(count(mixed, "appsink name=thumbnail") == 1);

  const PipelineTemplate gpu = real("gpu.pipeline");
  CHECK(count(expanded(gpu, channel({passthrough(), passthrough()})), "nvh264dec") == 0);
}

TEST_CASE("pipeline template: a key frame at least every segment", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  const PipelineTemplate gpu = real("gpu.pipeline");
  struct Case {
    int fps;
    double segment_duration;
    long gop;
  };
  for (const Case k : {Case{30, 2.0, 60}, Case{25, 1.5, 38}, Case{24, 0.5, 12}, Case{60, 20.0, 1200}, Case{1, 0.5, 1},
                       Case{1, 2.0, 2}, Case{29, 0.5, 15}}) {
    INFO(k.fps << " fps, " << k.segment_duration << " s");
    ChannelConfig c = channel({transcoded(640, 360, k.fps, 800'000)});
    c.segment_duration = k.segment_duration;
    CHECK(count(expanded(cpu, c), "key-int-max=" + std::to_string(k.gop) + " ") == 1);
    CHECK(count(expanded(gpu, c), "gop-size=" + std::to_string(k.gop) + " ") == 1);
  }
}

TEST_CASE("pipeline template: one encoder thread up to 720p30, the encoder's choice above", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  struct Case {
    int width;
    int height;
    int fps;
    const char* threads;
  };
  for (const Case k : {Case{640, 480, 30, "1"}, Case{1280, 720, 30, "1"}, Case{320, 180, 60, "1"},
                       Case{1280, 720, 60, "0"}, Case{1920, 1080, 30, "0"}, Case{1282, 720, 30, "0"}}) {
    INFO(k.width << "x" << k.height << "@" << k.fps);
    const std::string text = expanded(cpu, channel({transcoded(k.width, k.height, k.fps, 800'000)}));
    CHECK(count(text, std::string("x264enc name=venc0 threads=") + k.threads + " ") == 1);
  }
  // The decoder is one thread whatever the renditions.
  CHECK(count(expanded(cpu, channel({transcoded(1920, 1080, 60, 8'000'000)})), "avdec_h264 max-threads=1 ") == 1);
}

TEST_CASE("pipeline template: kb/s are rounded to the nearest", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  struct Case {
    std::int64_t bps;
    const char* kbps;
  };
  for (const Case k : {Case{1'234'499, "1234"}, Case{1'234'500, "1235"}, Case{50'000, "50"}, Case{50'000'000, "50000"},
                       Case{999'999, "1000"}}) {
    INFO(k.bps);
    const std::string text = expanded(cpu, channel({transcoded(640, 360, 30, k.bps)}));
    CHECK(count(text, std::string(" bitrate=") + k.kbps + " vbv-buf-capacity") == 1);
  }
  // MP3 in kb/s, AAC in b/s, as the encoders take them.
  const std::string aac = expanded(cpu, channel({transcoded(640, 360, 30, 800'000, {44'100, AudioCodec::kAac})}));
  CHECK(count(aac, "avenc_aac bitrate=44100 ") == 1);
  const std::string mp3 = expanded(cpu, channel({transcoded(640, 360, 30, 800'000, {32'000, AudioCodec::kMp3})}));
  CHECK(count(mp3, "cbr=true bitrate=32 ") == 1);
}

TEST_CASE("pipeline template: output paths, segment names and playlist settings", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  ChannelConfig c = channel({transcoded(1280, 720, 30, 2'500'000), transcoded(640, 360, 30, 800'000)});
  c.segment_duration = 1.5;
  c.playlist_length = 10;
  // A space is fine: the paths are quoted.
  const std::string text = expanded(cpu, c, {"/var/lib/nagare data/channels/abc", 7, "", ""});
  CHECK(count(text,
              "nagarehlssink name=hls0 location=\"/var/lib/nagare data/channels/abc/0/b7-%05d.ts\" "
              "playlist-location=\"/var/lib/nagare data/channels/abc/0/index.m3u8\" target-duration=1.5 "
              "playlist-length=10 max-files=14\n") == 1);
  CHECK(count(text,
              "nagarehlssink name=hls1 location=\"/var/lib/nagare data/channels/abc/1/b7-%05d.ts\" "
              "playlist-location=\"/var/lib/nagare data/channels/abc/1/index.m3u8\" target-duration=1.5 "
              "playlist-length=10 max-files=14\n") == 1);

  c.segment_duration = 2.0;
  c.playlist_length = 6;
  const std::string whole = expanded(cpu, c, {"/srv/ch", 0, "", ""});
  CHECK(count(whole, "location=\"/srv/ch/0/b0-%05d.ts\"") == 1);
  CHECK(count(whole, " target-duration=2 playlist-length=6 max-files=10\n") == 2);
}

TEST_CASE("pipeline template: an output folder that would break the quoting is refused", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  const ChannelConfig c = channel({transcoded(640, 360, 30, 800'000)});
  for (const std::string& dir : {std::string("/srv/a\"b"), std::string("/srv/a\\b"), std::string("/srv/a\nb"),
                                 std::string("/srv/x\" ! filesink location=\"/etc/passwd")}) {
    INFO(dir);
    CHECK(expand_error(cpu, c, {dir, 1, "", ""}) ==
          "the output folder's path must not contain quotes, backslashes or newlines");
  }
}

TEST_CASE("pipeline template: sections a channel needs but the description lacks", "[pipeline_template]") {
  std::string error;
  const auto minimal = PipelineTemplate::parse(kMinimal, &error);
  REQUIRE(minimal);
  CHECK(expand_error(*minimal, channel({transcoded(640, 360, 30, 800'000)})) ==
        "section [decode] is missing, and a rendition is transcoded");
  const auto no_rendition = PipelineTemplate::parse(std::string(kMinimal) + "[decode]\ndec\n", &error);
  REQUIRE(no_rendition);
  CHECK(expand_error(*no_rendition, channel({transcoded(640, 360, 30, 800'000)})) ==
        "section [rendition] is missing, and a rendition is transcoded");
  CHECK(expand_error(*minimal, channel({passthrough()})) ==
        "section [passthrough] is missing, and a rendition is passed through");
  const auto with_passthrough = PipelineTemplate::parse(std::string(kMinimal) + "[passthrough]\npass ${n}\n", &error);
  REQUIRE(with_passthrough);
  CHECK(expand_error(*with_passthrough, channel({passthrough({96000, AudioCodec::kAac})})) ==
        "section [audio-aac] is missing, and a rendition asks for AAC");
  // Without a transcoded rendition neither decode nor rendition is needed,
  // and the thumbnail is optional.
  CHECK(expanded(*with_passthrough, channel({passthrough(), passthrough()})) ==
        "in\npass 0\npass 1\nmp3 0\nout 0\nout 1\n");

  // A placeholder a section may not use is named with its section.
  const auto bad = PipelineTemplate::parse(
      "[input]\nport=${video_port}\n[passthrough]\np\n[audio-mp3]\nmp3 ${n}\n[output]\nout\n", &error);
  REQUIRE(bad);
  CHECK(expand_error(*bad, channel({passthrough()})) == "[audio-mp3]: unknown placeholder ${n}");
}

TEST_CASE("pipeline template: per-rendition durationSeconds and the sink's options", "[pipeline_template]") {
  const PipelineTemplate cpu = real("cpu.pipeline");
  ChannelConfig c = channel({transcoded(1280, 720, 30, 2'500'000), transcoded(640, 360, 25, 800'000)});
  c.hls[1].duration_seconds = 6;
  c.hls[1].start_time_offset = -7.25;
  std::string text = expanded(cpu, c);
  // Rendition 0 keeps the channel's 2 s; rendition 1 cuts at 6 s, with a key
  // frame at least every 6 s of 25 fps.
  CHECK(count(text,
              "name=venc0 threads=1 tune=zerolatency speed-preset=superfast bitrate=2500 "
              "vbv-buf-capacity=1000 key-int-max=60 ") == 1);
  CHECK(count(text, "key-int-max=150 ") == 1);
  CHECK(ends_with(line_with(text, "nagarehlssink name=hls0 "), "target-duration=2 playlist-length=6 max-files=10"));
  CHECK(ends_with(line_with(text, "nagarehlssink name=hls1 "),
                  "target-duration=6 playlist-length=6 max-files=10 start-time-offset=-7.25"));

  c.encrypt_key_uri = "https://keys.example/k/{key_id}";
  c.key_rotation = 5;
  c.archive = true;
  c.archive_destination_id = "d";
  text = expanded(cpu, c, {"/srv/ch", 3, "https://keys.example/k/{key_id}", "/srv/keys/ch"});
  CHECK(
      ends_with(line_with(text, "nagarehlssink name=hls0 "),
                "max-files=10 key-uri=\"https://keys.example/k/{key_id}\" key-rotation=5 "
                "key-location=\"/srv/keys/ch/{key_id}.key\" archive-playlist-location=\"/srv/ch/0/archive-b3.m3u8\""));
  CHECK(count(text, "archive-playlist-location=\"/srv/ch/1/archive-b3.m3u8\"") == 1);
  // Keys only reach the launcher when no folder is given.
  text = expanded(cpu, c, {"/srv/ch", 3, "/keys/x/{key_id}", ""});
  CHECK(count(text, "key-location") == 0);
  CHECK(count(text, "key-uri=\"/keys/x/{key_id}\"") == 2);

  CHECK(expand_error(cpu, c, {"/srv/ch", 3, "", ""}) == "the channel is encrypted, and no key URI was given");
  CHECK(expand_error(cpu, c, {"/srv/ch", 3, "https://k/\" ! fakesink", ""}) ==
        "the key URI must not contain quotes, backslashes or newlines");
  std::string error;
  const auto without =
      PipelineTemplate::parse("[input]\nin\n[passthrough]\np\n[audio-mp3]\nmp3 ${a}\n[output]\nout ${n}\n", &error);
  REQUIRE(without);
  ChannelConfig pass = channel({passthrough()});
  CHECK(expanded(*without, pass) == "in\np\nmp3 0\nout 0\n");  // a channel that needs no option
  pass.hls[0].start_time_offset = 3;
  CHECK(expand_error(*without, pass) ==
        "[output] has no ${hls_options}, and the channel asks for encryption, an archive or a start offset");
}

TEST_CASE("pipeline template: segment_pattern", "[pipeline_template]") {
  CHECK(segment_pattern(0) == "b0-%05d.ts");
  CHECK(segment_pattern(1) == "b1-%05d.ts");
  CHECK(segment_pattern(42) == "b42-%05d.ts");
  CHECK(segment_pattern(4294967295u) == "b4294967295-%05d.ts");
}
