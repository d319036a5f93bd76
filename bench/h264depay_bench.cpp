// Depayloading speed of nagareh264depay against rtph264depay on identical
// RTP: packets per second of thread CPU time, and their ratio.
//
// The RTP is made once, in memory: 10 s of 1280x720 at 30 fps from x264enc
// (tune=zerolatency speed-preset=ultrafast bitrate=2500 key-int-max=60)
// through rtph264pay mtu=1200 aggregate-mode=zero-latency, so there are
// single NAL unit, STAP-A and FU-A packets. Each packet is copied into one
// contiguous memory, as udpsrc would deliver it. Both depayloaders then get
// exactly these packets from a pad of ours, pushed synchronously from this
// thread into `DEPAY ! video/x-h264,stream-format=byte-stream,alignment=au
// ! fakesink`, so CLOCK_THREAD_CPUTIME_ID covers all their work and nothing
// else. A round is a few passes over the packets, each into a fresh
// pipeline; rounds alternate between the two and the median is reported.
//
// Run directly (GST_PLUGIN_PATH must name the folder of libgstnagare.so):
//   GST_PLUGIN_PATH=build/plugins build/bench/h264depay-bench [--rounds N]
//       [--passes N] [--seconds S] [--only nagareh264depay|rtph264depay]
//       [--save FILE | --load FILE]
// or through meson: meson test -C build --benchmark -v
//
// Instruction counts with callgrind, depayloading only (instrumentation is
// switched on around the pushes; packet generation runs uninstrumented):
//   GST_PLUGIN_PATH=build/plugins build/bench/h264depay-bench --save /tmp/h264.rtp
//   GST_PLUGIN_PATH=build/plugins valgrind --tool=callgrind --instr-atstart=no
//       build/bench/h264depay-bench --load /tmp/h264.rtp --only nagareh264depay --rounds 3
//   (the same with --only rtph264depay), then callgrind_annotate on each
//   callgrind.out.PID; --load makes both runs see the very same packets.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <ctime>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "common/gst_ptr.hpp"
#include "summary.hpp"

namespace {

using nagare::bench::summarize;
using nagare::bench::Summary;

using nagare::BufferMap;
using nagare::GstPtr;

constexpr const char* kNagare = "nagareh264depay";
constexpr const char* kReference = "rtph264depay";
constexpr const char* kRtpCaps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96";

struct Options {
  int seconds = 10;
  int rounds = 15;  // per depayloader, after one warm-up pass each
  int passes = 30;  // passes over the packets per round
  std::optional<std::string> only;
  std::optional<std::string> save;
  std::optional<std::string> load;
};

struct Packets {
  std::vector<GstPtr<GstBuffer>> buffers;
  std::size_t bytes = 0;
  std::size_t single = 0, stap_a = 0, fu_a = 0;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "h264depay-bench: %s\n", why.c_str());
  std::exit(2);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

GstPtr<GstElement> launch(const std::string& description) {
  GError* error = nullptr;
  GstElement* element = gst_parse_launch(description.c_str(), &error);
  if (error) die("cannot build '" + description + "': " + error->message);
  return GstPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(element)));
}

// --- The packets -----------------------------------------------------------------

// One contiguous copy of an RTP packet, with its timestamps and flags.
GstPtr<GstBuffer> contiguous_copy(GstBuffer* packet) {
  BufferMap map(packet, GST_MAP_READ);
  if (!map) die("cannot map a packet");
  auto copy = GstPtr<GstBuffer>::adopt(gst_buffer_new_memdup(map.bytes().data(), map.bytes().size()));
  gst_buffer_copy_into(copy.get(), packet, GST_BUFFER_COPY_METADATA, 0, -1);
  return copy;
}

void count_kind(Packets& packets, GstBuffer* packet) {
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map(packet, GST_MAP_READ, &rtp)) die("rtph264pay made a packet that is not RTP");
  const auto* payload = static_cast<const std::uint8_t*>(gst_rtp_buffer_get_payload(&rtp));
  const std::uint8_t type = gst_rtp_buffer_get_payload_len(&rtp) > 0 ? payload[0] & 0x1f : 0;
  if (type == 24) {
    ++packets.stap_a;
  } else if (type == 28) {
    ++packets.fu_a;
  } else {
    ++packets.single;
  }
  gst_rtp_buffer_unmap(&rtp);
}

