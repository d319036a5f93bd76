#include "channel.hpp"

#include <dirent.h>
#include <gst/app/gstappsink.h>

#include <algorithm>
#include <cstring>

#include "files.hpp"
#include "log.hpp"
#include "multivariant.hpp"

namespace nagare::launcher {

namespace {

constexpr guint kTickMs = 250;
constexpr guint kEosTimeoutMs = 5000;

std::int64_t now_us() { return g_get_monotonic_time(); }

GstPtr<GstElement> by_name(GstElement* pipeline, const std::string& name) {
  return GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline), name.c_str()));
}

GstPtr<GstPad> static_pad(GstElement* element, const char* name) {
  return GstPtr<GstPad>::adopt(gst_element_get_static_pad(element, name));
}

// The broadcast number of a segment file name "b<k>-…", or 0.
unsigned broadcast_of(const char* name) {
  if (name[0] != 'b') return 0;
  char* end = nullptr;
  const unsigned long k = std::strtoul(name + 1, &end, 10);
  return end != name + 1 && *end == '-' ? static_cast<unsigned>(k) : 0;
}

template <typename F>
void for_each_entry(const std::string& dir, F&& f) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) f(e->d_name);
  ::closedir(d);
}

}  // namespace

// What the streaming threads record for the main context to read.
struct Channel::Probes {
  std::atomic<std::int64_t> last_packet{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> video_bytes{0};
  std::atomic<std::uint64_t> packets{0};
  std::int64_t first_packet = 0;  // read on the main context once live

  struct Video {
    std::atomic<std::uint64_t> frames{0};
    std::atomic<bool> known{false};  // codec, size and rate all found
    std::mutex mutex;
    std::optional<std::string> codec;
    int width = 0;
    int height = 0;
    double fps = 0;
  };
  std::vector<std::unique_ptr<Video>> video;
  std::string thumbnail_path;

  struct VideoProbe {
    std::shared_ptr<Probes> owner;
    Video* video;
  };
};

namespace {

struct PacketProbe {
  std::shared_ptr<void> owner;  // keeps the counters alive as long as the probe
  std::atomic<std::int64_t>* last_packet;
  std::atomic<std::uint64_t>* bytes;
  std::atomic<std::uint64_t>* packets;
  std::atomic<std::uint64_t>* video_bytes;  // null on the audio source
};

GstPadProbeReturn count_packets(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* p = static_cast<PacketProbe*>(data);
  std::uint64_t n = 0;
  std::uint64_t size = 0;
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    n = 1;
    size = gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    n = gst_buffer_list_length(list);
    size = gst_buffer_list_calculate_size(list);
  }
  p->packets->fetch_add(n, std::memory_order_relaxed);
  p->bytes->fetch_add(size, std::memory_order_relaxed);
  if (p->video_bytes) p->video_bytes->fetch_add(size, std::memory_order_relaxed);
  p->last_packet->store(now_us(), std::memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

}  // namespace

Channel::Channel(Options options)
    : options_(std::move(options)),
      lifecycle_(static_cast<std::int64_t>(options_.config.idle_timeout * 1e6)),
      broadcast_(options_.first_broadcast - 1) {
  // A channel folder reused by a later run continues its broadcast numbers,
  // so no segment name is written twice.
  for (std::size_t n = 0; n < options_.config.hls.size(); ++n) {
    for_each_entry(options_.output_dir + "/" + std::to_string(n),
                   [&](const char* name) { broadcast_ = std::max(broadcast_, broadcast_of(name)); });
  }
}

Channel::~Channel() {
  for (guint* source : {&tick_source_, &restart_source_, &eos_timeout_}) {
    if (*source) g_source_remove(*source);
    *source = 0;
  }
  teardown();
}

void Channel::start() {
  lifecycle_.listening(false);
  std::string error;
  if (!build(&error)) schedule_restart(error);
}

bool Channel::build(std::string* error) {
  // A build that fails counts as a pipeline that ran for no time, so the
  // back-off keeps growing through a run of failed builds.
  started_at_ = now_us();
  ++broadcast_;
  const auto& config = options_.config;
  auto description =
      expand(options_.pipeline, config, {options_.output_dir, broadcast_, options_.key_uri, options_.key_dir}, error);
  if (!description) return false;
  description_ = *description;
  if (!options_.key_dir.empty()) {
    if (const int e = make_dirs(options_.key_dir)) {
      *error = options_.key_dir + ": " + std::strerror(e);
      return false;
    }
  }
  keys_.clear();

  for (std::size_t n = 0; n < config.hls.size(); ++n) {
    const std::string dir = options_.output_dir + "/" + std::to_string(n);
    if (const int e = make_dirs(dir)) {
      *error = dir + ": " + std::strerror(e);
      return false;
    }
    // The playlist on disk lists the newest earlier broadcast that wrote
    // segments (failed builds write none); older ones are in no playlist.
    unsigned listed = 0;
    for_each_entry(dir, [&](const char* name) {
      if (const unsigned b = broadcast_of(name); b < broadcast_) listed = std::max(listed, b);
    });
    for_each_entry(dir, [&](const char* name) {
      const unsigned b = broadcast_of(name);
      if (b != 0 && b < listed) ::unlink((dir + "/" + name).c_str());
    });
  }

  GError* parse_error = nullptr;
  GstElement* element = gst_parse_launch_full(description_.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
  if (!element) {
    *error = std::string("pipeline description: ") + (parse_error ? parse_error->message : "unknown error");
    g_clear_error(&parse_error);
    return false;
  }
  g_clear_error(&parse_error);
  pipeline_ = GstPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(element)));

