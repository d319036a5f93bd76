// CPU per packet of nagarealign next to rtpjitterbuffer on the same
// two-stream RTP trace, and their ratio.
//
// The trace (align_trace.cpp) is made once, in memory, from a fixed seed:
// --seconds (60) of 48 kHz Opus-like audio (pt 111, a 20 ms packet of
// 90-110 payload bytes) and 30 fps H.264-like video (pt 96, a key frame of
// 12 packets every 2 s, other frames 1-8 packets, 1050-1150 payload bytes).
// Payload bytes are filler: neither element reads them. Each packet arrives
// 20 ms + uniform 0-40 ms after it is sent, 0.5% of them 40-80 ms later
// still (reordering beyond the jitter), and 1% never arrive. Arrival time
// is the buffer's PTS, in a TIME segment from 0.
//
// Three pipelines take the trace, one stream per pad of ours, pushed in
// arrival order from this thread:
//   baseline         identity ! fakesink, one per stream
//   nagarealign      one element, audio into sink_0 and video into sink_1,
//                    src_N ! fakesink
//   rtpjitterbuffer  one per stream, mode=slave (the default) ! fakesink
// both buffers with latency=--latency (200 ms).
//
// Time. The pipeline runs on a clock that this thread drives: before each
// push it is set to that packet's arrival and every clock wait due by then
// is let go; then this thread waits until every other thread of the
// process sleeps again (their /proc state), so the elements do what they
// were woken for before the next packet, as they would live with
// milliseconds between arrivals. (Without that wait this thread races
// seconds of media ahead, and both buffers let packets go in large, late
// batches: fewer wake-ups than live.) The waiting is not counted. After the
// last packet the clock steps on, 5 ms at a time, past the last due time;
// only then do both pads get EOS. --clock picks the clock (default both,
// one after the other):
//   test    GstTestClock. Its waits all sleep on one GCond: letting one go,
//           or cutting one short, wakes every thread waiting on the clock,
//           and the woken thread then blocks again on the clock's lock.
//           That costs an element per clock wait, not per packet, so it
//           weighs on nagarealign (a wait per audio packet and per video
//           frame) far more than on rtpjitterbuffer (a wait per gap).
//   manual  a clock of our own (align_clock.cpp) with GstSystemClock's
//           manners: a wait for a time already past returns at once, and
//           each wait wakes only its own thread, after the clock's lock is
//           let go. The closer of the two to a live pipeline.
//
// Checks. The packets that reach each fakesink are counted, and a run that
// lost more than 1% of what went in (or output more) fails; "by the clock"
// says how many had left before EOS. The checked run also prints the mean
// hold (clock time from arrival to the fakesink: nagarealign holds every
// packet about latency minus its lateness, rtpjitterbuffer only what waits
// behind a gap, as it pushes packets that are in order at once), the
// elements' own stats, and the clock waits per packet.
//
// The figure is CPU time of the whole process (CLOCK_PROCESS_CPUTIME_ID:
// this thread, the elements' task and timer threads, kernel time included)
// from the first push to the EOS message, less this thread's CPU while it
// waits for the others to sleep, per packet pushed. Buffers are made fresh
// for every run before the clock starts, so each pushed buffer is writable,
// as udpsrc's are. One warm-up run of each variant is checked and thrown
// away; then --runs (5) rounds run each variant once, the order reversed
// every other round. Medians are printed raw and minus the baseline of the
// same round (feeding, pads, clock stepping and fakesink are in both), and
// the ratio rtpjitterbuffer/nagarealign of the latter: above 1 means
// nagarealign costs less per packet. Context switches are those of every
// thread but this one: mostly the elements' wake-ups.
//
// Run directly (GST_PLUGIN_PATH must name the folder of libgstnagare.so):
//   GST_PLUGIN_PATH=build/plugins build/bench/align-bench [--runs N]
//       [--seconds S] [--latency MS] [--seed N] [--clock test|manual|both]
//       [--only baseline|nagarealign|rtpjitterbuffer]
// or through meson: meson test -C build --benchmark -v align
// Most of both elements' CPU is waking threads, and what a wake-up across
// cores costs depends on what the other cores are doing (in a VM, on the
// host too): unpinned figures move by 2x with the machine's load. For
// figures to compare from day to day, pin the process to one CPU:
//   GST_PLUGIN_PATH=build/plugins taskset -c 1 build/bench/align-bench
//
// Instruction counts with callgrind. Instrumentation is switched on from
// the first push to EOS (all threads), and this thread's waiting for the
// others is left out of the counts, so trace generation, pipeline set-up
// and tear-down and the waiting are not counted. For each VARIANT:
//   GST_PLUGIN_PATH=build/plugins valgrind --tool=callgrind --instr-atstart=no
//       --fair-sched=yes --callgrind-out-file=/tmp/align-VARIANT.cg
//       build/bench/align-bench --only VARIANT --runs 1 --clock manual
//   callgrind_annotate /tmp/align-VARIANT.cg | head -40
//   callgrind_annotate --inclusive=yes /tmp/align-VARIANT.cg | less
// Ir per packet = PROGRAM TOTALS over "packets pushed per run" (the run
// prints it); subtract baseline's for the element's own. Under valgrind one
// thread runs at a time, so this thread sleeps 1 ms after each step to let
// the others finish; compare Ir, not the CPU figures printed under
// valgrind. Ir leaves out the kernel: the futex and scheduler work of each
// wake-up, a large part of both elements' cost, shows only in the CPU time.
#include <gst/gst.h>
#include <sched.h>
#include <sys/resource.h>
#include <ctime>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_TOGGLE_COLLECT
#define RUNNING_ON_VALGRIND 0
#endif

