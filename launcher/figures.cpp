#include "figures.hpp"

#include <cmath>
#include <cstdio>
#include <functional>

namespace nagare::launcher {

namespace {

// Counters print as exact integers (a double holds them exactly below
// 2^53); gauges with nine significant digits.
std::string number(double v) {
  char buf[48];
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

void family(std::string& out, const char* name, const char* type, const char* help,
            const std::vector<LabelledFigures>& channels, const std::function<double(const ChannelFigures&)>& value) {
  out += metric_header(name, type, help);
  for (const auto& c : channels) {
    out += std::string(name) + "{channel=\"" + c.playback_id + "\"} " + number(value(c.figures)) + "\n";
  }
}

void rendition_family(std::string& out, const char* name, const char* type, const char* help,
                      const std::vector<LabelledFigures>& channels,
                      const std::function<double(const RenditionFigures&)>& value) {
  out += metric_header(name, type, help);
  for (const auto& c : channels) {
    for (std::size_t n = 0; n < c.figures.renditions.size(); ++n) {
      out += std::string(name) + "{channel=\"" + c.playback_id + "\",rendition=\"" + std::to_string(n) + "\"} " +
             number(value(c.figures.renditions[n])) + "\n";
    }
  }
}

}  // namespace

std::string metric_header(std::string_view name, std::string_view type, std::string_view help) {
  std::string out = "# HELP ";
  out.append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
  return out;
}

std::string render_metrics(const std::vector<LabelledFigures>& channels) {
  std::string out;
  out += metric_header("nagare_channels", "gauge", "Channels in this process.");
  out += "nagare_channels " + std::to_string(channels.size()) + "\n";
  out += metric_header("nagare_channel_state", "gauge", "1 for the state the channel is in.");
  for (const auto& c : channels) {
    for (auto s : {ChannelState::kWaiting, ChannelState::kLive, ChannelState::kIdle, ChannelState::kEnded,
                   ChannelState::kRestarting}) {
      out += "nagare_channel_state{channel=\"" + c.playback_id + "\",state=\"" + std::string(to_string(s)) + "\"} " +
             (c.figures.state == s ? "1" : "0") + "\n";
    }
  }
  family(out, "nagare_input_bytes_total", "counter", "RTP bytes received (audio and video).", channels,
         [](const ChannelFigures& f) { return static_cast<double>(f.bytes_in); });
  family(out, "nagare_input_packets_total", "counter", "RTP packets received (audio and video).", channels,
         [](const ChannelFigures& f) { return static_cast<double>(f.packets_in); });
  family(out, "nagare_input_packets_lost_total", "counter", "RTP packets never received, by sequence number.", channels,
         [](const ChannelFigures& f) { return static_cast<double>(f.packets_lost); });
  family(out, "nagare_av_offset_seconds", "gauge",
         "How far video is shifted from its arrival placement to follow audio.", channels,
         [](const ChannelFigures& f) { return static_cast<double>(f.av_offset_ns) / 1e9; });
  family(out, "nagare_latency_seconds", "gauge", "How long nagarealign holds a packet that arrived on time.", channels,
         [](const ChannelFigures& f) { return static_cast<double>(f.latency_ns) / 1e9; });
  family(out, "nagare_restarts_total", "counter", "Pipeline restarts after an error.", channels,
         [](const ChannelFigures& f) { return static_cast<double>(f.restarts); });
  family(out, "nagare_broadcast", "gauge", "Number of the current broadcast (each publish after an end is one more).",
         channels, [](const ChannelFigures& f) { return static_cast<double>(f.broadcast); });
  rendition_family(out, "nagare_segments_total", "counter", "Segments written by the current broadcast's pipeline.",
                   channels, [](const RenditionFigures& r) { return static_cast<double>(r.segments); });
  rendition_family(out, "nagare_encoder_fps", "gauge", "Frames per second out of the rendition's encoder.", channels,
                   [](const RenditionFigures& r) { return r.encoder_fps; });
  return out;
}

}  // namespace nagare::launcher
