// nagareh264depay through GstHarness: what comes out for good input. Caps,
// exact Annex B bytes, PTS and flags, zero-copy output, properties.
#include <gst/pbutils/pbutils.h>

#include "depay_harness.hpp"

namespace nagare::test::elements {
namespace {

// Packets captured from GStreamer 1.22's own payloader, fed two access units
// built with rtp_builder.hpp (SPS and PPS from example_sps()/example_pps(),
// then nal(5, 120); then nal(1, 50, 0x10, 2)), one file each:
//
//   gst-launch-1.0 multifilesrc location=au%d.h264 stop-index=1
//       caps="video/x-h264,stream-format=byte-stream,alignment=au,framerate=30/1"
//     ! identity datarate=4950 ! h264parse config-interval=0
//     ! rtph264pay mtu=80 aggregate-mode=zero-latency config-interval=0 pt=96
//         seqnum-offset=1000 timestamp-offset=0 ssrc=0x11223344
//     ! fakesink dump=true
//
// rtph264pay made a STAP-A of SPS and PPS, the IDR as two FU-A fragments
// (marker on the second), and the P slice as a single NAL unit packet at RTP
// time 2999 (33.33 ms, rounded down).
const Bytes kCapturedStapA = {
    0x80, 0x60, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x78, 0x00, 0x1d, 0x67, 0x42,
    0xc0, 0x15, 0xd9, 0x01, 0x41, 0x9f, 0x9f, 0x01, 0x6a, 0x0c, 0x0c, 0x0d, 0x4a, 0x00, 0x00, 0x03, 0x00,
    0x02, 0x00, 0x00, 0x03, 0x00, 0x79, 0x1e, 0x2c, 0x5c, 0x90, 0x00, 0x04, 0x68, 0xcb, 0x8c, 0xb2,
};
const Bytes kCapturedFuStart = {
    0x80, 0x60, 0x03, 0xe9, 0x00, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x7c, 0x85, 0x80, 0x81,
    0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91,
    0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1,
    0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1,
    0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1,
};
const Bytes kCapturedFuEnd = {
    0x80, 0xe0, 0x03, 0xea, 0x00, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x7c, 0x45, 0xc2, 0xc3, 0xc4,
    0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5,
    0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6,
    0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6,
};
const Bytes kCapturedSlice = {
    0x80, 0xe0, 0x03, 0xeb, 0x00, 0x00, 0x0b, 0xb7, 0x11, 0x22, 0x33, 0x44, 0x41, 0x90, 0x11, 0x12,
    0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22,
    0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32,
    0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
};

std::string base64(const Bytes& b) {
  std::unique_ptr<gchar, GFreeDeleter> s(g_base64_encode(b.data(), b.size()));
  return s.get();
}

std::string caps_with_sprop(const Bytes& sps, const Bytes& pps) {
  return std::string(kRtpCaps) + ", sprop-parameter-sets=(string)\"" + base64(sps) + "," + base64(pps) + "\"";
}

// example_sps() with profile_idc 77 (Main, constraint_set1) and level_idc
// 31; the rest (seq_parameter_set_id 0 first) is unchanged.
Bytes main_profile_sps() {
  Bytes sps = example_sps();
  sps[1] = 77;
  sps[2] = 0x40;
  sps[3] = 31;
  return sps;
}

GstPtr<GstBuffer> wrap(const Bytes& b, GstClockTime pts = GST_CLOCK_TIME_NONE) {
  auto buffer = GstPtr<GstBuffer>::adopt(gst_buffer_new_memdup(b.data(), b.size()));
  GST_BUFFER_PTS(buffer.get()) = pts;
  return buffer;
}

// One buffer of several memories, one per part, as rtpbasepayload makes
// them (header in one memory, payload in another).
GstPtr<GstBuffer> wrap_parts(std::initializer_list<Bytes> parts, GstMemoryFlags flags = GstMemoryFlags{}) {
  auto buffer = GstPtr<GstBuffer>::adopt(gst_buffer_new());
  for (const Bytes& part : parts) {
    gpointer data = g_memdup2(part.data(), part.size());
    gst_buffer_append_memory(buffer.get(),
                             gst_memory_new_wrapped(flags, data, part.size(), 0, part.size(), data, g_free));
  }
  return buffer;
}

}  // namespace

TEST_CASE("properties: defaults, ranges and a read-only stats structure", "[h264depay][properties]") {
  Depay d;
  gboolean request = FALSE, wait = FALSE;
  guint interval = 0;
  g_object_get(d.element(), "request-keyframe", &request, "wait-for-keyframe", &wait, "keyframe-request-interval",
               &interval, nullptr);
  CHECK(request);
  CHECK(wait);
  CHECK(interval == 500);

  GParamSpec* stats = g_object_class_find_property(G_OBJECT_GET_CLASS(d.element()), "stats");
  REQUIRE(stats);
  CHECK((stats->flags & G_PARAM_READABLE));
  CHECK_FALSE((stats->flags & G_PARAM_WRITABLE));
  CHECK(G_PARAM_SPEC_VALUE_TYPE(stats) == GST_TYPE_STRUCTURE);
  CHECK(d.stats() == Stats{});
}

TEST_CASE("caps: byte-stream access units, profile and level from the in-band SPS", "[h264depay][caps]") {
  Depay d;
  // Without sprop-parameter-sets the element knows no SPS yet: plain caps,
  // sent before the segment.
  CHECK(d.take_trace() == std::vector<std::string>{"stream-start", "caps", "segment"});
  auto caps = d.take_caps();
  REQUIRE(caps.size() == 1);
  const auto plain = GstPtr<GstCaps>::adopt(
      gst_caps_from_string("video/x-h264, stream-format=(string)byte-stream, alignment=(string)au"));
  CHECK(gst_caps_is_equal(caps[0].get(), plain.get()));

  REQUIRE(d.push(packet(1, 0, true, stap_a({example_sps(), example_pps(), nal(5, 40)}))) == GST_FLOW_OK);

  // New caps go out before the access unit that carried the SPS.
  CHECK(d.take_trace() == std::vector<std::string>{"caps", "buffer"});
  caps = d.take_caps();
  REQUIRE(caps.size() == 1);
  GstStructure* s = gst_caps_get_structure(caps[0].get(), 0);
  CHECK(gst_structure_has_name(s, "video/x-h264"));
  CHECK(caps_field(caps[0].get(), "stream-format") == "byte-stream");
  CHECK(caps_field(caps[0].get(), "alignment") == "au");
  // example_sps(): profile_idc 66 with constraint_set1, level_idc 21.
  CHECK(caps_field(caps[0].get(), "profile") == "constrained-baseline");
  CHECK(caps_field(caps[0].get(), "level") == "2.1");
  CHECK(gst_structure_n_fields(s) == 4);
  CHECK(gst_caps_is_equal(caps[0].get(), d.src_caps().get()));

  // The same SPS again changes nothing: no caps event per key frame.
  REQUIRE(d.push(packet(2, 3000, true, stap_a({example_sps(), example_pps(), nal(5, 40)}))) == GST_FLOW_OK);
  CHECK(d.take_trace() == std::vector<std::string>{"buffer"});

  // Nor do the same RTP caps again (rtpbin and webrtcbin renegotiate), and
  // the profile learnt from the stream stays.
  gst_harness_set_src_caps_str(d.harness(), kRtpCaps);
  CHECK(d.take_trace() == std::vector<std::string>{"segment"});
  CHECK(caps_field(d.src_caps().get(), "profile") == "constrained-baseline");
}

TEST_CASE("caps: sprop-parameter-sets gives profile and level at once and fills in a bare IDR",
          "[h264depay][caps][sprop]") {
  const Bytes sps = example_sps();
  const Bytes pps = example_pps();
  DepayConfig config;
  config.caps = caps_with_sprop(sps, pps);
  Depay d(config);

  // Before any packet, from the caps alone (RFC 6184 §8.1).
  auto caps = d.take_caps();
  REQUIRE(caps.size() == 1);
  CHECK(caps_field(caps[0].get(), "profile") == "constrained-baseline");
  CHECK(caps_field(caps[0].get(), "level") == "2.1");
  d.take_trace();

  SECTION("an IDR without SPS and PPS gets them in front; a P slice does not") {
    const Bytes idr = nal(5, 30);
    REQUIRE(d.push(packet(1, 0, true, idr), 0) == GST_FLOW_OK);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({sps, pps, idr}));
    CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));

    const Bytes p = nal(1, 20);
    REQUIRE(d.push(packet(2, 3000, true, p), ms(33)) == GST_FLOW_OK);
    out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({p}));
    CHECK(d.take_trace() == std::vector<std::string>{"buffer", "buffer"});
  }

  SECTION("an IDR in FU-A fragments gets them too") {
    const Bytes idr = nal(5, 150);
    const auto frags = fu_a(idr, 60);
    for (std::size_t i = 0; i < frags.size(); ++i)
      REQUIRE(d.push(packet(static_cast<std::uint16_t>(1 + i), 0, i + 1 == frags.size(), frags[i]), 0) == GST_FLOW_OK);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({sps, pps, idr}));
  }

  SECTION("an access unit delimiter stays first (H.264 §7.4.1.2.3)") {
    const Bytes aud = {0x09, 0xf0};
    const Bytes idr = nal(5, 30);
    REQUIRE(d.push(packet(1, 0, true, stap_a({aud, idr}))) == GST_FLOW_OK);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({aud, sps, pps, idr}));
  }

  SECTION("an IDR that brings its own SPS and PPS is left alone") {
    const Bytes idr = nal(5, 30);
    REQUIRE(d.push(packet(1, 0, true, stap_a({sps, pps, idr}))) == GST_FLOW_OK);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({sps, pps, idr}));
  }

  SECTION("an in-band SPS with another profile replaces the caps before its access unit") {
    const Bytes main_sps = main_profile_sps();
    const Bytes idr = nal(5, 30);
    REQUIRE(d.push(packet(1, 0, true, stap_a({main_sps, pps, idr}))) == GST_FLOW_OK);
    CHECK(d.take_trace() == std::vector<std::string>{"caps", "buffer"});
    caps = d.take_caps();
    REQUIRE(caps.size() == 1);
    CHECK(caps_field(caps[0].get(), "profile") == "main");
    CHECK(caps_field(caps[0].get(), "level") == "3.1");
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({main_sps, pps, idr}));
  }
}