  auto probes = std::make_shared<Probes>();
  probes->thumbnail_path = options_.output_dir + "/thumbnail.jpg";
  for (const char* name : {"video_src", "audio_src"}) {
    auto src = by_name(pipeline_.get(), name);
    auto pad = src ? static_pad(src.get(), "src") : GstPtr<GstPad>();
    if (!pad) {
      *error = std::string("the pipeline has no element \"") + name + "\" with a src pad (see pipelines/README)";
      teardown();
      return false;
    }
    auto* p = new PacketProbe{probes, &probes->last_packet, &probes->bytes, &probes->packets,
                              std::strcmp(name, "video_src") == 0 ? &probes->video_bytes : nullptr};
    gst_pad_add_probe(pad.get(),
                      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      count_packets, p, [](gpointer d) { delete static_cast<PacketProbe*>(d); });
    if (std::strcmp(name, "video_src") != 0) continue;
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
        [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
          GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
          const GstStructure* s = gst_event_get_structure(event);
          if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_UPSTREAM && s && gst_structure_has_name(s, "GstForceKeyUnit")) {
            auto& relay = **static_cast<std::shared_ptr<KeyFrameRelay>*>(data);
            std::lock_guard lock(relay.mutex);
            if (relay.listener) relay.listener();
          }
          return GST_PAD_PROBE_OK;
        },
        new std::shared_ptr<KeyFrameRelay>(key_frames_),
        [](gpointer d) { delete static_cast<std::shared_ptr<KeyFrameRelay>*>(d); });
  }

  for (std::size_t n = 0; n < config.hls.size(); ++n) {
    probes->video.push_back(std::make_unique<Probes::Video>());
    auto sink = by_name(pipeline_.get(), "hls" + std::to_string(n));
    // The description's link requested the pad, so it is there by now.
    auto pad = sink ? static_pad(sink.get(), "video") : GstPtr<GstPad>();
    if (!pad) {
      *error = "the pipeline has no nagarehlssink \"hls" + std::to_string(n) + "\" with a linked video pad";
      teardown();
      return false;
    }
    auto* v = new Probes::VideoProbe{probes, probes->video.back().get()};
    gst_pad_add_probe(
        pad.get(), static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
        [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
          auto& video = *static_cast<Probes::VideoProbe*>(data)->video;
          if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
            video.frames.fetch_add(1, std::memory_order_relaxed);
            if (video.known.load(std::memory_order_relaxed)) return GST_PAD_PROBE_OK;
            BufferMap map(GST_PAD_PROBE_INFO_BUFFER(info), GST_MAP_READ);
            if (!map) return GST_PAD_PROBE_OK;
            std::lock_guard lock(video.mutex);
            if (!video.codec) video.codec = avc1_codec_from_annexb(map.bytes());
            video.known = video.codec && video.width > 0;
          } else if (GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info); GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
            GstCaps* caps = nullptr;
            gst_event_parse_caps(event, &caps);
            const GstStructure* s = gst_caps_get_structure(caps, 0);
            std::lock_guard lock(video.mutex);
            gst_structure_get_int(s, "width", &video.width);
            gst_structure_get_int(s, "height", &video.height);
            int num = 0;
            int den = 1;
            if (gst_structure_get_fraction(s, "framerate", &num, &den) && den > 0) video.fps = double(num) / den;
            video.known = video.codec && video.width > 0;
          }
          return GST_PAD_PROBE_OK;
        },
        v, [](gpointer d) { delete static_cast<Probes::VideoProbe*>(d); });
  }

  if (auto thumbnail = by_name(pipeline_.get(), "thumbnail"); thumbnail && GST_IS_APP_SINK(thumbnail.get())) {
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = [](GstAppSink* sink, gpointer data) -> GstFlowReturn {
      auto sample = GstPtr<GstSample>::adopt(gst_app_sink_pull_sample(sink));
      if (!sample) return GST_FLOW_OK;
      BufferMap map(gst_sample_get_buffer(sample.get()), GST_MAP_READ);
      if (map) {
        const auto bytes = map.bytes();
        const auto& probes = *static_cast<std::shared_ptr<Probes>*>(data);
        write_file_atomically(probes->thumbnail_path, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
      }
      return GST_FLOW_OK;
    };
    // The callbacks' data holds a reference to the probes, dropped with the sink.
    gst_app_sink_set_callbacks(GST_APP_SINK(thumbnail.get()), &callbacks, new std::shared_ptr<Probes>(probes),
                               [](gpointer d) { delete static_cast<std::shared_ptr<Probes>*>(d); });
  }
  probes_ = probes;

  auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  bus_watch_ = gst_bus_add_watch(bus.get(), &Channel::on_bus, this);
  multivariant_written_ = false;
  rendition_figures_.resize(config.hls.size());
  segments_before_.resize(config.hls.size());
  for (std::size_t n = 0; n < config.hls.size(); ++n) segments_before_[n] = rendition_figures_[n].segments;
  last_frames_.assign(config.hls.size(), 0);
  last_tick_ = now_us();
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "the pipeline would not start (the log above says why)";
    teardown();
    return false;
  }
  if (!tick_source_) {
    tick_source_ = g_timeout_add(
        kTickMs,
        [](gpointer self) -> gboolean {
          static_cast<Channel*>(self)->on_tick();
          return G_SOURCE_CONTINUE;
        },
        this);
  }
  log_line(options_.name, "pipeline started, broadcast " + std::to_string(broadcast_) + ", waiting for packets on " +
                              config.input.bind + ":" + std::to_string(config.input.video_port) +
                              " (video) and :" + std::to_string(config.input.audio_port) + " (audio)");
  return true;
}

