// nagareh264depay through GstHarness: input it must refuse, skip or tolerate.
// Malformed packets are counted and dropped, never fatal (a criticial would
// abort the run, see init_gstreamer()); interleaved-mode payloads give one
// element warning; valid CSRCs, header extensions and padding are skipped.
#include "depay_harness.hpp"

namespace nagare::test::elements {
namespace {

enum class Effect {
  kIgnored,        // counted, the packet ignored; the stream goes on untouched
  kBreaksUnit,     // counted; the access unit it belongs to is dropped
  kHeaderRefused,  // parse_rtp() refuses it: counted, and its sequence number is seen as lost
};

struct BadPacket {
  const char* what;
  Bytes bytes;  // sequence 2, RTP time 3000, marker set, unless the header is what is wrong
  Effect effect;
};

Bytes with_first_byte(Bytes b, std::uint8_t first) {
  b[0] = first;
  return b;
}

Bytes header_flags(Bytes b, std::uint8_t flags) {
  b[0] |= flags;
  return b;
}

std::vector<BadPacket> bad_packets() {
  const Bytes good = packet(2, 3000, true, nal(1, 20));
  return {
      // RFC 6184 §5.7.1: STAP-A sizes must fit exactly; refused, not truncated.
      {"STAP-A unit longer than the packet", packet(2, 3000, true, {0x78, 0x00, 0x10, 0x65, 0x88}),
       Effect::kBreaksUnit},
      {"STAP-A size field cut in half", packet(2, 3000, true, {0x78, 0x00, 0x02, 0x65, 0x88, 0x00}),
       Effect::kBreaksUnit},
      {"STAP-A unit of size 0", packet(2, 3000, true, {0x78, 0x00, 0x00, 0x00, 0x02, 0x65, 0x88}), Effect::kBreaksUnit},
      {"STAP-A without units", packet(2, 3000, true, {0x78}), Effect::kBreaksUnit},
      {"STAP-A nesting a STAP-A", packet(2, 3000, true, {0x78, 0x00, 0x02, 0x78, 0x00}), Effect::kBreaksUnit},
      // §5.8: fragments need their start; the FU header needs a NAL type.
      {"FU-A middle fragment without start", packet(2, 3000, true, {0x7c, 0x01, 0x11, 0x22}), Effect::kBreaksUnit},
      {"FU-A end fragment without start", packet(2, 3000, true, {0x7c, 0x41, 0x11, 0x22}), Effect::kBreaksUnit},
      {"FU-A without FU header", packet(2, 3000, true, {0x7c}), Effect::kBreaksUnit},
      {"FU-A fragmenting an FU-A", packet(2, 3000, true, {0x7c, 0x9c, 0x11}), Effect::kBreaksUnit},
      // H.264 §7.4.1: forbidden_zero_bit set.
      {"forbidden bit", packet(2, 3000, true, {0xe5, 0x88, 0x84}), Effect::kBreaksUnit},
      // RFC 6184 §5.2: types 0, 30, 31 are ignored.
      {"NAL type 0", packet(2, 3000, true, {0x00, 0x88}), Effect::kIgnored},
      {"NAL type 30", packet(2, 3000, true, {0x7e, 0x88}), Effect::kIgnored},
      {"NAL type 31", packet(2, 3000, true, {0x7f, 0x88}), Effect::kIgnored},
      {"empty payload without padding", packet(2, 3000, true, Bytes{}), Effect::kIgnored},
      // RFC 3550 §5.1.
      {"11 bytes", Bytes(good.begin(), good.begin() + 11), Effect::kHeaderRefused},
      {"version 0", with_first_byte(good, 0x00), Effect::kHeaderRefused},
      {"version 1", with_first_byte(good, 0x40), Effect::kHeaderRefused},
      {"version 3", with_first_byte(good, 0xc0), Effect::kHeaderRefused},
      {"15 CSRCs in a 32-byte packet", with_first_byte(good, 0x8f), Effect::kHeaderRefused},
      {"extension header cut short", header_flags(packet(2, 3000, true, {0xbe, 0xde}), 0x10), Effect::kHeaderRefused},
      {"extension longer than the packet",
       header_flags(packet(2, 3000, true, {0xbe, 0xde, 0x00, 0x05, 0x65, 0x88}), 0x10), Effect::kHeaderRefused},
      {"padding count 0", header_flags(packet(2, 3000, true, {0x65, 0x88, 0x00}), 0x20), Effect::kHeaderRefused},
      {"padding longer than the payload", header_flags(packet(2, 3000, true, {0x65, 0x88, 0x10}), 0x20),
       Effect::kHeaderRefused},
  };
}

}  // namespace

TEST_CASE("malformed packets are counted and dropped; the stream recovers", "[h264depay][malformed]") {
  const Bytes idr = nal(5, 30);
  for (const BadPacket& bad : bad_packets()) {
    DYNAMIC_SECTION(bad.what) {
      Depay d;
      REQUIRE(d.push(packet(1, 0, true, idr), ms(0)) == GST_FLOW_OK);
      REQUIRE(d.push(bad.bytes, ms(33)) == GST_FLOW_OK);  // never an error
      REQUIRE(d.push(packet(3, 6000, true, idr), ms(66)) == GST_FLOW_OK);

      auto first = d.pull();
      REQUIRE(first);
      auto next = d.pull();
      REQUIRE(next);
      CHECK(!d.pull());
      CHECK(bytes_of(next.get()) == annexb({idr}));
      CHECK(GST_BUFFER_PTS(next.get()) == ms(66));
      CHECK(has_flag(next.get(), GST_BUFFER_FLAG_DISCONT) == (bad.effect != Effect::kIgnored));
      CHECK(d.warnings().empty());

      switch (bad.effect) {
        case Effect::kIgnored:
          CHECK(d.stats() == Stats{.packets = 3, .access_units = 2, .malformed = 1});
          CHECK(d.keyframe_requests() == 0);
          break;
        case Effect::kBreaksUnit:
          CHECK(d.stats() ==
                Stats{.packets = 3, .access_units = 2, .dropped = 1, .malformed = 1, .keyframe_requests = 1});
          CHECK(d.keyframe_requests() == 1);
          break;
        case Effect::kHeaderRefused:
          CHECK(d.stats() == Stats{.packets = 2, .access_units = 2, .lost = 1, .malformed = 1, .keyframe_requests = 1});
          CHECK(d.keyframe_requests() == 1);
          break;
      }
    }
  }
}

TEST_CASE("a reserved NAL type inside an access unit leaves the unit whole", "[h264depay][malformed]") {
  Depay d;
  const Bytes idr = nal(5, 30);
  Bytes tail = nal(5, 12, 0x40);
  tail[1] &= 0x7f;  // a later slice of the same IDR picture
  REQUIRE(d.push(packet(1, 0, false, idr), ms(0)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(2, 0, false, {0x7e, 0x01, 0x02}), ms(0)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(3, 0, true, tail), ms(0)) == GST_FLOW_OK);
  auto out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({idr, tail}));
  CHECK(d.stats() == Stats{.packets = 3, .access_units = 1, .malformed = 1});
}

