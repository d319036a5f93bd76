// libFuzzer target for the launcher's channel description: the JSON a
// client POSTs to `nagare serve` or hands to `nagare run`, as arbitrary
// bytes.
//
// Checks beyond "no crash" (ASan/UBSan catch the rest):
//   - parse_channel_config returns a config or an error naming what is wrong,
//     never throws;
//   - a config it accepts survives to_json and parse_channel_config again
//     unchanged (the server stores and reports channels through to_json);
//   - expanding it against the CPU pipeline description succeeds (that
//     description has every section, so a valid channel must always fit),
//     leaves no placeholder behind and names one segmenter per rendition.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "channel_config.hpp"
#include "embedded.hpp"
#include "pipeline_template.hpp"

namespace {

using namespace nagare::launcher;

[[noreturn]] void fail() { __builtin_trap(); }

// pipelines/cpu.pipeline, as built into the launcher (embedded.cpp).
const std::string_view kCpuPipeline = *embedded_file("pipelines/cpu.pipeline");

bool same(const VideoSpec& a, const VideoSpec& b) {
  return a.width == b.width && a.height == b.height && a.fps == b.fps && a.bps == b.bps &&
         a.passthrough == b.passthrough;
}

bool same(const ChannelConfig& a, const ChannelConfig& b) {
  if (a.hls.size() != b.hls.size()) return false;
  for (std::size_t i = 0; i < a.hls.size(); ++i) {
    if (!same(a.hls[i].video, b.hls[i].video) || !(a.hls[i].audio == b.hls[i].audio)) return false;
    if (a.hls[i].duration_seconds != b.hls[i].duration_seconds) return false;
    if (a.hls[i].start_time_offset != b.hls[i].start_time_offset) return false;
  }
  // Exact comparison on purpose: JSON numbers are written with enough digits
  // to come back as the same double.
  return a.segment_duration == b.segment_duration && a.latency_ms == b.latency_ms &&
         a.playlist_length == b.playlist_length && a.idle_timeout == b.idle_timeout &&
         a.input.video_port == b.input.video_port && a.input.audio_port == b.input.audio_port &&
         a.input.video_payload_type == b.input.video_payload_type &&
         a.input.audio_payload_type == b.input.audio_payload_type && a.input.bind == b.input.bind &&
         a.encrypt_key_uri == b.encrypt_key_uri && a.encrypt == b.encrypt && a.key_rotation == b.key_rotation &&
         a.auth_webhook_url == b.auth_webhook_url && a.event_webhook_url == b.event_webhook_url &&
         a.archive == b.archive && a.archive_destination_id == b.archive_destination_id;
}

const PipelineTemplate& cpu_template() {
  static const PipelineTemplate t = [] {
    std::string error;
    auto parsed = PipelineTemplate::parse(kCpuPipeline, &error);
    if (!parsed) fail();
    return *parsed;
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const ParsedConfig parsed = parse_channel_config(json);
  if (!parsed.config) {
    if (parsed.error.message.empty()) fail();
    return 0;
  }
  const ChannelConfig& config = *parsed.config;
  if (config.hls.empty() || config.hls.size() > kMaxRenditions) fail();

  const ParsedConfig again = parse_channel_config(to_json(config));
  if (!again.config || !same(config, *again.config)) fail();

  std::string error;
  // An encrypted channel gets its key URI as serve gives it: the customer's
  // (checked by the parser) or nagare's own.
  const std::string key_uri =
      config.encrypt_key_uri.empty() ? "http://127.0.0.1:8080/keys/x/{key_id}" : config.encrypt_key_uri;
  const auto text =
      expand(cpu_template(), config, {"/var/lib/nagare/ch", 3, key_uri, "/var/lib/nagare/keys/x"}, &error);
  // Stricter than "fails with a message": this description has every
  // section and the folder is plain, so no valid channel may be refused.
  if (!text) fail();
  if (text->find("${") != std::string::npos) fail();
  for (std::size_t n = 0; n < config.hls.size(); ++n) {
    if (text->find("nagarehlssink name=hls" + std::to_string(n) + " ") == std::string::npos) fail();
  }
  return 0;
}