#include "align_clock.hpp"
#include "align_trace.hpp"
#include "common/gst_ptr.hpp"
#include "summary.hpp"

namespace {

using nagare::bench::summarize;
using nagare::bench::Summary;

using nagare::GstPtr;
using nagare::bench::ClockKind;
using nagare::bench::DrivenClock;
using nagare::bench::IdleWatch;
using nagare::bench::kAudio;
using nagare::bench::kMs;
using nagare::bench::kVideo;
using nagare::bench::make_trace;
using nagare::bench::Packet;
using nagare::bench::Trace;

constexpr std::array<const char*, 2> kStreamName = {"audio", "video"};
constexpr std::array<const char*, 2> kCaps = {
    "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111",
    "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=96"};

enum class Variant { baseline, align, jitterbuffer };
constexpr std::array<Variant, 3> kVariants = {Variant::baseline, Variant::align, Variant::jitterbuffer};

const char* name_of(Variant v) {
  switch (v) {
    case Variant::baseline: return "baseline";
    case Variant::align: return "nagarealign";
    case Variant::jitterbuffer: return "rtpjitterbuffer";
  }
  return "?";
}

struct Options {
  int seconds = 60;
  int runs = 5;
  int latency_ms = 200;
  std::uint64_t seed = 1;
  std::vector<ClockKind> clocks = {ClockKind::test, ClockKind::manual};
  std::optional<Variant> only;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "align-bench: %s\n", why.c_str());
  std::exit(2);
}

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Context switches of every thread but this one.
long others_context_switches() {
  rusage all{}, mine{};
  getrusage(RUSAGE_SELF, &all);
  getrusage(RUSAGE_THREAD, &mine);
  return all.ru_nvcsw + all.ru_nivcsw - mine.ru_nvcsw - mine.ru_nivcsw;
}

GstPtr<GstElement> launch(const std::string& description) {
  GError* error = nullptr;
  GstElement* element = gst_parse_launch(description.c_str(), &error);
  if (error) die("cannot build '" + description + "': " + error->message);
  return GstPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(element)));
}

