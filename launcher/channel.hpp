// One channel: its pipeline, built from a description, and everything the
// launcher does around it: the lifecycle (waiting → live → idle → ended),
// restarts with back-off after a pipeline error, the multivariant playlist,
// the thumbnail and the figures /metrics shows.
//
// Everything here runs on the GLib main context of the thread that created
// the channel, except the pad probes and the thumbnail callback, which only
// touch atomics and their own mutex-guarded state.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive.hpp"
#include "channel_config.hpp"
#include "common/gst_ptr.hpp"
#include "figures.hpp"
#include "lifecycle.hpp"
#include "pipeline_template.hpp"

namespace nagare::launcher {

class Channel {
 public:
  struct Options {
    std::string name;  // in log lines
    ChannelConfig config;
    PipelineTemplate pipeline;
    std::string output_dir;
    unsigned first_broadcast = 1;
    // An encrypted channel's key URI pattern (as EXT-X-KEY names keys) and
    // the folder the sinks write keys to ("" for nowhere).
    std::string key_uri = {};
    std::string key_dir = {};
    // What the channel's archive is filed under (the playback id).
    std::string label = {};
    // The channel's events, on the main context: "hls.started" (the first
    // segment of every rendition is there), "hls.ended", "key.created",
    // with their data. May be empty.
    std::function<void(const std::string& type, const nlohmann::json& data)> on_event = {};
    // An archived channel's finished broadcast. May be empty.
    std::function<void(ArchiveRequest)> on_archive = {};
  };

  explicit Channel(Options options);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Builds the pipeline and starts it; a failure is retried with back-off
  // like any later pipeline error.
  void start();
  // Ends the broadcast: EOS through the pipeline so every playlist gets
  // EXT-X-ENDLIST, then stops. `done` runs on the main context when all is
  // written (or after a few seconds if the pipeline does not finish).
  void stop(std::function<void()> done);

  // Called on a streaming thread whenever the pipeline asks upstream of
  // video_src for a key frame (the depayloader after a loss, the segmenter
  // in passthrough); a WebRTC publisher's session turns it into a PLI.
  // RTP input has nobody to ask. Empty to stop.
  void set_key_frame_listener(std::function<void()> listener);

  ChannelFigures figures() const;
  const std::string& output_dir() const { return options_.output_dir; }
  const ChannelConfig& config() const { return options_.config; }
  // The description of the current (or last) pipeline.
  const std::string& description() const { return description_; }

 private:
  struct Probes;

  bool build(std::string* error);
  void teardown();
  void schedule_restart(const std::string& why);
  void end_broadcast_then(std::function<void()> next);
  void finish_eos();
  void on_tick();
  void write_multivariant_if_ready();
  void read_element_stats();
  void on_key(GstMessage* message);
  void broadcast_over();
  void event(const std::string& type, const nlohmann::json& data);
  static gboolean on_bus(GstBus* bus, GstMessage* message, gpointer self);

  struct KeyFrameRelay {
    std::mutex mutex;
    std::function<void()> listener;
  };

  Options options_;
  std::shared_ptr<KeyFrameRelay> key_frames_ = std::make_shared<KeyFrameRelay>();
  Lifecycle lifecycle_;
  Backoff backoff_;
  std::string description_;
  GstPtr<GstElement> pipeline_;
  std::shared_ptr<Probes> probes_;
  unsigned broadcast_ = 0;
  std::int64_t started_at_ = 0;
  guint bus_watch_ = 0;
  guint tick_source_ = 0;
  guint restart_source_ = 0;
  guint eos_timeout_ = 0;
  std::function<void()> after_eos_;
  bool stopping_ = false;
  bool multivariant_written_ = false;  // also: the broadcast's HLS has started
  std::uint64_t restarts_ = 0;
  std::int64_t broadcast_started_ms_ = 0;
  std::map<std::string, ArchiveKey> keys_;  // the broadcast's, by their URI

  // Counters of the pipelines before the current one.
  std::uint64_t bytes_before_ = 0;
  std::uint64_t packets_before_ = 0;
  std::uint64_t lost_before_ = 0;
  std::vector<std::uint64_t> segments_before_;
  // Figures read from the elements on each tick.
  std::uint64_t packets_lost_ = 0;
  std::int64_t av_offset_ns_ = 0;
  std::uint64_t latency_ns_ = 0;
  std::vector<RenditionFigures> rendition_figures_;
  std::vector<std::uint64_t> last_frames_;
  std::int64_t last_tick_ = 0;
};

// Closes a media playlist that a failed pipeline left open, by adding
// EXT-X-ENDLIST (atomically); does nothing to one already closed or absent.
void close_playlist_file(const std::string& path);

}  // namespace nagare::launcher