TEST_CASE("single NAL unit packets: exact bytes, PTS of the first packet, flags", "[h264depay][output]") {
  Depay d;
  const Bytes idr = nal(5, 25);
  REQUIRE(d.push(packet(100, 90000, true, idr), ms(1000)) == GST_FLOW_OK);
  auto out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({idr}));
  CHECK(GST_BUFFER_PTS(out.get()) == ms(1000));
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));  // first output
  CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));

  // Two slices of one picture in two packets; the second's PTS is not used.
  const Bytes s1 = nal(1, 18, 0x20);
  Bytes s2 = nal(1, 12, 0x40);
  s2[1] &= 0x7f;  // first_mb_in_slice != 0: not the first slice
  REQUIRE(d.push(packet(101, 93000, false, s1), ms(1033)) == GST_FLOW_OK);
  CHECK(d.buffers_waiting() == 0);
  REQUIRE(d.push(packet(102, 93000, true, s2), ms(1040)) == GST_FLOW_OK);
  out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({s1, s2}));
  CHECK(GST_BUFFER_PTS(out.get()) == ms(1033));
  CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));

  // A sender that omits the marker: the next timestamp ends the access unit
  // (RFC 6184 §5.1).
  const Bytes p1 = nal(1, 10, 0x30);
  const Bytes p2 = nal(1, 11, 0x50);
  REQUIRE(d.push(packet(103, 96000, false, p1), ms(1066)) == GST_FLOW_OK);
  CHECK(d.buffers_waiting() == 0);
  REQUIRE(d.push(packet(104, 99000, true, p2), ms(1100)) == GST_FLOW_OK);
  out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({p1}));
  CHECK(GST_BUFFER_PTS(out.get()) == ms(1066));
  out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({p2}));
  CHECK(GST_BUFFER_PTS(out.get()) == ms(1100));
  CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK(!d.pull());
  CHECK(d.stats() == Stats{.packets = 5, .access_units = 4});
}