GstPtr<GstElement> child(GstElement* bin, const char* name) {
  auto element = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(bin), name));
  if (!element) die(std::string("no element ") + name);
  return element;
}

GstPtr<GstPad> static_pad(GstElement* element, const char* name) {
  auto pad = GstPtr<GstPad>::adopt(gst_element_get_static_pad(element, name));
  if (!pad) die(std::string("no pad ") + name + " on " + GST_ELEMENT_NAME(element));
  return pad;
}

// --- One run ---------------------------------------------------------------------

struct RunResult {
  double cpu = 0;                           // process CPU seconds, first push to EOS, less settle()
  long switches = 0;                        // context switches meanwhile, every thread but ours
  std::array<std::uint64_t, 2> out{};       // packets that reached each fakesink
  std::array<std::uint64_t, 2> by_clock{};  // of them, before EOS was sent
  // Checked runs only: mean clock time from arrival to the fakesink (ns),
  // and the buffer's own counters.
  bool checked = false;
  std::array<std::int64_t, 2> mean_hold{};
  std::string stats;
  nagare::bench::ClockCounts clock;
};

// What a fakesink's probe records. The hold is measured only when `clock`
// is set: reading the clock takes its lock, which the timed runs avoid.
struct SinkCount {
  std::atomic<std::uint64_t> buffers{0};
  std::atomic<std::int64_t> held{0};
  GstClock* clock = nullptr;
  std::int64_t base = 0;
};

