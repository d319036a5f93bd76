// nagareh264depay against packetizers nagare did not write: GStreamer's
// rtph264pay in every aggregation mode and at several MTUs, ffmpeg's RTP
// muxer over UDP, and a live gst-launch-1.0 sender.
//
// The reference is always decoded from the same packets in the same run
// (a tee), because x264 output is not bit-identical from run to run.
// Decoded frames are compared by a hash of their visible pixels, so an
// access unit that is split, merged, dropped or reordered shows up as a
// different sequence, not only a different count.
#include <catch2/catch.hpp>

#include <csignal>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "interop_support.hpp"

using namespace nagare;
using namespace nagare::interop;

namespace {

constexpr int kWidth = 320;
constexpr int kHeight = 240;

// A moving test card, so every decoded frame differs from the one before
// and a duplicated or lost frame changes the hash sequence.
std::string raw_source(int frames) {
  return "videotestsrc num-buffers=" + std::to_string(frames) +
         " pattern=smpte horizontal-speed=3 ! video/x-raw,format=I420,width=" + std::to_string(kWidth) +
         ",height=" + std::to_string(kHeight) + ",framerate=30/1 ";
}

// Decoded I420 into an appsink that hashes frames as they come.
std::string decode_into(const std::string& sink) {
  return " ! avdec_h264 ! video/x-raw,format=I420 ! appsink name=" + sink + " sync=false ";
}

const char* const kReferenceDepay = " ! rtph264depay ! video/x-h264,stream-format=byte-stream,alignment=au ";

std::string rtp_caps() { return "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96"; }

int udp_port(const Pipeline& pipeline, const char* udpsrc) {
  int port = 0;
  g_object_get(pipeline.element(udpsrc).get(), "port", &port, nullptr);
  return port;
}

void require_sane_stats(const GstPtr<GstStructure>& stats) {
  INFO("nagareh264depay stats: " << to_string(stats.get()));
  CHECK(stat(stats, "malformed") == 0);
  CHECK(stat(stats, "unsupported") == 0);
  CHECK(stat(stats, "late") == 0);
}

}  // namespace

// --- rtph264pay ----------------------------------------------------------------

// 60 frames of 320x240 at x264's default 2 Mbit/s, several slices each
// (x264's sliced threads): slices of a few kilobytes need FU-A at every MTU,
// and the aggregating modes put the small NAL units (SPS, PPS, SEI, small
// slices) into STAP-A. The census below checks that each case really
// exercises what its name says.
TEST_CASE("nagareh264depay decodes rtph264pay output exactly as rtph264depay does", "[interop][rtph264pay]") {
  constexpr int kFrames = 60;
  const int mtus[] = {200, 576, 1200, 1400};
  const char* const modes[] = {"none", "zero-latency", "max-stap"};

  for (const int mtu : mtus) {
    for (const char* mode : modes) {
      DYNAMIC_SECTION("mtu " << mtu << ", aggregate-mode " << mode) {
        INFO("rtph264pay mtu=" << mtu << " aggregate-mode=" << mode);
        // In-band SPS/PPS (byte-stream), as a browser sends them.
        Pipeline pipeline(raw_source(kFrames) +
                          "! x264enc tune=zerolatency key-int-max=30 ! video/x-h264,stream-format=byte-stream "
                          "! tee name=enc "
                          "enc. ! queue" +
                          decode_into("direct") + "enc. ! queue ! rtph264pay name=pay mtu=" + std::to_string(mtu) +
                          " aggregate-mode=" + mode +
                          " ! tee name=rtp "
                          "rtp. ! queue" +
                          kReferenceDepay + decode_into("reference") + "rtp. ! queue ! nagareh264depay name=depay" +
                          decode_into("nagare"));
        FrameCollector direct(pipeline.element("direct").get());
        FrameCollector reference(pipeline.element("reference").get());
        FrameCollector nagare(pipeline.element("nagare").get());
        const auto pay_src = GstPtr<GstPad>::adopt(gst_element_get_static_pad(pipeline.element("pay").get(), "src"));
        RtpCensusProbe census_probe(pay_src.get());

        pipeline.play();
        REQUIRE(pipeline.wait_for_eos(milliseconds(60000)) == "");

        const RtpCensus census = census_probe.get();
        INFO("packets " << census.packets << ": single " << census.single << ", STAP-A " << census.stap_a << ", FU-A "
                        << census.fu_a << ", other " << census.other);
        REQUIRE(census.fu_a > 0);
        REQUIRE(census.other == 0);
        if (std::string(mode) == "none") {
          REQUIRE(census.stap_a == 0);
        } else {
          REQUIRE(census.stap_a > 0);
        }

        REQUIRE(reference.count() == kFrames);
        REQUIRE(direct.count() == kFrames);
        REQUIRE(nagare.count() == kFrames);
        REQUIRE(compare_frames(nagare.hashes(), reference.hashes()) == "");
        REQUIRE(compare_frames(nagare.hashes(), direct.hashes()) == "");

        const auto stats = depay_stats(pipeline.element("depay").get());
        require_sane_stats(stats);
        CHECK(stat(stats, "packets") == census.packets);
        CHECK(stat(stats, "access-units") == kFrames);
        CHECK(stat(stats, "lost") == 0);
        CHECK(stat(stats, "dropped") == 0);
      }
    }
  }
}