void Channel::teardown() {
  if (pipeline_) broadcast_over();
  if (bus_watch_) {
    g_source_remove(bus_watch_);
    bus_watch_ = 0;
  }
  if (pipeline_) {
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    pipeline_.reset();
  }
  if (probes_) {
    // Counters run across pipelines, as Prometheus expects of a counter.
    bytes_before_ += probes_->bytes.load();
    packets_before_ += probes_->packets.load();
    lost_before_ += std::exchange(packets_lost_, 0);
    probes_.reset();
  }
}

void Channel::schedule_restart(const std::string& why) {
  teardown();
  // Players must not wait for segments the failed pipeline will never write.
  for (std::size_t n = 0; n < options_.config.hls.size(); ++n) {
    close_playlist_file(options_.output_dir + "/" + std::to_string(n) + "/index.m3u8");
  }
  if (stopping_) return;
  ++restarts_;
  lifecycle_.restarting();
  const std::int64_t delay = backoff_.next(started_at_, now_us());
  log_line(options_.name, why + "; restarting in " + std::to_string(delay / 1000000) + " s");
  restart_source_ = g_timeout_add(
      static_cast<guint>(delay / 1000),
      [](gpointer data) -> gboolean {
        auto* self = static_cast<Channel*>(data);
        self->restart_source_ = 0;
        self->start();
        return G_SOURCE_REMOVE;
      },
      this);
}