TEST_CASE("STAP-A: every aggregated NAL unit gets a start code", "[h264depay][output]") {
  Depay d;
  const Bytes sei = {0x06, 0x05, 0x01, 0xaa, 0x80};
  const Bytes idr = nal(5, 33);
  REQUIRE(d.push(packet(7, 0, true, stap_a({example_sps(), example_pps(), sei, idr})), ms(5)) == GST_FLOW_OK);
  auto out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({example_sps(), example_pps(), sei, idr}));
  CHECK(GST_BUFFER_PTS(out.get()) == ms(5));
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));

  const Bytes p = nal(1, 9, 0x70, 2);
  REQUIRE(d.push(packet(8, 3000, true, stap_a({sei, p})), ms(38)) == GST_FLOW_OK);
  out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({sei, p}));
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));
  CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
}

TEST_CASE("FU-A: fragments are joined into one NAL unit with the PTS of the first", "[h264depay][output]") {
  Depay d;
  const Bytes idr = nal(5, 300);
  const auto fragments = fu_a(idr, 100);  // 299 body bytes: 100 + 100 + 99
  REQUIRE(fragments.size() == 3);
  REQUIRE(d.push(packet(1, 0, false, stap_a({example_sps(), example_pps()})), ms(10)) == GST_FLOW_OK);
  for (std::size_t i = 0; i < fragments.size(); ++i) {
    REQUIRE(d.push(packet(static_cast<std::uint16_t>(2 + i), 0, i + 1 == fragments.size(), fragments[i]), ms(11 + i)) ==
            GST_FLOW_OK);
    if (i + 1 < fragments.size()) CHECK(d.buffers_waiting() == 0);
  }
  auto out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({example_sps(), example_pps(), idr}));
  CHECK(GST_BUFFER_PTS(out.get()) == ms(10));
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));

  // A fragmented P slice, then a single-NAL P slice of the same picture.
  const Bytes p = nal(1, 150, 0x11);
  Bytes tail = nal(1, 20, 0x33);
  tail[1] &= 0x7f;
  const auto p_fragments = fu_a(p, 60);
  std::uint16_t seq = 5;
  for (const Bytes& f : p_fragments) REQUIRE(d.push(packet(seq++, 3000, false, f), ms(43)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(seq++, 3000, true, tail), ms(44)) == GST_FLOW_OK);
  out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({p, tail}));
  CHECK(GST_BUFFER_PTS(out.get()) == ms(43));
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));
  CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK(d.stats() == Stats{.packets = seq - 1u, .access_units = 2});
}