// Our pads, the element(s) under test, and a fakesink per stream, on a
// clock that this thread moves forward.
class Run {
 public:
  Run(Variant variant, ClockKind clock, const Options& options)
      : variant_(variant), latency_(options.latency_ms * kMs), clock_(clock) {
    const std::string sinks = " fakesink name=out0 sync=false async=false fakesink name=out1 sync=false async=false";
    const std::string latency = " latency=" + std::to_string(options.latency_ms);
    std::array<GstPtr<GstPad>, 2> targets;
    if (variant == Variant::align) {
      pipeline_ = launch("nagarealign name=under_test" + latency + sinks);
      auto align = child(pipeline_.get(), "under_test");
      for (std::size_t s = 0; s < 2; ++s) {
        const std::string sink_name = "sink_" + std::to_string(s);
        requested_[s] = GstPtr<GstPad>::adopt(gst_element_request_pad_simple(align.get(), sink_name.c_str()));
        if (!requested_[s]) die("nagarealign gave no " + sink_name);
        targets[s] = requested_[s];
        auto src = static_pad(align.get(), ("src_" + std::to_string(s)).c_str());
        auto out = child(pipeline_.get(), s == 0 ? "out0" : "out1");
        if (gst_pad_link(src.get(), static_pad(out.get(), "sink").get()) != GST_PAD_LINK_OK)
          die("cannot link nagarealign's src_" + std::to_string(s));
      }
      under_test_ = {align, align};
    } else {
      const std::string element = variant == Variant::baseline ? "identity" : "rtpjitterbuffer" + latency;
      pipeline_ = launch(element + " name=e0 ! fakesink name=out0 sync=false async=false " + element +
                         " name=e1 ! fakesink name=out1 sync=false async=false");
      for (std::size_t s = 0; s < 2; ++s) {
        under_test_[s] = child(pipeline_.get(), s == 0 ? "e0" : "e1");
        targets[s] = static_pad(under_test_[s].get(), "sink");
      }
    }

    for (std::size_t s = 0; s < 2; ++s) {
      auto out = child(pipeline_.get(), s == 0 ? "out0" : "out1");
      gst_pad_add_probe(static_pad(out.get(), "sink").get(), GST_PAD_PROBE_TYPE_BUFFER, count_output, &out_[s],
                        nullptr);
      src_[s] = GstPtr<GstPad>::adopt(GST_PAD(gst_object_ref_sink(gst_pad_new(kStreamName[s], GST_PAD_SRC))));
      if (gst_pad_link(src_[s].get(), targets[s].get()) != GST_PAD_LINK_OK)
        die(std::string("cannot link the ") + kStreamName[s] + " pad");
      gst_pad_set_active(src_[s].get(), TRUE);
    }

    gst_pipeline_use_clock(GST_PIPELINE(pipeline_.get()), clock_.get());
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      die(std::string("cannot start ") + name_of(variant));
    base_ = static_cast<std::int64_t>(gst_element_get_base_time(pipeline_.get()));
    for (SinkCount& out : out_) out.base = base_;

    for (std::size_t s = 0; s < 2; ++s) {
      auto caps = GstPtr<GstCaps>::adopt(gst_caps_from_string(kCaps[s]));
      GstSegment segment;
      gst_segment_init(&segment, GST_FORMAT_TIME);
      gst_pad_push_event(src_[s].get(), gst_event_new_stream_start(kStreamName[s]));
      gst_pad_push_event(src_[s].get(), gst_event_new_caps(caps.get()));
      gst_pad_push_event(src_[s].get(), gst_event_new_segment(&segment));
    }
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  ~Run() {
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    for (std::size_t s = 0; s < 2; ++s) {
      gst_pad_set_active(src_[s].get(), FALSE);
      if (requested_[s]) gst_element_release_request_pad(under_test_[s].get(), requested_[s].get());
    }
  }

  [[gnu::noinline]] RunResult feed(const Trace& trace, bool checked) {
    // Fresh, writable buffers, made before the clock starts. Both buffers
    // rewrite the PTS; the offset keeps the arrival for the hold.
    std::vector<GstPtr<GstBuffer>> buffers;
    buffers.reserve(trace.packets.size());
    for (const Packet& p : trace.packets) {
      auto b = GstPtr<GstBuffer>::adopt(gst_buffer_new_memdup(p.bytes.data(), p.bytes.size()));
      GST_BUFFER_PTS(b.get()) = static_cast<GstClockTime>(p.arrival);
      GST_BUFFER_OFFSET(b.get()) = static_cast<guint64>(p.arrival);
      buffers.push_back(std::move(b));
    }
    if (checked)
      for (SinkCount& out : out_) out.clock = clock_.get();

    RunResult result;
    idle_.emplace();
    settle_cpu_ = 0;
    CALLGRIND_START_INSTRUMENTATION;
    const double cpu_begin = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    const long switches_begin = others_context_switches();
    for (std::size_t i = 0; i < trace.packets.size(); ++i) {
      advance_to(trace.packets[i].arrival);
      const GstFlowReturn flow = gst_pad_push(src_[trace.packets[i].stream].get(), buffers[i].release());
      if (flow != GST_FLOW_OK) die(std::string(name_of(variant_)) + ": push failed: " + gst_flow_get_name(flow));
      settle();
    }
    // The clock runs on past every due time.
    const std::int64_t end = trace.last_arrival + latency_ + 200 * kMs;
    for (std::int64_t t = trace.last_arrival; t <= end; t += 5 * kMs) advance_to(t);
    for (std::size_t s = 0; s < 2; ++s) result.by_clock[s] = out_[s].buffers.load();
    for (const auto& pad : src_) gst_pad_push_event(pad.get(), gst_event_new_eos());
    wait_for_eos(end);
    result.cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_begin - settle_cpu_;
    result.switches = others_context_switches() - switches_begin;
    CALLGRIND_STOP_INSTRUMENTATION;
    idle_.reset();

    for (std::size_t s = 0; s < 2; ++s) {
      result.out[s] = out_[s].buffers.load();
      if (result.out[s]) result.mean_hold[s] = out_[s].held.load() / static_cast<std::int64_t>(result.out[s]);
    }
    result.checked = checked;
    if (checked) result.stats = stats();
    result.clock = clock_.counts();
    return result;
  }

 private:
  static GstPadProbeReturn count_output(GstPad*, GstPadProbeInfo* info, gpointer data) {
    auto* out = static_cast<SinkCount*>(data);
    out->buffers.fetch_add(1, std::memory_order_relaxed);
    if (out->clock) {
      const auto now = static_cast<std::int64_t>(gst_clock_get_time(out->clock)) - out->base;
      const auto arrival = static_cast<std::int64_t>(GST_BUFFER_OFFSET(GST_PAD_PROBE_INFO_BUFFER(info)));
      out->held.fetch_add(now - arrival, std::memory_order_relaxed);
    }
    return GST_PAD_PROBE_OK;
  }

  // Waits until every other thread sleeps: what the elements' threads were
  // woken for is done, as it would be long before the next packet arrives
  // live. Without it this thread would race seconds of media ahead of
  // them, and they would let packets go in large late batches. The wait's
  // own CPU is not counted (nor collected under callgrind).
  [[gnu::noinline]] void settle() {
    CALLGRIND_TOGGLE_COLLECT;
    const double begin = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    // valgrind runs one thread at a time and shows the others asleep
    // while they wait for their turn: sleeping hands it over.
    if (RUNNING_ON_VALGRIND) g_usleep(1000);
    for (int spin = 0; !idle_->all_asleep(); ++spin) {
      if (spin > 100000) die(std::string(name_of(variant_)) + ": a thread never goes to sleep");
      if (spin < 20) {
        sched_yield();
      } else {
        g_usleep(20);
      }
    }
    settle_cpu_ += cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - begin;
    CALLGRIND_TOGGLE_COLLECT;
  }

  // Moves the clock to `running` and lets every wait due by then go, and
  // the waits that the threads woken make next, until none is due.
  void advance_to(std::int64_t running) {
    clock_.advance(static_cast<GstClockTime>(base_ + running));
    for (int round = 0; clock_.release_due() > 0; ++round) {
      if (round > 10000) die(std::string(name_of(variant_)) + ": clock waits never stop coming due");
      settle();
    }
  }

  // Keeps the clock moving (a buffer may still wait on it at EOS) until the
  // pipeline reports EOS.
  void wait_for_eos(std::int64_t from) {
    auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
    std::int64_t t = from;
    for (int i = 0; i < 20000; ++i, t += kMs) {
      advance_to(t);
      auto message = GstPtr<GstMessage>::adopt(gst_bus_timed_pop_filtered(
          bus.get(), GST_MSECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
      if (!message) continue;
      if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_EOS) return;
      GError* error = nullptr;
      gst_message_parse_error(message.get(), &error, nullptr);
      die(std::string(name_of(variant_)) + ": " + (error ? error->message : "error"));
    }
    die(std::string(name_of(variant_)) + ": no EOS within 20 s");
  }

  // The element's own view of what it saw, to compare with our counts.
  std::string stats() const {
    std::string text;
    const auto field = [](const GstStructure* s, const char* name) {
      guint64 value = 0;
      gst_structure_get_uint64(s, name, &value);
      return std::to_string(value);
    };
    for (std::size_t s = 0; s < 2; ++s) {
      if (variant_ == Variant::baseline) break;
      GstStructure* all = nullptr;
      g_object_get(under_test_[s].get(), "stats", &all, nullptr);
      if (!all) continue;
      text += std::string(s ? "; " : "") + kStreamName[s] + ": ";
      if (variant_ == Variant::align) {
        const GstStructure* one = nullptr;
        const GValue* v = gst_structure_get_value(all, s == 0 ? "sink_0" : "sink_1");
        if (v && GST_VALUE_HOLDS_STRUCTURE(v)) one = gst_value_get_structure(v);
        if (one) {
          text += "packets " + field(one, "packets") + ", lost " + field(one, "lost") + ", late " + field(one, "late") +
                  ", dropped " + field(one, "dropped") + ", reordered " + field(one, "reordered") + ", duplicates " +
                  field(one, "duplicates");
        }
      } else {
        text += "pushed " + field(all, "num-pushed") + ", lost " + field(all, "num-lost") + ", late " +
                field(all, "num-late") + ", duplicates " + field(all, "num-duplicates");
      }
      gst_structure_free(all);
    }
    return text;
  }

  Variant variant_;
  std::int64_t latency_;
  GstPtr<GstElement> pipeline_;
  DrivenClock clock_;
  std::int64_t base_ = 0;
  std::array<GstPtr<GstElement>, 2> under_test_;  // per stream; the same nagarealign twice
  std::array<GstPtr<GstPad>, 2> requested_;       // nagarealign's sink_0 and sink_1
  std::array<GstPtr<GstPad>, 2> src_;             // ours
  std::array<SinkCount, 2> out_;
  std::optional<IdleWatch> idle_;  // during feed()
  double settle_cpu_ = 0;          // this thread's CPU seconds in settle()
};

RunResult run_once(Variant variant, ClockKind clock, const Options& options, const Trace& trace, bool checked = false) {
  Run run(variant, clock, options);
  return run.feed(trace, checked);
}

// Every packet that went in comes out, give or take 1%, or the CPU figure
// says nothing. (rtpjitterbuffer starts at the first packet to arrive and
// drops older ones: a few of the first video frame's.)
void check_counts(Variant variant, const Trace& trace, const RunResult& r) {
  for (std::size_t s = 0; s < 2; ++s) {
    const auto in = static_cast<std::uint64_t>(trace.arrived[s]);
    if (r.out[s] > in || r.out[s] * 100 < in * 99)
      die(std::string(name_of(variant)) + ": " + std::to_string(r.out[s]) + " " + kStreamName[s] + " packets out of " +
          std::to_string(in));
  }
}

void print_check(Variant variant, const Trace& trace, const RunResult& r) {
  std::printf("%-16s out:", name_of(variant));
  for (std::size_t s = 0; s < 2; ++s) {
    std::printf("%s %s %llu/%zu (%llu by the clock", s ? "," : "", s == kAudio ? "audio" : "video",
                static_cast<unsigned long long>(r.out[s]), trace.arrived[s],
                static_cast<unsigned long long>(r.by_clock[s]));
    if (r.checked) std::printf(", mean hold %.1f ms", static_cast<double>(r.mean_hold[s]) / kMs);
    std::printf(")");
  }
  std::printf("\n");
  if (!r.stats.empty()) std::printf("%-16s stats: %s\n", "", r.stats.c_str());
  const auto n = static_cast<double>(trace.packets.size());
  std::printf("%-16s clock waits/packet: %.3f blocked, %.3f early, %.3f cut short\n", "",
              static_cast<double>(r.clock.waits) / n, static_cast<double>(r.clock.early) / n,
              static_cast<double>(r.clock.unscheduled) / n);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--runs") {
      o.runs = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--seconds") {
      o.seconds = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--latency") {
      o.latency_ms = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--seed") {
      o.seed = std::strtoull(value().c_str(), nullptr, 10);
    } else if (arg == "--only") {
      const std::string v = value();
      for (Variant candidate : kVariants)
        if (v == name_of(candidate)) o.only = candidate;
      if (!o.only) die("--only takes baseline, nagarealign or rtpjitterbuffer");
    } else if (arg == "--clock") {
      const std::string v = value();
      if (v == "test") {
        o.clocks = {ClockKind::test};
      } else if (v == "manual") {
        o.clocks = {ClockKind::manual};
      } else if (v == "both") {
        o.clocks = {ClockKind::test, ClockKind::manual};
      } else {
        die("--clock takes test, manual or both");
      }
    } else {
      die("unknown argument " + arg + " (see the comment at the top of align_bench.cpp)");
    }
  }
  return o;
}