void Channel::stop(std::function<void()> done) {
  stopping_ = true;
  if (restart_source_) {
    g_source_remove(restart_source_);
    restart_source_ = 0;
  }
  if (!pipeline_) {
    done();
    return;
  }
  end_broadcast_then([this, done = std::move(done)] {
    teardown();
    done();
  });
}

void Channel::end_broadcast_then(std::function<void()> next) {
  if (after_eos_) {
    // Already ending: whoever asks now is told when that is done.
    after_eos_ = [first = std::move(after_eos_), next = std::move(next)] {
      first();
      next();
    };
    return;
  }
  after_eos_ = std::move(next);
  gst_element_send_event(pipeline_.get(), gst_event_new_eos());
  eos_timeout_ = g_timeout_add(
      kEosTimeoutMs,
      [](gpointer data) -> gboolean {
        auto* self = static_cast<Channel*>(data);
        self->eos_timeout_ = 0;
        log_line(self->options_.name, "the pipeline did not finish in time; closing its playlists");
        for (std::size_t n = 0; n < self->options_.config.hls.size(); ++n) {
          close_playlist_file(self->options_.output_dir + "/" + std::to_string(n) + "/index.m3u8");
        }
        self->finish_eos();
        return G_SOURCE_REMOVE;
      },
      this);
}

void Channel::finish_eos() {
  if (eos_timeout_) {
    g_source_remove(eos_timeout_);
    eos_timeout_ = 0;
  }
  if (auto next = std::exchange(after_eos_, nullptr)) next();
}

gboolean Channel::on_bus(GstBus*, GstMessage* message, gpointer data) {
  auto* self = static_cast<Channel*>(data);
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_EOS: self->finish_eos(); break;
    case GST_MESSAGE_ERROR: {
      GError* error = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(message, &error, &debug);
      const std::string why = std::string("error from ") + GST_OBJECT_NAME(GST_MESSAGE_SRC(message)) + ": " +
                              (error ? error->message : "unknown") + (debug ? std::string(" (") + debug + ")" : "");
      g_clear_error(&error);
      g_free(debug);
      if (self->after_eos_) {
        // Failing while ending: the broadcast is over either way.
        self->bus_watch_ = 0;
        self->finish_eos();
        return G_SOURCE_REMOVE;
      }
      self->bus_watch_ = 0;  // teardown must not remove the source we return from
      self->schedule_restart(why);
      return G_SOURCE_REMOVE;
    }
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name(message, "nagare-hls-key")) self->on_key(message);
      break;
    case GST_MESSAGE_WARNING: {
      GError* error = nullptr;
      gst_message_parse_warning(message, &error, nullptr);
      log_line(self->options_.name, std::string("warning from ") + GST_OBJECT_NAME(GST_MESSAGE_SRC(message)) + ": " +
                                        (error ? error->message : "unknown"));
      g_clear_error(&error);
      break;
    }
    default: break;
  }
  return G_SOURCE_CONTINUE;
}