namespace {

// Drops the SPS and PPS NAL units from x264enc's avc output (4-byte length
// prefixes, as x264enc writes them; it repeats the parameter sets in band
// even in avc). `bad` is set if a buffer does not parse that way.
GstPadProbeReturn strip_parameter_sets(GstPad*, GstPadProbeInfo* info, gpointer bad) {
  GstBuffer* in = GST_PAD_PROBE_INFO_BUFFER(info);
  std::vector<std::uint8_t> kept;
  {
    BufferMap map(in, GST_MAP_READ);
    const auto bytes = map.bytes();
    std::size_t pos = 0;
    while (pos + 5 <= bytes.size()) {
      const std::size_t size = (std::size_t{bytes[pos]} << 24) | (std::size_t{bytes[pos + 1]} << 16) |
                               (std::size_t{bytes[pos + 2]} << 8) | bytes[pos + 3];
      if (size == 0 || size > bytes.size() - pos - 4) break;
      const std::uint8_t type = bytes[pos + 4] & 0x1f;
      if (type != 7 && type != 8) kept.insert(kept.end(), bytes.begin() + pos, bytes.begin() + pos + 4 + size);
      pos += 4 + size;
    }
    if (!map || pos != bytes.size()) static_cast<std::atomic<bool>*>(bad)->store(true);
  }
  GstBuffer* out = gst_buffer_new_memdup(kept.data(), kept.size());
  gst_buffer_copy_into(out, in, GST_BUFFER_COPY_METADATA, 0, -1);
  gst_buffer_unref(in);
  GST_PAD_PROBE_INFO_DATA(info) = out;
  return GST_PAD_PROBE_OK;
}

}  // namespace

// Parameter sets only out of band: x264enc's avc codec_data becomes
// rtph264pay's sprop-parameter-sets (RFC 6184 §8.1), and the in-band copies
// are stripped, so no packet carries an SPS or PPS. The depayloader must
// put the sprop ones before each IDR for the decoder.
TEST_CASE("nagareh264depay takes parameter sets from sprop-parameter-sets", "[interop][rtph264pay]") {
  constexpr int kFrames = 60;
  std::atomic<bool> bad_avc{false};  // outlives the pipeline and its probe
  Pipeline pipeline(raw_source(kFrames) +
                    "! x264enc name=x264 tune=zerolatency key-int-max=30 ! video/x-h264,stream-format=avc "
                    "! tee name=enc "
                    "enc. ! queue" +
                    decode_into("direct") +
                    "enc. ! queue ! rtph264pay name=pay ! tee name=rtp "
                    "rtp. ! queue" +
                    kReferenceDepay + decode_into("reference") + "rtp. ! queue ! nagareh264depay name=depay" +
                    decode_into("nagare"));
  const auto x264_src = GstPtr<GstPad>::adopt(gst_element_get_static_pad(pipeline.element("x264").get(), "src"));
  gst_pad_add_probe(x264_src.get(), GST_PAD_PROBE_TYPE_BUFFER, strip_parameter_sets, &bad_avc, nullptr);
  FrameCollector direct(pipeline.element("direct").get());
  FrameCollector reference(pipeline.element("reference").get());
  FrameCollector nagare(pipeline.element("nagare").get());
  const auto pay_src = GstPtr<GstPad>::adopt(gst_element_get_static_pad(pipeline.element("pay").get(), "src"));
  RtpCensusProbe census_probe(pay_src.get());

  pipeline.play();
  REQUIRE(pipeline.wait_for_eos(milliseconds(60000)) == "");

  REQUIRE_FALSE(bad_avc.load());
  REQUIRE(census_probe.get().parameter_sets == 0);  // out of band only
  REQUIRE(direct.count() == kFrames);
  REQUIRE(reference.count() == kFrames);
  REQUIRE(nagare.count() == kFrames);
  REQUIRE(compare_frames(nagare.hashes(), reference.hashes()) == "");
  REQUIRE(compare_frames(nagare.hashes(), direct.hashes()) == "");
  const auto stats = depay_stats(pipeline.element("depay").get());
  require_sane_stats(stats);
  CHECK(stat(stats, "access-units") == kFrames);
}