double per_packet_us(double cpu, const Trace& trace) { return cpu / static_cast<double>(trace.packets.size()) * 1e6; }

void only(Variant variant, ClockKind clock, const Options& options, const Trace& trace) {
  std::vector<double> cpu;
  for (int r = 0; r < options.runs; ++r) {
    // Unchecked: reading the clock for the hold would show in callgrind's counts.
    const RunResult result = run_once(variant, clock, options, trace);
    check_counts(variant, trace, result);
    if (r == 0) print_check(variant, trace, result);
    cpu.push_back(per_packet_us(result.cpu, trace));
  }
  const Summary s = summarize(cpu);
  std::printf("%s on the %s: %.2f us CPU/packet (median of %d runs; %.2f to %.2f)\n", name_of(variant), name_of(clock),
              s.median, options.runs, s.min, s.max);
  std::printf("packets pushed per run: %zu (divide callgrind's PROGRAM TOTALS by %zu)\n", trace.packets.size(),
              trace.packets.size() * static_cast<std::size_t>(options.runs));
}

void compare(ClockKind clock, const Options& options, const Trace& trace) {
  std::printf("on the %s:\n", name_of(clock));
  // One checked warm-up run of each.
  for (Variant v : kVariants) {
    const RunResult result = run_once(v, clock, options, trace, true);
    check_counts(v, trace, result);
    print_check(v, trace, result);
  }

  std::array<std::vector<double>, 3> raw, net, switches;
  for (int r = 0; r < options.runs; ++r) {
    std::array<RunResult, 3> round;
    for (std::size_t k = 0; k < kVariants.size(); ++k) {
      const std::size_t i = r % 2 ? kVariants.size() - 1 - k : k;
      round[i] = run_once(kVariants[i], clock, options, trace);
      check_counts(kVariants[i], trace, round[i]);
    }
    for (std::size_t i = 0; i < kVariants.size(); ++i) {
      raw[i].push_back(per_packet_us(round[i].cpu, trace));
      net[i].push_back(per_packet_us(round[i].cpu - round[0].cpu, trace));
      switches[i].push_back(static_cast<double>(round[i].switches) / static_cast<double>(trace.packets.size()));
    }
  }

  std::printf("CPU per packet, whole process, median of %d rounds (range):\n", options.runs);
  for (std::size_t i = 0; i < kVariants.size(); ++i) {
    const Summary r = summarize(raw[i]), n = summarize(net[i]), c = summarize(switches[i]);
    std::printf("  %-16s raw %6.2f us (%.2f to %.2f)", name_of(kVariants[i]), r.median, r.min, r.max);
    if (i > 0) std::printf("   minus baseline %6.2f us (%.2f to %.2f)", n.median, n.min, n.max);
    std::printf("   context switches/packet %.2f\n", c.median);
  }
  const double align = summarize(net[1]).median, jitter = summarize(net[2]).median;
  std::printf(
      "ratio rtpjitterbuffer/nagarealign: %.2fx (%s; per packet, baseline subtracted; above 1: "
      "nagarealign is cheaper)\n",
      jitter / align, name_of(clock));
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  const Options options = parse_options(argc, argv);
  for (const char* factory : {"nagarealign", "rtpjitterbuffer", "identity", "fakesink"}) {
    auto f = GstPtr<GstElementFactory>::adopt(gst_element_factory_find(factory));
    if (!f) die(std::string("no element ") + factory + " (is GST_PLUGIN_PATH set?)");
  }

  const Trace trace = make_trace(options.seconds, options.seed);
  std::printf(
      "trace: %d s, latency %d ms; audio %zu packets in (%zu lost, %zu reordered), video %zu packets in "
      "%zu frames (%zu lost, %zu reordered); %zu bytes\n",
      options.seconds, options.latency_ms, trace.arrived[kAudio], trace.lost[kAudio], trace.reordered[kAudio],
      trace.arrived[kVideo], trace.frames, trace.lost[kVideo], trace.reordered[kVideo], trace.bytes);

  for (const ClockKind clock : options.clocks) {
    if (options.only) {
      only(*options.only, clock, options, trace);
    } else {
      compare(clock, options, trace);
    }
  }
  return 0;
}
