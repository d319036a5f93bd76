#include "interop_support.hpp"

#include <gst/app/gstappsink.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <gst/video/video.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <thread>

namespace nagare::interop {

void init_gstreamer() {
  static const bool initialised = [] {
    gst_init(nullptr, nullptr);
    return true;
  }();
  (void)initialised;
}

std::uint64_t fnv1a(std::span<const std::uint8_t> bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (const std::uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return h;
}

// --- Decoded frames ----------------------------------------------------------

namespace {

// A mapped GstVideoFrame for as long as this object lives.
class MappedVideoFrame {
 public:
  MappedVideoFrame(const GstVideoInfo& info, GstBuffer* buffer) {
    GstVideoInfo copy = info;
    mapped_ = gst_video_frame_map(&frame_, &copy, buffer, GST_MAP_READ);
  }
  MappedVideoFrame(const MappedVideoFrame&) = delete;
  MappedVideoFrame& operator=(const MappedVideoFrame&) = delete;
  ~MappedVideoFrame() {
    if (mapped_) gst_video_frame_unmap(&frame_);
  }
  explicit operator bool() const { return mapped_; }
  const GstVideoFrame& get() const { return frame_; }

 private:
  GstVideoFrame frame_{};
  bool mapped_ = false;
};

// Hashes the visible bytes only: stride padding is not part of the picture
// and two decoder instances need not fill it alike.
std::optional<Frame> hash_sample(GstSample* sample) {
  GstVideoInfo info;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  if (!buffer || !gst_video_info_from_caps(&info, gst_sample_get_caps(sample))) return std::nullopt;
  MappedVideoFrame mapped(info, buffer);
  if (!mapped) return std::nullopt;
  const GstVideoFrame& f = mapped.get();

  Frame frame;
  frame.readable = true;
  frame.width = GST_VIDEO_INFO_WIDTH(&info);
  frame.height = GST_VIDEO_INFO_HEIGHT(&info);
  frame.hash = fnv1a({});
  for (guint plane = 0; plane < GST_VIDEO_FRAME_N_PLANES(&f); ++plane) {
    // For the planar formats used here (I420) component i is plane i.
    const auto* data = static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&f, plane));
    const auto stride = static_cast<std::size_t>(GST_VIDEO_FRAME_PLANE_STRIDE(&f, plane));
    const auto row_bytes = static_cast<std::size_t>(GST_VIDEO_FRAME_COMP_WIDTH(&f, plane)) *
                           static_cast<std::size_t>(GST_VIDEO_FRAME_COMP_PSTRIDE(&f, plane));
    const auto rows = static_cast<std::size_t>(GST_VIDEO_FRAME_COMP_HEIGHT(&f, plane));
    for (std::size_t row = 0; row < rows; ++row) frame.hash = fnv1a({data + row * stride, row_bytes}, frame.hash);
  }
  return frame;
}

}  // namespace

FrameCollector::FrameCollector(GstElement* appsink) : state_(std::make_shared<State>()) {
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = [](GstAppSink* sink, gpointer data) -> GstFlowReturn {
    auto& state = **static_cast<std::shared_ptr<State>*>(data);
    const auto sample = GstPtr<GstSample>::adopt(gst_app_sink_pull_sample(sink));
    if (!sample) return GST_FLOW_EOS;
    const std::optional<Frame> frame = hash_sample(sample.get());
    std::lock_guard lock(state.lock);
    // An unreadable sample still counts; hashes() refuses to compare it.
    state.frames.push_back(frame.value_or(Frame{}));
    return GST_FLOW_OK;
  };
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &callbacks, new std::shared_ptr<State>(state_),
                             [](gpointer data) { delete static_cast<std::shared_ptr<State>*>(data); });
}

std::vector<Frame> FrameCollector::frames() const {
  std::lock_guard lock(state_->lock);
  return state_->frames;
}

std::vector<std::uint64_t> FrameCollector::hashes() const {
  std::vector<std::uint64_t> out;
  for (const Frame& f : frames()) {
    if (!f.readable) throw std::runtime_error("decoded frame " + std::to_string(out.size()) + " could not be mapped");
    out.push_back(f.hash);
  }
  return out;
}

std::size_t FrameCollector::count() const {
  std::lock_guard lock(state_->lock);
  return state_->frames.size();
}

std::string compare_frames(const std::vector<std::uint64_t>& got, const std::vector<std::uint64_t>& want) {
  if (got == want) return {};
  const auto first = std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first;
  return std::to_string(got.size()) + " frames against " + std::to_string(want.size()) +
         ", first difference at frame " + std::to_string(first - got.begin());
}

// --- RTP census ----------------------------------------------------------------

RtpCensusProbe::RtpCensusProbe(GstPad* pad) : state_(std::make_shared<State>()) {
  gst_pad_add_probe(
      pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
      [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
        auto& state = **static_cast<std::shared_ptr<State>*>(data);
        std::lock_guard lock(state.lock);
        if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
          state.add(gst_pad_probe_info_get_buffer(info));
        } else if (GstBufferList* list = gst_pad_probe_info_get_buffer_list(info)) {
          for (guint i = 0; i < gst_buffer_list_length(list); ++i) state.add(gst_buffer_list_get(list, i));
        }
        return GST_PAD_PROBE_OK;
      },
      new std::shared_ptr<State>(state_), [](gpointer data) { delete static_cast<std::shared_ptr<State>*>(data); });
}

RtpCensus RtpCensusProbe::get() const {
  std::lock_guard lock(state_->lock);
  return state_->census;
}

void RtpCensusProbe::State::add_nal(std::uint8_t type) {
  if (type == 1 || type == 5) slice_seen = true;
  if (type == 7 || type == 8) {
    ++census.parameter_sets;
    if (slice_seen) ++census.parameter_sets_between_slices;
  }
}

