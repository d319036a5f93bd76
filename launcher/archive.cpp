#include "archive.hpp"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <span>
#include <thread>

#include "common/gst_ptr.hpp"
#include "files.hpp"
#include "log.hpp"
#include "media_playlist.hpp"
#include "segment_crypto.hpp"

namespace nagare::launcher {

namespace fs = std::filesystem;

namespace {

// The remux waits this long for the muxer after the last segment (a
// broadcast of hours is parsed long before: the muxer only writes its index).
constexpr GstClockTime kRemuxFinish = 120 * GST_SECOND;

class LocalDirectory final : public ArchiveDestination {
 public:
  explicit LocalDirectory(std::string root) : root_(std::move(root)) {}
  std::string describe() const override { return root_; }

  bool put_file(const std::string& relative, const std::string& local_path, std::string* error) override {
    const fs::path target = fs::path(root_) / relative;
    const fs::path temporary = target.string() + ".tmp";
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (!ec) fs::copy_file(local_path, temporary, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(temporary, target, ec);
    if (ec) {
      fs::remove(temporary, ec);
      *error = target.string() + ": " + ec.message();
      return false;
    }
    return true;
  }

  bool put_text(const std::string& relative, const std::string& text, std::string* error) override {
    const fs::path target = fs::path(root_) / relative;
    int e = make_dirs(target.parent_path().string());
    if (e == 0) e = write_file_atomically(target.string(), text);
    if (e != 0) *error = target.string() + ": " + std::strerror(e);
    return e == 0;
  }

  std::string locate(const std::string& relative) const override { return (fs::path(root_) / relative).string(); }

 private:
  std::string root_;
};

// A segment URI that names a file in the rendition's own folder: what the
// sink writes. Anything else is not ours to copy.
bool plain_name(const std::string& uri) {
  return !uri.empty() && uri.find('/') == std::string::npos && uri != "." && uri != "..";
}

// What the MP4's pipeline needs: tsdemux's pads are made as it finds the
// streams, and each goes to the branch of its kind.
struct Remux {
  GstPtr<GstElement> pipeline;
  GstElement* video = nullptr;  // first element of each branch, owned by the pipeline
  GstElement* audio = nullptr;
};

void on_demux_pad(GstElement*, GstPad* pad, gpointer data) {
  auto* r = static_cast<Remux*>(data);
  auto caps = GstPtr<GstCaps>::adopt(gst_pad_get_current_caps(pad));
  if (!caps) caps = GstPtr<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
  const gchar* name = gst_structure_get_name(gst_caps_get_structure(caps.get(), 0));
  GstElement* branch = g_str_has_prefix(name, "video/x-h264") ? r->video
                       : g_str_has_prefix(name, "audio/mpeg") ? r->audio
                                                              : nullptr;
  if (!branch) return;
  auto sink = GstPtr<GstPad>::adopt(gst_element_get_static_pad(branch, "sink"));
  if (!gst_pad_is_linked(sink.get())) gst_pad_link(pad, sink.get());
}

GstElement* add(GstElement* bin, const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (e) gst_bin_add(GST_BIN(bin), e);
  return e;
}

// The top rendition's segments, decrypted, remuxed into one MP4 at `path`.
bool remux_mp4(const MediaPlaylist& playlist, const std::string& folder, const ArchiveRequest& request,
               const std::string& path, std::string* error) {
  Remux r;
  r.pipeline = GstPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("archive"))));
  GstElement* bin = r.pipeline.get();
  GstElement* src = add(bin, "appsrc");
  GstElement* demux = add(bin, "tsdemux");
  r.video = add(bin, "queue");
  GstElement* h264 = add(bin, "h264parse");
  r.audio = add(bin, "queue");
  GstElement* audio_parse = add(bin, request.audio == AudioCodec::kAac ? "aacparse" : "mpegaudioparse");
  GstElement* mux = add(bin, "mp4mux");
  GstElement* sink = add(bin, "filesink");
  if (!src || !demux || !h264 || !audio_parse || !mux || !sink || !r.video || !r.audio) {
    *error = "an element for the MP4 is missing (tsdemux, h264parse, mp4mux: gst-plugins-good and -bad)";
    return false;
  }
  auto caps = GstPtr<GstCaps>::adopt(gst_caps_from_string("video/mpegts,systemstream=true,packetsize=188"));
  g_object_set(src, "caps", caps.get(), "format", GST_FORMAT_BYTES, "block", TRUE, "max-bytes",
               static_cast<guint64>(8 << 20), nullptr);
  g_object_set(mux, "faststart", TRUE, nullptr);
  g_object_set(sink, "location", path.c_str(), nullptr);
  if (!gst_element_link(src, demux) || !gst_element_link_many(r.video, h264, mux, nullptr) ||
      !gst_element_link_many(r.audio, audio_parse, mux, nullptr) || !gst_element_link(mux, sink)) {
    *error = "the MP4 pipeline would not link";
    return false;
  }
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), &r);
  if (gst_element_set_state(bin, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "the MP4 pipeline would not start";
    return false;
  }

  bool fed = true;
  for (const MediaSegment& segment : playlist.segments) {
    const auto bytes = read_file(folder + "/" + segment.uri);
    if (!bytes) {
      *error = segment.uri + ": " + std::strerror(errno);
      fed = false;
      break;
    }
    std::span<const std::uint8_t> data(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size());
    std::optional<std::vector<std::uint8_t>> plain;
    if (segment.key && segment.key->method == "AES-128") {
      const auto it = request.keys.find(segment.key->uri);
      const auto key = it == request.keys.end() ? std::nullopt : hex16(it->second.key_hex);
      const auto iv = hex16(segment.key->iv.empty() && it != request.keys.end() ? it->second.iv_hex : segment.key->iv);
      if (key && iv) plain = decrypt_segment(data, *key, *iv);
      if (!plain) {
        *error = segment.uri + ": no key that decrypts it";
        fed = false;
        break;
      }
      data = *plain;
    }
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, data.size(), nullptr);
    gst_buffer_fill(buffer, 0, data.data(), data.size());
    if (gst_app_src_push_buffer(GST_APP_SRC(src), buffer) != GST_FLOW_OK) {
      *error = "the MP4 pipeline stopped taking data";
      fed = false;
      break;
    }
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(bin));
  auto message = GstPtr<GstMessage>::adopt(gst_bus_timed_pop_filtered(
      bus.get(), fed ? kRemuxFinish : 0, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  bool ok = fed && message && GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_EOS;
  if (fed && !ok) {
    GError* gerror = nullptr;
    if (message) gst_message_parse_error(message.get(), &gerror, nullptr);
    *error = std::string("making the MP4: ") + (gerror ? gerror->message : "it did not finish in time");
    g_clear_error(&gerror);
  }
  gst_element_set_state(bin, GST_STATE_NULL);
  return ok;
}

ArchiveResult run(ArchiveDestination& dest, const ArchiveRequest& request, const std::string& work_dir) {
  ArchiveResult result;
  const std::string base = request.label + "/b" + std::to_string(request.broadcast);
  std::optional<MediaPlaylist> top;
  std::string top_folder;
  nlohmann::json renditions = nlohmann::json::array();
  for (std::size_t i = 0; i < request.renditions.size(); ++i) {
    const ArchiveRendition& r = request.renditions[i];
    const auto text = read_file(r.playlist);
    if (!text) {
      result.error = r.playlist + ": " + std::strerror(errno);
      return result;
    }
    auto parsed = parse_media_playlist(*text);
    if (!parsed.playlist) {
      result.error = r.playlist + ": " + parsed.error;
      return result;
    }
    const std::string folder = base + "/" + std::to_string(r.index);
    for (const MediaSegment& s : parsed.playlist->segments) {
      if (!plain_name(s.uri)) {
        result.error = r.playlist + ": segment URI " + s.uri + " is not a file of the rendition";
        return result;
      }
      if (!dest.put_file(folder + "/" + s.uri, r.folder + "/" + s.uri, &result.error)) return result;
      ++result.segments;
    }
    if (!dest.put_text(folder + "/index.m3u8", render_vod(*parsed.playlist), &result.error)) return result;
    renditions.push_back({{"index", r.index},
                          {"playlist", std::to_string(r.index) + "/index.m3u8"},
                          {"segments", parsed.playlist->segments.size()},
                          {"duration", static_cast<double>(parsed.playlist->total_us()) / 1e6}});
    if (i == request.top) {
      top = std::move(parsed.playlist);
      top_folder = r.folder;
    }
  }
  if (!request.multivariant.empty() && !dest.put_text(base + "/index.m3u8", request.multivariant, &result.error)) {
    return result;
  }
  nlohmann::json manifest = {{"broadcast", request.broadcast},
                             {"started_at", rfc3339_ms(request.started_ms)},
                             {"ended_at", rfc3339_ms(request.ended_ms)},
                             {"renditions", renditions}};
  if (top && !top->segments.empty()) {
    result.duration_us = top->total_us();
    manifest["duration"] = static_cast<double>(result.duration_us) / 1e6;
    const std::string local = work_dir + "/" + request.label + "-b" + std::to_string(request.broadcast) + ".mp4";
    std::string why;
    const bool made = make_dirs(work_dir) == 0 && remux_mp4(*top, top_folder, request, local, &why);
    if (made && dest.put_file(base + "/broadcast.mp4", local, &why)) {
      result.mp4 = dest.locate(base + "/broadcast.mp4");
      manifest["mp4"] = "broadcast.mp4";
    } else {
      // The playlists and segments are there; say what is missing.
      manifest["mp4_error"] = why;
      log_line(request.label, "archive b" + std::to_string(request.broadcast) + ": no MP4: " + why);
    }
    std::error_code ec;
    fs::remove(local, ec);
  }
  if (!dest.put_text(base + "/archive.json", manifest.dump(2) + "\n", &result.error)) return result;
  result.ok = true;
  result.location = dest.locate(base);
  return result;
}

}  // namespace