TEST_CASE("CSRCs, a header extension and padding are skipped; the NAL unit is still shared", "[h264depay][header]") {
  Depay d;
  const Bytes idr = nal(5, 40);
  RtpHeader h;
  h.sequence = 1;
  h.marker = true;
  h.csrc_count = 2;
  h.with_extension = true;
  h.extension = {0x10ff0000, 0x12345678};  // RFC 8285 one-byte elements
  h.padding = 3;
  const Bytes bytes = rtp(h, idr);
  auto in = GstPtr<GstBuffer>::adopt(gst_buffer_new_memdup(bytes.data(), bytes.size()));
  const std::uint8_t* in_data = memory_data(in.get(), 0);
  REQUIRE(d.push(in) == GST_FLOW_OK);

  auto out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({idr}));
  REQUIRE(gst_buffer_n_memory(out.get()) == 2);
  constexpr std::size_t kPayloadAt = 12 + 2 * 4 + 4 + 2 * 4;  // fixed, CSRCs, extension header and words
  CHECK(memory_data(out.get(), 1) == in_data + kPayloadAt);
  CHECK(gst_buffer_peek_memory(out.get(), 1)->size == idr.size());
  CHECK(d.stats() == Stats{.packets = 1, .access_units = 1});
}

TEST_CASE("padding-only packets use a sequence number and nothing else", "[h264depay][header]") {
  Depay d;
  const Bytes idr = nal(5, 30);
  Bytes tail = nal(5, 12, 0x40);
  tail[1] &= 0x7f;
  RtpHeader probe;  // RFC 3550 §5.1 padding, as bandwidth probes send it
  probe.sequence = 2;
  probe.padding = 4;
  REQUIRE(d.push(packet(1, 0, false, idr), ms(0)) == GST_FLOW_OK);
  REQUIRE(d.push(rtp(probe, Bytes{}), ms(0)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(3, 0, true, tail), ms(0)) == GST_FLOW_OK);
  auto out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({idr, tail}));
  CHECK(d.keyframe_requests() == 0);
  CHECK(d.stats() == Stats{.packets = 3, .access_units = 1, .padding = 1});
}

TEST_CASE("STAP-B, MTAP16, MTAP24, FU-B: one element warning, each counted and its unit dropped",
          "[h264depay][unsupported]") {
  Depay d;
  const Bytes idr = nal(5, 30);
  REQUIRE(d.push(packet(1, 0, true, idr), ms(0)) == GST_FLOW_OK);
  // RFC 6184 §5.7.1 STAP-B (DON, then units), §5.7.2 MTAPs, §5.8 FU-B (DON
  // after the FU header): interleaved mode, which this element does not do.
  REQUIRE(d.push(packet(2, 3000, true, {0x79, 0x00, 0x01, 0x00, 0x02, 0x41, 0x88}), ms(33)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(3, 6000, true, {0x7a, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x10, 0x41, 0x88}), ms(66)) ==
          GST_FLOW_OK);
  REQUIRE(d.push(packet(4, 9000, true, {0x7b, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x10, 0x41, 0x88}), ms(100)) ==
          GST_FLOW_OK);
  REQUIRE(d.push(packet(5, 12000, true, {0x7d, 0x81, 0x00, 0x01, 0x88}), ms(133)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(6, 15000, true, idr), ms(166)) == GST_FLOW_OK);

  auto first = d.pull();
  REQUIRE(first);
  auto next = d.pull();
  REQUIRE(next);
  CHECK(!d.pull());
  CHECK(bytes_of(next.get()) == annexb({idr}));
  CHECK(has_flag(next.get(), GST_BUFFER_FLAG_DISCONT));

  const auto warnings = d.warnings();
  REQUIRE(warnings.size() == 1);
  CHECK(GST_MESSAGE_SRC(warnings[0].get()) == GST_OBJECT(d.element()));
  GError* error = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_warning(warnings[0].get(), &error, &debug);
  CHECK(error->domain == GST_STREAM_ERROR);
  CHECK(error->code == GST_STREAM_ERROR_DECODE);
  g_error_free(error);
  g_free(debug);

  CHECK(d.keyframe_requests() == 1);
  CHECK(d.stats() == Stats{.packets = 6, .access_units = 2, .dropped = 4, .unsupported = 4, .keyframe_requests = 1});
}

}  // namespace nagare::test::elements