Packets generate(int seconds) {
  const std::string description =
      "videotestsrc num-buffers=" + std::to_string(seconds * 30) +
      " pattern=smpte horizontal-speed=4 ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1 "
      "! x264enc tune=zerolatency speed-preset=ultrafast bitrate=2500 key-int-max=60 "
      "! video/x-h264,stream-format=byte-stream "
      "! rtph264pay mtu=1200 aggregate-mode=zero-latency ! appsink name=sink sync=false";
  auto pipeline = launch(description);
  auto sink = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);

  Packets packets;
  // appsink hands out the packets of rtph264pay's buffer lists one by one.
  while (auto sample = GstPtr<GstSample>::adopt(gst_app_sink_pull_sample(GST_APP_SINK(sink.get())))) {
    GstBuffer* packet = gst_sample_get_buffer(sample.get());
    count_kind(packets, packet);
    packets.bytes += gst_buffer_get_size(packet);
    packets.buffers.push_back(contiguous_copy(packet));
  }
  auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
  auto message = GstPtr<GstMessage>::adopt(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  if (message) die("the generator failed");
  if (packets.buffers.empty()) die("the generator made no packets");
  return packets;
}

// File format: per packet, u64 PTS, u32 size, then the bytes (host order;
// the file is only for runs on the same machine).
void save(const Packets& packets, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& b : packets.buffers) {
    BufferMap map(b.get(), GST_MAP_READ);
    const std::uint64_t pts = GST_BUFFER_PTS(b.get());
    const auto size = static_cast<std::uint32_t>(map.bytes().size());
    out.write(reinterpret_cast<const char*>(&pts), sizeof pts);
    out.write(reinterpret_cast<const char*>(&size), sizeof size);
    out.write(reinterpret_cast<const char*>(map.bytes().data()), size);
  }
  if (!out) die("cannot write " + path);
}

Packets load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot read " + path);
  Packets packets;
  std::uint64_t pts = 0;
  std::uint32_t size = 0;
  while (in.read(reinterpret_cast<char*>(&pts), sizeof pts) && in.read(reinterpret_cast<char*>(&size), sizeof size)) {
    std::vector<char> bytes(size);
    if (!in.read(bytes.data(), size)) die("truncated packet file " + path);
    auto b = GstPtr<GstBuffer>::adopt(gst_buffer_new_memdup(bytes.data(), size));
    GST_BUFFER_PTS(b.get()) = pts;
    count_kind(packets, b.get());
    packets.bytes += size;
    packets.buffers.push_back(std::move(b));
  }
  if (packets.buffers.empty()) die("no packets in " + path);
  return packets;
}

// --- One pass ------------------------------------------------------------------------

struct Output {
  std::size_t buffers = 0;
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a over every output byte
};

// `factory ! au byte-stream ! fakesink`, fed from a pad of ours.
class Pass {
 public:
  Pass(const char* factory, Output* verify) {
    const std::string description = std::string(factory) +
                                    " name=depay ! video/x-h264,stream-format=byte-stream,alignment=au "
                                    "! fakesink name=sink sync=false async=false";
    pipeline_ = launch(description);

    auto depay = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "depay"));
    auto sink_pad = GstPtr<GstPad>::adopt(gst_element_get_static_pad(depay.get(), "sink"));
    src_ = GstPtr<GstPad>::adopt(GST_PAD(gst_object_ref_sink(gst_pad_new("src", GST_PAD_SRC))));
    if (gst_pad_link(src_.get(), sink_pad.get()) != GST_PAD_LINK_OK) die("cannot link to " + std::string(factory));
    gst_pad_set_active(src_.get(), TRUE);

    if (verify) {
      auto sink = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "sink"));
      auto pad = GstPtr<GstPad>::adopt(gst_element_get_static_pad(sink.get(), "sink"));
      gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER, count_output, verify, nullptr);
    }
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      die("cannot start " + std::string(factory));

    auto caps = GstPtr<GstCaps>::adopt(gst_caps_from_string(kRtpCaps));
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(src_.get(), gst_event_new_stream_start("h264depay-bench"));
    gst_pad_push_event(src_.get(), gst_event_new_caps(caps.get()));
    gst_pad_push_event(src_.get(), gst_event_new_segment(&segment));
  }
  Pass(const Pass&) = delete;
  Pass& operator=(const Pass&) = delete;
  ~Pass() {
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    gst_pad_set_active(src_.get(), FALSE);
  }

  // Every packet, then EOS; returns the thread CPU seconds it took.
  [[gnu::noinline]] double push_all(const Packets& packets) {
    CALLGRIND_START_INSTRUMENTATION;
    const double begin = thread_cpu_seconds();
    for (const auto& b : packets.buffers) {
      const GstFlowReturn flow = gst_pad_push(src_.get(), gst_buffer_ref(b.get()));
      if (flow != GST_FLOW_OK) die(std::string("push failed: ") + gst_flow_get_name(flow));
    }
    gst_pad_push_event(src_.get(), gst_event_new_eos());
    const double end = thread_cpu_seconds();
    CALLGRIND_STOP_INSTRUMENTATION;
    return end - begin;
  }

 private:
  static GstPadProbeReturn count_output(GstPad*, GstPadProbeInfo* info, gpointer data) {
    auto* out = static_cast<Output*>(data);
    BufferMap map(GST_PAD_PROBE_INFO_BUFFER(info), GST_MAP_READ);
    ++out->buffers;
    for (const std::uint8_t byte : map.bytes()) {
      out->hash ^= byte;
      out->hash *= 0x100000001b3ull;
    }
    return GST_PAD_PROBE_OK;
  }

  GstPtr<GstElement> pipeline_;
  GstPtr<GstPad> src_;
};