TEST_CASE("an access unit of more NAL units than a buffer holds memories is copied whole", "[h264depay][output]") {
  // Two memories per borrowed NAL unit (start code, unit) would pass
  // gst_buffer_get_max_memory() (16): the element writes one memory instead.
  DepayConfig config;
  config.caps = caps_with_sprop(example_sps(), example_pps());
  Depay d(config);
  std::vector<Bytes> slices;
  for (std::uint8_t i = 0; i < 12; ++i) {
    Bytes s = nal(5, 10 + i, static_cast<std::uint8_t>(0x10 * i));
    if (i > 0) s[1] &= 0x7f;  // later slices of the same picture
    slices.push_back(s);
  }
  const Bytes fragmented = [] {
    Bytes s = nal(5, 90, 0x77);
    s[1] &= 0x7f;
    return s;
  }();
  std::uint16_t seq = 1;
  REQUIRE(d.push(packet(seq++, 0, false, stap_a({slices[0], slices[1], slices[2]})), ms(7)) == GST_FLOW_OK);
  for (std::size_t i = 3; i < slices.size(); ++i)
    REQUIRE(d.push(packet(seq++, 0, false, slices[i]), ms(7)) == GST_FLOW_OK);
  const auto frags = fu_a(fragmented, 40);
  for (std::size_t i = 0; i < frags.size(); ++i)
    REQUIRE(d.push(packet(seq++, 0, i + 1 == frags.size(), frags[i]), ms(7)) == GST_FLOW_OK);

  auto out = d.pull();
  REQUIRE(out);
  Bytes want = annexb({example_sps(), example_pps()});
  for (const Bytes& s : slices) {
    const Bytes one = annexb({s});
    want.insert(want.end(), one.begin(), one.end());
  }
  const Bytes last = annexb({fragmented});
  want.insert(want.end(), last.begin(), last.end());
  CHECK(bytes_of(out.get()) == want);
  CHECK(gst_buffer_n_memory(out.get()) == 1);
  CHECK(GST_BUFFER_PTS(out.get()) == ms(7));
  CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));
}

