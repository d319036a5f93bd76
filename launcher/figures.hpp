// What a channel reports about itself, and those reports as Prometheus text.
//
// Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lifecycle.hpp"

namespace nagare::launcher {

struct RenditionFigures {
  std::uint64_t segments = 0;
  double encoder_fps = 0;  // frames per second into its segmenter, last second
};

struct ChannelFigures {
  ChannelState state = ChannelState::kWaiting;
  unsigned broadcast = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t packets_in = 0;
  std::uint64_t packets_lost = 0;
  std::int64_t av_offset_ns = 0;  // video's shift from its arrival placement
  std::uint64_t latency_ns = 0;   // nagarealign's hold
  std::uint64_t restarts = 0;
  std::vector<RenditionFigures> renditions;
};

struct LabelledFigures {
  std::string playback_id;  // the label; never the channel id, which is a secret
  ChannelFigures figures;
};

// The Prometheus text exposition format (version 0.0.4), one family per
// figure, every channel a sample in it.
std::string render_metrics(const std::vector<LabelledFigures>& channels);

// The "# HELP" and "# TYPE" lines that open a metric family; its samples
// follow.
std::string metric_header(std::string_view name, std::string_view type, std::string_view help);

}  // namespace nagare::launcher
