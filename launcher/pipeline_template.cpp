#include "pipeline_template.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace nagare::launcher {

namespace {

constexpr std::array<std::string_view, 8> kSections = {"input",     "decode",    "rendition", "passthrough",
                                                       "audio-mp3", "audio-aac", "output",    "thumbnail"};
constexpr std::array<std::string_view, 3> kRequired = {"input", "output", "audio-mp3"};

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::string kbps(std::int64_t bps) { return std::to_string((bps + 500) / 1000); }

// Decimal seconds without trailing zeros ("2", "1.5", "-3.25"): the
// shortest text that reads back as the same double.
std::string seconds(double s) {
  std::array<char, 32> text{};
  const auto end = std::to_chars(text.data(), text.data() + text.size(), s, std::chars_format::fixed).ptr;
  return {text.data(), end};
}

// nagarehlssink properties a channel may need beyond the ones every
// [output] sets: what ${hls_options} expands to.
std::string hls_options(const ChannelConfig& config, const Rendition& r, const OutputPlan& output, std::size_t n) {
  std::string out;
  if (r.start_time_offset) out += " start-time-offset=" + seconds(*r.start_time_offset);
  if (config.encrypted()) {
    out += " key-uri=\"" + output.key_uri + "\" key-rotation=" + std::to_string(config.key_rotation);
    if (!output.key_dir.empty()) out += " key-location=\"" + output.key_dir + "/{key_id}.key\"";
  }
  if (config.archive) {
    out += " archive-playlist-location=\"" + output.dir + "/" + std::to_string(n) + "/" +
           archive_playlist_name(output.broadcast) + "\"";
  }
  return out;
}

bool append(std::string& out, const PipelineTemplate& tmpl, const char* section, const Placeholders& values,
            std::string* error) {
  auto text = substitute(tmpl.section(section), values, error);
  if (!text) {
    *error = "[" + std::string(section) + "]: " + *error;
    return false;
  }
  out += *text;
  return true;
}

}  // namespace

std::optional<PipelineTemplate> PipelineTemplate::parse(std::string_view text, std::string* error) {
  PipelineTemplate t;
  std::string* current = nullptr;
  int line_no = 0;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const std::string_view raw = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      const std::string name(line.substr(1, line.size() - 2));
      if (std::find(kSections.begin(), kSections.end(), name) == kSections.end()) {
        *error = "line " + std::to_string(line_no) + ": unknown section [" + name + "]";
        return std::nullopt;
      }
      if (t.sections_.count(name)) {
        *error = "line " + std::to_string(line_no) + ": section [" + name + "] appears twice";
        return std::nullopt;
      }
      current = &t.sections_[name];
      continue;
    }
    if (!current) {
      *error = "line " + std::to_string(line_no) + ": text before the first [section]";
      return std::nullopt;
    }
    *current += std::string(line) + "\n";
  }
  for (auto name : kRequired) {
    if (!t.has(std::string(name))) {
      *error = "section [" + std::string(name) + "] is missing";
      return std::nullopt;
    }
  }
  return t;
}

std::optional<std::string> substitute(std::string_view text, const Placeholders& values, std::string* error) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out += '$';
      continue;
    }
    const auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      *error = "unterminated ${ at offset " + std::to_string(i);
      return std::nullopt;
    }
    const std::string name(text.substr(i + 2, close - i - 2));
    const auto it = values.find(name);
    if (it == values.end()) {
      *error = "unknown placeholder ${" + name + "}";
      return std::nullopt;
    }
    out += it->second;
    i = close;
  }
  return out;
}

std::string segment_pattern(unsigned broadcast) { return "b" + std::to_string(broadcast) + "-%05d.ts"; }

std::string archive_playlist_name(unsigned broadcast) { return "archive-b" + std::to_string(broadcast) + ".m3u8"; }