// rtph264pay config-interval=-1 sends SPS/PPS before every IDR slice; with
// several slices per picture they land between the slices of one IDR
// picture, all with the picture's RTP timestamp. rtph264depay applies the
// H.264 §7.4.1.2.3 rule that an SPS or PPS after a slice starts a new access
// unit, splits each such IDR picture in two and so decodes more frames than
// were sent (93 from 90 here), which is why it is not the reference in this
// test. nagareh264depay keeps one access unit per RTP timestamp (RFC 6184
// §5.1), so its output must decode to exactly the encoder's own frames.
TEST_CASE("nagareh264depay keeps one picture per timestamp with config-interval=-1", "[interop][rtph264pay]") {
  constexpr int kFrames = 90;
  Pipeline pipeline(raw_source(kFrames) +
                    "! x264enc tune=zerolatency key-int-max=30 option-string=slices=4 "
                    "! video/x-h264,stream-format=byte-stream ! tee name=enc "
                    "enc. ! queue" +
                    decode_into("direct") +
                    "enc. ! queue ! rtph264pay name=pay config-interval=-1 ! nagareh264depay name=depay" +
                    decode_into("nagare"));
  FrameCollector direct(pipeline.element("direct").get());
  FrameCollector nagare(pipeline.element("nagare").get());
  const auto pay_src = GstPtr<GstPad>::adopt(gst_element_get_static_pad(pipeline.element("pay").get(), "src"));
  RtpCensusProbe census_probe(pay_src.get());

  pipeline.play();
  REQUIRE(pipeline.wait_for_eos(milliseconds(60000)) == "");

  // The stream really has parameter sets inside pictures, or the test
  // would prove nothing.
  REQUIRE(census_probe.get().parameter_sets_between_slices > 0);
  REQUIRE(direct.count() == kFrames);
  REQUIRE(nagare.count() == kFrames);
  REQUIRE(compare_frames(nagare.hashes(), direct.hashes()) == "");
  const auto stats = depay_stats(pipeline.element("depay").get());
  require_sane_stats(stats);
  CHECK(stat(stats, "access-units") == kFrames);
  CHECK(stat(stats, "dropped") == 0);
}

// --- ffmpeg ----------------------------------------------------------------------

// ffmpeg's RTP muxer (libavformat rtpenc_h264) is an independent packetizer:
// STAP-A for small NAL units, FU-A for those beyond its default 1472-byte
// packet size. A real process, real UDP on loopback.
TEST_CASE("nagareh264depay decodes ffmpeg's RTP muxer exactly as rtph264depay does", "[interop][ffmpeg]") {
  constexpr int kFrames = 90;  // 3 s at 30 fps
  Pipeline pipeline("udpsrc name=src address=127.0.0.1 port=0 buffer-size=4194304 caps=\"" + rtp_caps() +
                    "\" ! rtpjitterbuffer name=jitter latency=500 ! tee name=rtp "
                    "rtp. ! queue" +
                    kReferenceDepay + decode_into("reference") + "rtp. ! queue ! nagareh264depay name=depay" +
                    decode_into("nagare"));
  FrameCollector reference(pipeline.element("reference").get());
  FrameCollector nagare(pipeline.element("nagare").get());
  const auto udp_src = GstPtr<GstPad>::adopt(gst_element_get_static_pad(pipeline.element("src").get(), "src"));
  RtpCensusProbe census_probe(udp_src.get());

  // The socket is bound in READY (port 0: the kernel picks a free one), so
  // nothing ffmpeg sends is missed.
  pipeline.set_state(GST_STATE_READY);
  const int port = udp_port(pipeline, "src");
  REQUIRE(port > 0);
  pipeline.play();

  ChildProcess ffmpeg({"ffmpeg",
                       "-nostdin",
                       "-hide_banner",
                       "-loglevel",
                       "error",
                       "-re",
                       "-f",
                       "lavfi",
                       "-i",
                       "testsrc=size=320x240:rate=30",
                       "-t",
                       "3",
                       "-c:v",
                       "libx264",
                       "-tune",
                       "zerolatency",
                       "-g",
                       "30",
                       "-pix_fmt",
                       "yuv420p",
                       "-f",
                       "rtp",
                       "-payload_type",
                       "96",
                       "rtp://127.0.0.1:" + std::to_string(port)});
  const std::optional<int> status = ffmpeg.wait(milliseconds(30000));
  REQUIRE(status.has_value());
  INFO("ffmpeg " << describe_status(*status));
  REQUIRE(exited_cleanly(*status));

  // Both branches have everything once nothing new arrived for a while (the
  // jitter buffer holds packets for its latency).
  REQUIRE(wait_until_quiet(pipeline, milliseconds(15000), milliseconds(1500),
                           [&] { return nagare.count() + reference.count(); }) == "");
  pipeline.send_eos();
  REQUIRE(pipeline.wait_for_eos(milliseconds(10000)) == "");

  const RtpCensus census = census_probe.get();
  INFO("packets " << census.packets << ": single " << census.single << ", STAP-A " << census.stap_a << ", FU-A "
                  << census.fu_a << ", other " << census.other);
  CHECK(census.fu_a > 0);
  CHECK(census.stap_a > 0);

  GstStructure* jitter_stats = nullptr;
  g_object_get(pipeline.element("jitter").get(), "stats", &jitter_stats, nullptr);
  const auto jitter = GstPtr<GstStructure>::adopt(jitter_stats);
  INFO("rtpjitterbuffer stats: " << to_string(jitter.get()));
  const auto stats = depay_stats(pipeline.element("depay").get());
  require_sane_stats(stats);
  CHECK(stat(stats, "lost") == 0);

  // Both start at the first IDR; a few frames before it may be missing if
  // the very first packets were, but the two depayloaders must agree.
  CHECK(nagare.count() >= kFrames - 10);
  CHECK(nagare.count() <= kFrames);
  REQUIRE(compare_frames(nagare.hashes(), reference.hashes()) == "");
}