std::unique_ptr<ArchiveDestination> local_directory(const std::string& root) {
  return std::make_unique<LocalDirectory>(root);
}

std::optional<std::map<std::string, std::string>> parse_destinations(const std::string& spec, std::string* error) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= spec.size() && !spec.empty()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    const std::size_t equals = item.find('=');
    const std::string id = item.substr(0, equals);
    const std::string dir = equals == std::string::npos ? "" : item.substr(equals + 1);
    if (!is_destination_id(id) || dir.empty() || dir[0] != '/') {
      *error = "--archive-destination: \"" + item + "\" is not ID=/absolute/folder";
      return std::nullopt;
    }
    if (!out.emplace(id, dir).second) {
      *error = "--archive-destination: " + id + " is given twice";
      return std::nullopt;
    }
    start = comma + 1;
  }
  return out;
}

std::size_t top_rendition(const ChannelConfig& config) {
  std::size_t best = 0;
  auto rank = [&](std::size_t n) {
    const VideoSpec& v = config.hls[n].video;
    const std::int64_t pixels = v.passthrough && v.width == 0 ? INT64_MAX : std::int64_t{v.width} * v.height;
    return std::pair(pixels, v.bps);
  };
  for (std::size_t n = 1; n < config.hls.size(); ++n) {
    if (rank(n) > rank(best)) best = n;
  }
  return best;
}