// Parsed with GStreamer's own RTP code, independent of nagare's parser.
void RtpCensusProbe::State::add(GstBuffer* buffer) {
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map(buffer, GST_MAP_READ, &rtp)) return;
  ++census.packets;
  const std::uint32_t ts = gst_rtp_buffer_get_timestamp(&rtp);
  if (!have_timestamp || ts != timestamp) slice_seen = false;
  have_timestamp = true;
  timestamp = ts;

  const auto* payload = static_cast<const std::uint8_t*>(gst_rtp_buffer_get_payload(&rtp));
  const guint size = gst_rtp_buffer_get_payload_len(&rtp);
  const std::uint8_t type = size > 0 ? (payload[0] & 0x1f) : 0;
  if (type >= 1 && type <= 23) {
    ++census.single;
    add_nal(type);
  } else if (type == 24) {  // RFC 6184 §5.7.1: [16-bit size][NAL unit]...
    ++census.stap_a;
    for (guint pos = 1; pos + 2 < size;) {
      const auto unit = static_cast<guint>((payload[pos] << 8) | payload[pos + 1]);
      add_nal(payload[pos + 2] & 0x1f);
      pos += 2 + unit;
    }
  } else if (type == 28 && size >= 2) {  // §5.8: the type is in the FU header
    ++census.fu_a;
    if (payload[1] & 0x80) add_nal(payload[1] & 0x1f);
  } else {
    ++census.other;
  }
  gst_rtp_buffer_unmap(&rtp);
}

// --- Pipelines -----------------------------------------------------------------

Pipeline::Pipeline(const std::string& description) {
  init_gstreamer();
  GError* error = nullptr;
  GstElement* element = gst_parse_launch(description.c_str(), &error);
  if (error) {
    const std::string message = error->message;
    g_error_free(error);
    if (element) gst_object_unref(gst_object_ref_sink(element));
    throw std::runtime_error("cannot parse pipeline: " + message + "\n  " + description);
  }
  pipeline_ = GstPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(element)));
  bus_ = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
}

Pipeline::~Pipeline() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

GstPtr<GstElement> Pipeline::element(const char* name) const {
  auto e = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline_.get()), name));
  if (!e) throw std::runtime_error(std::string("no element named ") + name);
  return e;
}

void Pipeline::set_state(GstState state) {
  if (gst_element_set_state(pipeline_.get(), state) == GST_STATE_CHANGE_FAILURE) {
    std::string error = poll_error(milliseconds(0));
    throw std::runtime_error(std::string("cannot go to ") + gst_element_state_get_name(state) + ": " + error);
  }
}

void Pipeline::send_eos() { gst_element_send_event(pipeline_.get(), gst_event_new_eos()); }

namespace {

std::string describe_error(GstMessage* message) {
  GError* error = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  std::string out = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(message))) + ": " + error->message;
  if (debug) out += std::string(" (") + debug + ")";
  g_error_free(error);
  g_free(debug);
  return out;
}

}  // namespace

std::string Pipeline::wait_for_eos(milliseconds timeout) {
  const auto ns = static_cast<GstClockTime>(std::chrono::nanoseconds(timeout).count());
  const auto message = GstPtr<GstMessage>::adopt(
      gst_bus_timed_pop_filtered(bus_.get(), ns, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  if (!message) return "timeout waiting for EOS";
  if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_EOS) return {};
  return describe_error(message.get());
}

std::string Pipeline::poll_error(milliseconds wait) {
  const auto ns = static_cast<GstClockTime>(std::chrono::nanoseconds(wait).count());
  const auto message = GstPtr<GstMessage>::adopt(gst_bus_timed_pop_filtered(bus_.get(), ns, GST_MESSAGE_ERROR));
  return message ? describe_error(message.get()) : std::string();
}

GstPtr<GstStructure> depay_stats(GstElement* depay) {
  GstStructure* stats = nullptr;
  g_object_get(depay, "stats", &stats, nullptr);
  return GstPtr<GstStructure>::adopt(stats);
}

std::uint64_t stat(const GstPtr<GstStructure>& stats, const char* field) {
  guint64 value = 0;
  if (!stats || !gst_structure_get_uint64(stats.get(), field, &value))
    throw std::runtime_error(std::string("stats has no guint64 field ") + field);
  return value;
}

std::string to_string(const GstStructure* s) {
  if (!s) return "(none)";
  const std::unique_ptr<gchar, GFreeDeleter> text(gst_structure_to_string(s));
  return text.get();
}

// --- Child processes -------------------------------------------------------------

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  std::vector<gchar*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<gchar*>(a.c_str()));
  args.push_back(nullptr);
  GError* error = nullptr;
  const auto flags = static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                              G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDIN_FROM_DEV_NULL);
  // Runs in the child between fork and exec: only async-signal-safe calls.
  const GSpawnChildSetupFunc die_with_parent = [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGKILL); };
  if (!g_spawn_async(nullptr, args.data(), nullptr, flags, die_with_parent, nullptr, &pid_, &error)) {
    const std::string message = error->message;
    g_error_free(error);
    throw std::runtime_error("cannot start " + argv.front() + ": " + message);
  }
}

std::optional<int> ChildProcess::wait(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!status_) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) {
      g_spawn_close_pid(pid_);
      status_ = r < 0 ? -1 : status;
      break;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return status_;
}

void ChildProcess::kill() {
  if (status_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  status_ = waitpid(pid_, &status, 0) == pid_ ? status : -1;
  g_spawn_close_pid(pid_);
}

bool exited_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string describe_status(int status) {
  if (status < 0) return "lost (waitpid failed)";
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace nagare::interop