// --- Live sender ---------------------------------------------------------------

// The path of a plain-RTP publish: a live gst-launch-1.0 sender over UDP
// into udpsrc ! rtpjitterbuffer ! nagareh264depay ! h264parse ! decoder.
TEST_CASE("nagareh264depay decodes a live gst-launch-1.0 sender over UDP", "[interop][live]") {
  constexpr int kFrames = 90;  // 3 s at 30 fps
  Pipeline pipeline("udpsrc name=src address=127.0.0.1 port=0 buffer-size=4194304 caps=\"" + rtp_caps() +
                    "\" ! rtpjitterbuffer latency=200 ! nagareh264depay name=depay ! h264parse" +
                    decode_into("nagare"));
  FrameCollector nagare(pipeline.element("nagare").get());
  pipeline.set_state(GST_STATE_READY);
  const int port = udp_port(pipeline, "src");
  REQUIRE(port > 0);
  pipeline.play();

  ChildProcess sender({"gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "num-buffers=" + std::to_string(kFrames),
                       "pattern=smpte", "horizontal-speed=3", "!",
                       "video/x-raw,format=I420,width=320,height=240,framerate=30/1", "!", "x264enc",
                       "tune=zerolatency", "!", "rtph264pay", "!", "udpsink", "host=127.0.0.1",
                       "port=" + std::to_string(port)});
  const std::optional<int> status = sender.wait(milliseconds(30000));
  REQUIRE(status.has_value());
  INFO("gst-launch-1.0 " << describe_status(*status));
  REQUIRE(exited_cleanly(*status));

  REQUIRE(wait_until_quiet(pipeline, milliseconds(15000), milliseconds(1000), [&] { return nagare.count(); }) == "");
  pipeline.send_eos();
  REQUIRE(pipeline.wait_for_eos(milliseconds(10000)) == "");

  const std::vector<Frame> frames = nagare.frames();
  const auto stats = depay_stats(pipeline.element("depay").get());
  INFO("decoded " << frames.size() << " of " << kFrames);
  require_sane_stats(stats);
  REQUIRE(frames.size() * 10 > std::size_t{kFrames} * 8);
  REQUIRE(frames.size() <= kFrames);
  for (const Frame& f : frames) {
    REQUIRE(f.width == kWidth);
    REQUIRE(f.height == kHeight);
  }
  CHECK(stat(stats, "packets") > 0);
  CHECK(stat(stats, "access-units") >= frames.size());
}

// --- The harness itself ----------------------------------------------------------

// A child still running when its test ends (a failed REQUIRE throws past
// every wait) is killed and reaped, not left behind.
TEST_CASE("interop harness kills and reaps its child processes", "[interop][harness]") {
  GPid pid = 0;
  {
    ChildProcess sleeper({"sleep", "30"});
    pid = sleeper.pid();
    REQUIRE_FALSE(sleeper.wait(milliseconds(50)).has_value());
  }
  errno = 0;
  const int alive = ::kill(pid, 0);
  const int error = errno;
  REQUIRE(alive == -1);
  REQUIRE(error == ESRCH);  // no such process: killed and reaped
}