std::optional<std::string> expand(const PipelineTemplate& tmpl, const ChannelConfig& config, const OutputPlan& output,
                                  std::string* error) {
  // Paths go into quoted property values of the description.
  const std::pair<const char*, const std::string*> quoted[] = {
      {"the output folder's path", &output.dir}, {"the key folder", &output.key_dir}, {"the key URI", &output.key_uri}};
  for (const auto& [what, value] : quoted) {
    if (value->find_first_of("\"\\\n") != std::string::npos) {
      *error = std::string(what) + " must not contain quotes, backslashes or newlines";
      return std::nullopt;
    }
  }
  const bool needs_options =
      config.encrypted() || config.archive ||
      std::any_of(config.hls.begin(), config.hls.end(), [](const Rendition& r) { return r.start_time_offset; });
  if (needs_options && tmpl.section("output").find("${hls_options}") == std::string::npos) {
    *error = "[output] has no ${hls_options}, and the channel asks for encryption, an archive or a start offset";
    return std::nullopt;
  }
  if (config.encrypted() && output.key_uri.empty()) {
    *error = "the channel is encrypted, and no key URI was given";
    return std::nullopt;
  }
  const bool transcodes =
      std::any_of(config.hls.begin(), config.hls.end(), [](const Rendition& r) { return !r.video.passthrough; });
  const bool passes =
      std::any_of(config.hls.begin(), config.hls.end(), [](const Rendition& r) { return r.video.passthrough; });
  for (const char* needed : {"decode", "rendition"}) {
    if (transcodes && !tmpl.has(needed)) {
      *error = "section [" + std::string(needed) + "] is missing, and a rendition is transcoded";
      return std::nullopt;
    }
  }
  if (passes && !tmpl.has("passthrough")) {
    *error = "section [passthrough] is missing, and a rendition is passed through";
    return std::nullopt;
  }

  const auto& in = config.input;
  const Placeholders input = {
      {"bind", in.bind},
      {"video_port", std::to_string(in.video_port)},
      {"audio_port", std::to_string(in.audio_port)},
      {"video_payload_type", std::to_string(in.video_payload_type)},
      {"audio_payload_type", std::to_string(in.audio_payload_type)},
      {"latency_ms", std::to_string(config.latency_ms.value_or(500))},
      {"latency_mode", config.latency_ms ? "fixed" : "adaptive"},
  };
  std::string out;
  if (!append(out, tmpl, "input", input, error)) return std::nullopt;
  if (transcodes && !append(out, tmpl, "decode", {}, error)) return std::nullopt;

  for (std::size_t n = 0; n < config.hls.size(); ++n) {
    const VideoSpec& v = config.hls[n].video;
    if (v.passthrough) {
      if (!append(out, tmpl, "passthrough", {{"n", std::to_string(n)}}, error)) return std::nullopt;
      continue;
    }
    // One key frame per segment at least; the segmenter asks for the ones
    // at its planned cuts on top.
    const auto gop = std::max<long>(1, std::lround(v.fps * config.hls[n].segment_duration(config.segment_duration)));
    // One encoder thread up to 720p30: renditions and channels already run
    // in parallel, and a codec's own threads add a hand-off per frame. A
    // bigger picture gets x264's own threads (0: one per core), as one
    // thread of superfast manages about 30 fps of 1080p on a slow core.
    constexpr std::int64_t kOneThreadPixelRate = 1280LL * 720 * 30;
    const bool one_thread = std::int64_t{v.width} * v.height * v.fps <= kOneThreadPixelRate;
    const Placeholders rendition = {
        {"n", std::to_string(n)},
        {"width", std::to_string(v.width)},
        {"height", std::to_string(v.height)},
        {"fps", std::to_string(v.fps)},
        {"video_bps", std::to_string(v.bps)},
        {"video_kbps", kbps(v.bps)},
        {"gop", std::to_string(gop)},
        {"encoder_threads", one_thread ? "1" : "0"},
    };
    if (!append(out, tmpl, "rendition", rendition, error)) return std::nullopt;
  }

  const auto encodings = config.audio_encodings();
  for (std::size_t a = 0; a < encodings.size(); ++a) {
    const bool aac = encodings[a].codec == AudioCodec::kAac;
    if (aac && !tmpl.has("audio-aac")) {
      *error = "section [audio-aac] is missing, and a rendition asks for AAC";
      return std::nullopt;
    }
    const Placeholders audio = {
        {"a", std::to_string(a)},
        {"audio_bps", std::to_string(encodings[a].bps)},
        {"audio_kbps", kbps(encodings[a].bps)},
    };
    if (!append(out, tmpl, aac ? "audio-aac" : "audio-mp3", audio, error)) return std::nullopt;
  }

  for (std::size_t n = 0; n < config.hls.size(); ++n) {
    const std::string dir = output.dir + "/" + std::to_string(n);
    const Placeholders sink = {
        {"n", std::to_string(n)},
        {"a", std::to_string(config.audio_encoding_of(n))},
        {"location", dir + "/" + segment_pattern(output.broadcast)},
        {"playlist_location", dir + "/index.m3u8"},
        {"segment_duration", seconds(config.hls[n].segment_duration(config.segment_duration))},
        {"playlist_length", std::to_string(config.playlist_length)},
        // Segments stay on disk a little past the window, for players that
        // fetched the playlist just before it slid.
        {"max_files", std::to_string(config.playlist_length + 4)},
        {"hls_options", hls_options(config, config.hls[n], output, n)},
    };
    if (!append(out, tmpl, "output", sink, error)) return std::nullopt;
  }
  if (transcodes && tmpl.has("thumbnail") && !append(out, tmpl, "thumbnail", {}, error)) return std::nullopt;
  return out;
}

}  // namespace nagare::launcher