void Channel::on_tick() {
  if (!pipeline_ || !probes_ || after_eos_) return;
  const std::int64_t now = now_us();
  const std::int64_t last_packet = probes_->last_packet.load(std::memory_order_relaxed);
  const ChannelState before = lifecycle_.state();
  const auto action = lifecycle_.tick(now, last_packet);
  if (action == Lifecycle::Action::kBroadcastStarted) probes_->first_packet = last_packet;
  if (lifecycle_.state() != before) log_line(options_.name, std::string(to_string(lifecycle_.state())));

  read_element_stats();
  const double dt = static_cast<double>(now - last_tick_) / 1e6;
  if (dt >= 1.0) {
    for (std::size_t n = 0; n < probes_->video.size(); ++n) {
      const auto frames = probes_->video[n]->frames.load(std::memory_order_relaxed);
      rendition_figures_[n].encoder_fps = static_cast<double>(frames - last_frames_[n]) / dt;
      last_frames_[n] = frames;
    }
    last_tick_ = now;
  }
  write_multivariant_if_ready();

  if (action == Lifecycle::Action::kEndBroadcast) {
    log_line(options_.name, "no packets for " + std::to_string(static_cast<int>(options_.config.idle_timeout)) +
                                " s: ending the broadcast");
    end_broadcast_then([this] {
      teardown();
      if (stopping_) return;
      lifecycle_.listening(true);
      std::string error;
      if (!build(&error)) schedule_restart(error);
    });
  }
}

void Channel::read_element_stats() {
  if (auto align = by_name(pipeline_.get(), "align")) {
    GstStructure* stats = nullptr;
    g_object_get(align.get(), "stats", &stats, nullptr);
    if (stats) {
      std::uint64_t lost = 0;
      gst_structure_get_uint64(stats, "latency", &latency_ns_);
      for (int i = 0; i < gst_structure_n_fields(stats); ++i) {
        const GValue* v = gst_structure_get_value(stats, gst_structure_nth_field_name(stats, i));
        if (!GST_VALUE_HOLDS_STRUCTURE(v)) continue;
        const GstStructure* stream = gst_value_get_structure(v);
        std::uint64_t l = 0;
        if (gst_structure_get_uint64(stream, "lost", &l)) lost += l;
        const gchar* media = gst_structure_get_string(stream, "media");
        gint64 offset = 0;
        if (media && std::strcmp(media, "video") == 0 && gst_structure_get_int64(stream, "av-offset", &offset)) {
          av_offset_ns_ = offset;
        }
      }
      packets_lost_ = lost;  // of this pipeline; lost_before_ has the earlier ones
      gst_structure_free(stats);
    }
  }
  for (std::size_t n = 0; n < rendition_figures_.size(); ++n) {
    auto sink = by_name(pipeline_.get(), "hls" + std::to_string(n));
    if (!sink) continue;
    GstStructure* stats = nullptr;
    g_object_get(sink.get(), "stats", &stats, nullptr);
    if (!stats) continue;
    guint64 segments = 0;
    if (gst_structure_get_uint64(stats, "segments", &segments)) {
      rendition_figures_[n].segments = segments_before_[n] + segments;
    }
    gst_structure_free(stats);
  }
}

void Channel::write_multivariant_if_ready() {
  if (multivariant_written_) return;
  const auto& config = options_.config;
  std::vector<VariantInfo> variants;
  for (std::size_t n = 0; n < config.hls.size(); ++n) {
    auto& video = *probes_->video[n];
    if (!video.known.load()) return;
    // Nothing to point players at until the rendition has a segment.
    if (rendition_figures_[n].segments == 0) return;
    const Rendition& r = config.hls[n];
    VariantInfo info;
    {
      std::lock_guard lock(video.mutex);
      info.video_codec = *video.codec;
      info.width = video.width;
      info.height = video.height;
      info.frame_rate = video.fps;
    }
    info.uri = std::to_string(n) + "/index.m3u8";
    info.audio_codec = audio_codec_string(r.audio.codec);
    std::int64_t video_bps = r.video.bps;
    if (video_bps == 0) {
      // Passthrough at whatever rate the publisher sends: measured.
      const double seconds = static_cast<double>(now_us() - probes_->first_packet) / 1e6;
      video_bps = seconds > 0 ? static_cast<std::int64_t>(probes_->video_bytes.load() * 8 / seconds) : 0;
    }
    estimate_bandwidth(r, video_bps, info.frame_rate, config.segment_duration, info);
    variants.push_back(std::move(info));
  }
  const std::string path = options_.output_dir + "/index.m3u8";
  if (const int e = write_file_atomically(path, render_multivariant(variants))) {
    log_line(options_.name, path + ": " + std::strerror(e));
    return;
  }
  multivariant_written_ = true;
  broadcast_started_ms_ = unix_now_ms();
  event("hls.started", {{"broadcast", broadcast_}, {"renditions", config.hls.size()}});
}