double run_round(const char* factory, const Packets& packets, int passes) {
  double cpu = 0;
  for (int i = 0; i < passes; ++i) {
    Pass pass(factory, nullptr);
    cpu += pass.push_all(packets);
  }
  return cpu;
}

Output verify(const char* factory, const Packets& packets) {
  Output out;
  Pass pass(factory, &out);
  pass.push_all(packets);
  return out;
}

void print_rate(const char* factory, const std::vector<double>& rates, const Options& o) {
  const Summary s = summarize(rates);
  std::printf("%s: %.0f packets/CPU-s (median of %d rounds x %d passes; rounds ranged %.0f to %.0f)\n", factory,
              s.median, o.rounds, o.passes, s.min, s.max);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--rounds") {
      o.rounds = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--passes") {
      o.passes = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--seconds") {
      o.seconds = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--only") {
      o.only = value();
      if (*o.only != kNagare && *o.only != kReference) die("--only takes nagareh264depay or rtph264depay");
    } else if (arg == "--save") {
      o.save = value();
    } else if (arg == "--load") {
      o.load = value();
    } else {
      die("unknown argument " + arg + " (see the comment at the top of h264depay_bench.cpp)");
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  const Options options = parse_options(argc, argv);
  for (const char* factory : {kNagare, kReference}) {
    auto f = GstPtr<GstElementFactory>::adopt(gst_element_factory_find(factory));
    if (!f) die(std::string("no element ") + factory + " (is GST_PLUGIN_PATH set?)");
  }

  const Packets packets = options.load ? load(*options.load) : generate(options.seconds);
  std::printf("input: %zu RTP packets, %zu bytes (single NAL %zu, STAP-A %zu, FU-A %zu)\n", packets.buffers.size(),
              packets.bytes, packets.single, packets.stap_a, packets.fu_a);
  if (options.save) {
    save(packets, *options.save);
    std::printf("saved to %s\n", options.save->c_str());
    return 0;
  }

  if (options.only) {
    const char* factory = options.only->c_str();
    std::vector<double> rates;
    rates.reserve(static_cast<std::size_t>(options.rounds));
    for (int r = 0; r < options.rounds; ++r)
      rates.push_back(static_cast<double>(packets.buffers.size()) * options.passes /
                      run_round(factory, packets, options.passes));
    print_rate(factory, rates, options);
    return 0;
  }

  // Same access units out of both, or the speed of one says nothing.
  const Output nagare_out = verify(kNagare, packets);
  const Output reference_out = verify(kReference, packets);
  std::printf("output: %s %zu access units, %s %zu; bytes %s\n", kNagare, nagare_out.buffers, kReference,
              reference_out.buffers, nagare_out.hash == reference_out.hash ? "identical" : "DIFFERENT");
  if (nagare_out.buffers != reference_out.buffers) die("the depayloaders output different numbers of access units");

  std::vector<double> nagare_rates, reference_rates;
  const double per_round = static_cast<double>(packets.buffers.size()) * options.passes;
  run_round(kNagare, packets, 1);  // warm-up
  run_round(kReference, packets, 1);
  for (int r = 0; r < options.rounds; ++r) {
    nagare_rates.push_back(per_round / run_round(kNagare, packets, options.passes));
    reference_rates.push_back(per_round / run_round(kReference, packets, options.passes));
  }
  print_rate(kNagare, nagare_rates, options);
  print_rate(kReference, reference_rates, options);
  std::printf("ratio %s / %s: %.2fx (medians; goal >= 2x)\n", kNagare, kReference,
              summarize(nagare_rates).median / summarize(reference_rates).median);
  return 0;
}
