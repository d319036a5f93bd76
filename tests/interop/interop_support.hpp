// What the interop tests share: pipelines that always go back to NULL,
// appsinks whose decoded frames are hashed as they arrive, a census of the
// RTP packets a packetizer produced, and child processes (ffmpeg,
// gst-launch-1.0) that are killed on every path out of a test.
#pragma once

#include <gst/gst.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/gst_ptr.hpp"

namespace nagare::interop {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// gst_init once per process.
void init_gstreamer();

// 64-bit FNV-1a; `seed` continues an earlier hash.
std::uint64_t fnv1a(std::span<const std::uint8_t> bytes, std::uint64_t seed = 0xcbf29ce484222325ull);

struct Frame {
  bool readable = false;   // false: the sample had no video caps or did not map
  std::uint64_t hash = 0;  // over the visible pixels of every plane, row by row
  int width = 0;
  int height = 0;
};

// Hashes every sample an appsink receives, on the streaming thread, so no
// frame is queued in memory and a live pipeline never stalls on the sink.
class FrameCollector {
 public:
  explicit FrameCollector(GstElement* appsink);
  std::vector<Frame> frames() const;
  // Throws if any frame was unreadable, so such frames never compare equal.
  std::vector<std::uint64_t> hashes() const;
  std::size_t count() const;

 private:
  struct State {
    mutable std::mutex lock;
    std::vector<Frame> frames;
  };
  // Shared with the appsink's callbacks, which may outlive this object.
  std::shared_ptr<State> state_;
};

// Empty when the two hash sequences are identical, otherwise their lengths
// and the first frame where they differ: readable where a dump of two
// vectors of 64-bit numbers is not.
std::string compare_frames(const std::vector<std::uint64_t>& got, const std::vector<std::uint64_t>& want);

// NAL unit types seen in the RTP packets of one pad (RFC 6184 §5.2).
struct RtpCensus {
  std::size_t packets = 0;
  std::size_t single = 0;  // single NAL unit packets
  std::size_t stap_a = 0;
  std::size_t fu_a = 0;
  std::size_t other = 0;
  std::size_t parameter_sets = 0;  // SPS and PPS NAL units, however carried
  // SPS or PPS after a slice with the same RTP timestamp: parameter sets in
  // the middle of one picture.
  std::size_t parameter_sets_between_slices = 0;
};

// Counts what passes a payloader's src pad (buffers and buffer lists).
class RtpCensusProbe {
 public:
  explicit RtpCensusProbe(GstPad* pad);
  RtpCensus get() const;

 private:
  struct State {
    mutable std::mutex lock;
    RtpCensus census;
    bool have_timestamp = false;
    std::uint32_t timestamp = 0;
    bool slice_seen = false;
    void add(GstBuffer* buffer);
    void add_nal(std::uint8_t type);
  };
  std::shared_ptr<State> state_;
};

// A parsed pipeline that is set back to NULL however the test leaves.
class Pipeline {
 public:
  explicit Pipeline(const std::string& description);  // throws on a parse error
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline();

  GstElement* get() const { return pipeline_.get(); }
  GstPtr<GstElement> element(const char* name) const;  // throws when absent

  void set_state(GstState state);  // throws when the change fails
  void play() { set_state(GST_STATE_PLAYING); }
  void send_eos();

  // Waits for EOS. Returns an empty string on EOS, otherwise what went wrong
  // (an error message from the bus, or the timeout).
  std::string wait_for_eos(milliseconds timeout);
  // The first error posted on the bus, waiting at most `wait` for one;
  // empty when there is none.
  std::string poll_error(milliseconds wait);

 private:
  GstPtr<GstElement> pipeline_;
  GstPtr<GstBus> bus_;
};

// The `stats` structure of a nagareh264depay.
GstPtr<GstStructure> depay_stats(GstElement* depay);
std::uint64_t stat(const GstPtr<GstStructure>& stats, const char* field);
// A structure as text, for test messages.
std::string to_string(const GstStructure* s);

// A child process. The destructor kills it (SIGKILL) and reaps it if it is
// still running, so no test leaves one behind; the child also gets SIGKILL
// if the test process dies first (PR_SET_PDEATHSIG). Its stdout goes to
// /dev/null (ffmpeg prints an SDP there), its stderr is inherited so errors
// end up in the test log.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);  // throws when it cannot start
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { kill(); }

  // The exit status (as waitpid reports it) once the child has ended, or
  // nullopt if it is still running after `timeout`.
  std::optional<int> wait(milliseconds timeout);
  void kill();
  GPid pid() const { return pid_; }

 private:
  GPid pid_ = 0;
  std::optional<int> status_;  // set once reaped
};

// Whether a waitpid status says "exited with code 0".
bool exited_cleanly(int status);
std::string describe_status(int status);

// Polls the bus for errors until `done()` holds or `timeout` passes.
// Returns an error message, "timeout", or an empty string when done.
template <typename Done>
std::string wait_until(Pipeline& pipeline, milliseconds timeout, Done&& done) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return {};
    if (Clock::now() >= deadline) return "timeout";
    if (std::string error = pipeline.poll_error(milliseconds(20)); !error.empty()) return error;
  }
}

// Waits until `count()` has not changed for `quiet` (what a live receiver
// has once its sender stopped and the jitter buffer emptied), polling the
// bus for errors. Returns as wait_until() does.
template <typename Count>
std::string wait_until_quiet(Pipeline& pipeline, milliseconds timeout, milliseconds quiet, Count&& count) {
  std::size_t seen = count();
  auto quiet_since = Clock::now();
  return wait_until(pipeline, timeout, [&] {
    if (const std::size_t now = count(); now != seen) {
      seen = now;
      quiet_since = Clock::now();
    }
    return Clock::now() - quiet_since > quiet;
  });
}

}  // namespace nagare::interop
