// Pipeline descriptions with named placeholders, and how a channel turns one
// into the gst-launch-1.0 text of its pipeline.
//
// A description file (pipelines/*.pipeline) is gst-launch syntax cut into
// sections by "[name]" lines; "#" starts a comment line. The launcher joins
// the sections in this order, repeating some:
//
//   [input]         once: the RTP sources, nagarealign, the depayloaders;
//                   must end in a tee "video_in" (H.264) and a tee
//                   "audio_in" (decoded audio)
//   [decode]        once, when a rendition is transcoded: video_in → a tee
//                   "video_raw" of decoded frames
//   [rendition]     per transcoded rendition: video_raw → scale, rate,
//                   encode → hls${n}.video
//   [passthrough]   per passthrough rendition: video_in → hls${n}.video
//   [audio-mp3], [audio-aac]
//                   per distinct audio encoding: audio_in → a tee audio${a}
//   [output]        per rendition: audio${a} → hls${n}.audio, and the
//                   nagarehlssink hls${n}, whose ${hls_options} adds the
//                   properties a channel may need (EXT-X-START, encryption,
//                   an archive playlist); a channel that needs one fails to
//                   expand when [output] lacks it
//   [thumbnail]     optional, once when video_raw exists: an appsink named
//                   "thumbnail" of JPEG pictures
//
// "${name}" is replaced by the value of a placeholder; an unknown name is an
// error, so a typo never reaches GStreamer. "$$" is a dollar sign.
//
// Plain C++, no GStreamer.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "channel_config.hpp"

namespace nagare::launcher {

class PipelineTemplate {
 public:
  // nullopt with *error set when a section is unknown or repeated, or one
  // that every channel needs is missing.
  static std::optional<PipelineTemplate> parse(std::string_view text, std::string* error);

  bool has(const std::string& section) const { return sections_.count(section) != 0; }
  const std::string& section(const std::string& name) const { return sections_.at(name); }

 private:
  std::map<std::string, std::string> sections_;
};

using Placeholders = std::map<std::string, std::string>;

// Replaces every ${name} in `text`; nullopt with *error naming the first
// unknown placeholder or unterminated "${".
std::optional<std::string> substitute(std::string_view text, const Placeholders& values, std::string* error);

// Where and how a channel's pipeline writes.
struct OutputPlan {
  std::string dir;         // the channel's output folder; rendition n writes dir/n/
  unsigned broadcast = 0;  // segment names carry it, so a new broadcast never reuses a name
  // For an encrypted channel: the key URI pattern for EXT-X-KEY, and where
  // the sink writes each key ("" for nowhere: keys only reach the launcher).
  std::string key_uri;
  std::string key_dir;
};

// The channel's whole pipeline description, ready for gst_parse_launch.
std::optional<std::string> expand(const PipelineTemplate& tmpl, const ChannelConfig& config, const OutputPlan& output,
                                  std::string* error);

// The segment file name of rendition files in a broadcast, relative to the
// rendition's folder ("b3-00042.ts" for segment 42 of broadcast 3).
std::string segment_pattern(unsigned broadcast);
// The archive playlist of a broadcast in the rendition's folder.
std::string archive_playlist_name(unsigned broadcast);

}  // namespace nagare::launcher