TEST_CASE("packets captured from rtph264pay: STAP-A, FU-A and single NAL unit", "[h264depay][output][capture]") {
  Depay d;
  const GstClockTime second_pts = gst_util_uint64_scale_int(2999, GST_SECOND, 90000);
  for (const Bytes* p : {&kCapturedStapA, &kCapturedFuStart, &kCapturedFuEnd}) REQUIRE(d.push(*p, 0) == GST_FLOW_OK);
  REQUIRE(d.push(kCapturedSlice, second_pts) == GST_FLOW_OK);

  auto idr = d.pull();
  REQUIRE(idr);
  CHECK(bytes_of(idr.get()) == annexb({example_sps(), example_pps(), nal(5, 120)}));
  CHECK(GST_BUFFER_PTS(idr.get()) == 0);
  CHECK(has_flag(idr.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK_FALSE(has_flag(idr.get(), GST_BUFFER_FLAG_DELTA_UNIT));

  auto p = d.pull();
  REQUIRE(p);
  CHECK(bytes_of(p.get()) == annexb({nal(1, 50, 0x10, 2)}));
  CHECK(GST_BUFFER_PTS(p.get()) == second_pts);
  CHECK_FALSE(has_flag(p.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK(has_flag(p.get(), GST_BUFFER_FLAG_DELTA_UNIT));

  auto caps = d.src_caps();
  CHECK(caps_field(caps.get(), "profile") == "constrained-baseline");
  CHECK(caps_field(caps.get(), "level") == "2.1");
  CHECK(d.stats() == Stats{.packets = 4, .access_units = 2});
  CHECK(d.keyframe_requests() == 0);
}

TEST_CASE("zero copy: NAL units of single-NAL and STAP-A packets share the input's memory", "[h264depay][zerocopy]") {
  Depay d;
  constexpr std::size_t kHeader = 12;

  SECTION("single NAL unit packet") {
    const Bytes idr = nal(5, 64);
    const auto in = wrap(packet(1, 0, true, idr), 0);
    const std::uint8_t* in_data = memory_data(in.get(), 0);
    REQUIRE(d.push(in) == GST_FLOW_OK);  // a copy of `in`: the test keeps its ref
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({idr}));
    REQUIRE(gst_buffer_n_memory(out.get()) == 2);  // start code, NAL unit
    CHECK(memory_data(out.get(), 1) == in_data + kHeader);
    CHECK(gst_buffer_peek_memory(out.get(), 1)->size == idr.size());
  }

  SECTION("STAP-A: one shared memory per unit, behind a shared start code") {
    const Bytes sps = example_sps(), pps = example_pps(), idr = nal(5, 48);
    const auto in = wrap(packet(1, 0, true, stap_a({sps, pps, idr})), 0);
    const std::uint8_t* in_data = memory_data(in.get(), 0);
    REQUIRE(d.push(in) == GST_FLOW_OK);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({sps, pps, idr}));
    REQUIRE(gst_buffer_n_memory(out.get()) == 6);
    // RFC 6184 §5.7.1: STAP-A header byte, then [size][unit] each.
    const std::size_t sps_at = kHeader + 1 + 2;
    const std::size_t pps_at = sps_at + sps.size() + 2;
    const std::size_t idr_at = pps_at + pps.size() + 2;
    CHECK(memory_data(out.get(), 1) == in_data + sps_at);
    CHECK(memory_data(out.get(), 3) == in_data + pps_at);
    CHECK(memory_data(out.get(), 5) == in_data + idr_at);
    // The start code is one read-only memory shared by every unit.
    CHECK(memory_data(out.get(), 0) == memory_data(out.get(), 2));
    CHECK(GST_MEMORY_IS_READONLY(gst_buffer_peek_memory(out.get(), 0)));
  }

  SECTION("header and payload in separate memories, as rtpbasepayload makes them") {
    const Bytes idr = nal(5, 40);
    const Bytes whole = packet(1, 0, true, idr);
    const Bytes header(whole.begin(), whole.begin() + kHeader);
    const auto in = wrap_parts({header, idr});
    const std::uint8_t* payload_data = memory_data(in.get(), 1);
    REQUIRE(d.push(in) == GST_FLOW_OK);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({idr}));
    REQUIRE(gst_buffer_n_memory(out.get()) == 2);
    CHECK(memory_data(out.get(), 1) == payload_data);
  }

  SECTION("memory that may not be shared (GST_MEMORY_FLAG_NO_SHARE) is copied") {
    const Bytes idr = nal(5, 40);
    const auto in = wrap_parts({packet(1, 0, true, idr)}, GST_MEMORY_FLAG_NO_SHARE);
    const std::uint8_t* in_data = memory_data(in.get(), 0);
    REQUIRE(d.push(in) == GST_FLOW_OK);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({idr}));
    REQUIRE(gst_buffer_n_memory(out.get()) == 2);
    CHECK(memory_data(out.get(), 1) != in_data + kHeader);
  }

  SECTION("a NAL unit split across two memories is copied, bytes intact") {
    const Bytes idr = nal(5, 40);
    const Bytes whole = packet(1, 0, true, idr);
    const Bytes first(whole.begin(), whole.begin() + 30);
    const Bytes second(whole.begin() + 30, whole.end());
    const auto in = wrap_parts({first, second});
    REQUIRE(d.push(in) == GST_FLOW_OK);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({idr}));
  }
}

}  // namespace nagare::test::elements