void Channel::event(const std::string& type, const nlohmann::json& data) {
  if (options_.on_event) options_.on_event(type, data);
}

// A sink made a key (at its start, and with rotation one period ahead of
// each new one): it goes to the event webhook now, well before a player can
// need it, and is kept for the archive's MP4.
void Channel::on_key(GstMessage* message) {
  const GstStructure* s = gst_message_get_structure(message);
  const gchar* id = gst_structure_get_string(s, "key-id");
  const gchar* key = gst_structure_get_string(s, "key");
  const gchar* iv = gst_structure_get_string(s, "iv");
  const gchar* uri = gst_structure_get_string(s, "uri");
  guint64 first = 0;
  gst_structure_get_uint64(s, "first-segment", &first);
  if (!id || !key || !iv || !uri) return;
  keys_[uri] = ArchiveKey{key, iv};
  // The sink is hls<n>.
  const char* name = GST_OBJECT_NAME(GST_MESSAGE_SRC(message));
  const long rendition = name && std::strncmp(name, "hls", 3) == 0 ? std::strtol(name + 3, nullptr, 10) : -1;
  event("key.created", {{"broadcast", broadcast_},
                        {"rendition", rendition},
                        {"key_id", id},
                        {"key", key},
                        {"iv", std::string("0x") + iv},
                        {"uri", uri},
                        {"first_segment", first}});
}

// The pipeline of a broadcast is going away: its HLS has ended, and an
// archived channel's broadcast goes to its destination.
void Channel::broadcast_over() {
  if (!multivariant_written_) return;  // nothing was ever playable
  multivariant_written_ = false;
  event("hls.ended", {{"broadcast", broadcast_}});
  const auto& config = options_.config;
  if (!config.archive || !options_.on_archive) return;
  ArchiveRequest request;
  request.label = options_.label.empty() ? options_.name : options_.label;
  request.broadcast = broadcast_;
  for (std::size_t n = 0; n < config.hls.size(); ++n) {
    const std::string folder = options_.output_dir + "/" + std::to_string(n);
    request.renditions.push_back({n, folder, folder + "/" + archive_playlist_name(broadcast_)});
  }
  request.top = top_rendition(config);
  request.audio = config.hls[request.top].audio.codec;
  request.multivariant = read_file(options_.output_dir + "/index.m3u8").value_or("");
  request.keys = keys_;
  request.started_ms = broadcast_started_ms_;
  request.ended_ms = unix_now_ms();
  options_.on_archive(std::move(request));
}

void Channel::set_key_frame_listener(std::function<void()> listener) {
  std::lock_guard lock(key_frames_->mutex);
  key_frames_->listener = std::move(listener);
}

ChannelFigures Channel::figures() const {
  ChannelFigures f;
  f.state = lifecycle_.state();
  f.broadcast = broadcast_;
  f.bytes_in = bytes_before_ + (probes_ ? probes_->bytes.load() : 0);
  f.packets_in = packets_before_ + (probes_ ? probes_->packets.load() : 0);
  f.packets_lost = lost_before_ + packets_lost_;
  f.av_offset_ns = av_offset_ns_;
  f.latency_ns = latency_ns_;
  f.restarts = restarts_;
  f.renditions = rendition_figures_;
  return f;
}

void close_playlist_file(const std::string& path) {
  auto text = read_file(path);
  if (!text || text->empty() || text->find("#EXT-X-ENDLIST") != std::string::npos) return;
  if (text->back() != '\n') *text += '\n';
  *text += "#EXT-X-ENDLIST\n";
  write_file_atomically(path, *text);
}

}  // namespace nagare::launcher