// One worker: archives are rare and each is mostly copying, so they go one
// after the other.
struct Archiver::Jobs {
  struct Job {
    ArchiveDestination* dest;
    ArchiveRequest request;
    std::function<void(ArchiveResult)> done;
  };
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> queue;
  bool stopping = false;
  std::thread worker;
};

Archiver::Archiver(std::map<std::string, std::unique_ptr<ArchiveDestination>> destinations, std::string work_dir)
    : destinations_(std::move(destinations)), work_dir_(std::move(work_dir)), jobs_(std::make_unique<Jobs>()) {
  jobs_->worker = std::thread([jobs = jobs_.get(), work = work_dir_] {
    while (true) {
      std::unique_lock lock(jobs->mutex);
      jobs->wake.wait(lock, [jobs] { return jobs->stopping || !jobs->queue.empty(); });
      if (jobs->queue.empty()) return;  // stopping, and nothing left to do
      Jobs::Job job = std::move(jobs->queue.front());
      jobs->queue.pop_front();
      lock.unlock();
      using Finished = std::pair<ArchiveResult, std::function<void(ArchiveResult)>>;
      auto* finished = new Finished(run(*job.dest, job.request, work), std::move(job.done));
      g_idle_add_full(
          G_PRIORITY_DEFAULT,
          [](gpointer data) -> gboolean {
            auto* f = static_cast<Finished*>(data);
            f->second(std::move(f->first));
            return G_SOURCE_REMOVE;
          },
          finished, [](gpointer data) { delete static_cast<Finished*>(data); });
    }
  });
}

Archiver::~Archiver() { join(); }

void Archiver::archive(const std::string& destination_id, ArchiveRequest request,
                       std::function<void(ArchiveResult)> done) {
  const auto it = destinations_.find(destination_id);
  if (it == destinations_.end()) {
    done(ArchiveResult{false, "no archive destination " + destination_id, {}, {}, 0, 0});
    return;
  }
  {
    std::lock_guard lock(jobs_->mutex);
    jobs_->queue.push_back({it->second.get(), std::move(request), std::move(done)});
  }
  jobs_->wake.notify_one();
}

void Archiver::join() {
  {
    std::lock_guard lock(jobs_->mutex);
    jobs_->stopping = true;
  }
  jobs_->wake.notify_one();
  if (jobs_->worker.joinable()) jobs_->worker.join();
}

}  // namespace nagare::launcher
