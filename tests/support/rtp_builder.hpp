// Builds RTP packets carrying H.264 payloads, byte by byte, for tests and
// fuzz seeds. Every field is explicit so a test says exactly what it sends.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

namespace nagare::test {

using Bytes = std::vector<std::uint8_t>;

struct RtpHeader {
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  bool marker = false;
  std::uint32_t ssrc = 0x11223344;
  std::uint8_t payload_type = 96;
  std::uint8_t csrc_count = 0;
  // Header extension words (RFC 3550 §5.3.1); none when empty.
  std::vector<std::uint32_t> extension;
  bool with_extension = false;
  std::uint8_t padding = 0;  // bytes of padding, the last one counting them
};

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}

inline Bytes rtp(const RtpHeader& h, std::span<const std::uint8_t> payload) {
  Bytes b;
  b.push_back(
      static_cast<std::uint8_t>(0x80 | (h.padding ? 0x20 : 0) | (h.with_extension ? 0x10 : 0) | (h.csrc_count & 0x0f)));
  b.push_back(static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7f)));
  put16(b, h.sequence);
  put32(b, h.timestamp);
  put32(b, h.ssrc);
  for (int i = 0; i < h.csrc_count; ++i) put32(b, 0xc0000000u + static_cast<std::uint32_t>(i));
  if (h.with_extension) {
    put16(b, 0xBEDE);
    put16(b, static_cast<std::uint16_t>(h.extension.size()));
    for (auto w : h.extension) put32(b, w);
  }
  b.insert(b.end(), payload.begin(), payload.end());
  if (h.padding) {
    for (int i = 1; i < h.padding; ++i) b.push_back(0);
    b.push_back(h.padding);
  }
  return b;
}

inline Bytes rtp(const RtpHeader& h, std::initializer_list<std::uint8_t> payload) {
  return rtp(h, std::span<const std::uint8_t>(payload.begin(), payload.size()));
}

// A NAL unit: header byte (F=0, NRI=3 unless given) then `size - 1` body bytes
// counting up from `fill`. Bodies start with 0x80, so a slice reads as
// first_mb_in_slice == 0 (the first slice of its picture).
inline Bytes nal(std::uint8_t type, std::size_t size, std::uint8_t fill = 0x80, std::uint8_t nri = 3) {
  Bytes b{static_cast<std::uint8_t>((nri << 5) | type)};
  for (std::size_t i = 1; i < size; ++i) b.push_back(static_cast<std::uint8_t>(fill + i - 1));
  if (size > 1) b[1] |= 0x80;
  return b;
}

// RFC 6184 §5.7.1 STAP-A: header byte (type 24, NRI the highest of its units)
// then [16-bit size][NAL unit] for each unit.
inline Bytes stap_a(std::initializer_list<Bytes> units) {
  std::uint8_t nri = 0;
  for (const auto& u : units) nri = std::max<std::uint8_t>(nri, u[0] & 0x60);
  Bytes b{static_cast<std::uint8_t>(nri | 24)};
  for (const auto& u : units) {
    put16(b, static_cast<std::uint16_t>(u.size()));
    b.insert(b.end(), u.begin(), u.end());
  }
  return b;
}

// RFC 6184 §5.8 FU-A: splits `unit` into fragments of at most `max_fragment`
// bytes of its body (the NAL header is carried in the FU bytes).
inline std::vector<Bytes> fu_a(const Bytes& unit, std::size_t max_fragment) {
  std::vector<Bytes> out;
  const auto indicator = static_cast<std::uint8_t>((unit[0] & 0xe0) | 28);
  const std::uint8_t type = unit[0] & 0x1f;
  for (std::size_t pos = 1; pos < unit.size(); pos += max_fragment) {
    const std::size_t n = std::min(max_fragment, unit.size() - pos);
    std::uint8_t fu = type;
    if (pos == 1) fu |= 0x80;
    if (pos + n == unit.size()) fu |= 0x40;
    Bytes b{indicator, fu};
    b.insert(b.end(), unit.begin() + static_cast<std::ptrdiff_t>(pos),
             unit.begin() + static_cast<std::ptrdiff_t>(pos + n));
    out.push_back(std::move(b));
  }
  return out;
}

// NAL units in Annex B form, each after a 4-byte start code: what the
// depayloader must output for them.
inline Bytes annexb(std::initializer_list<Bytes> nals) {
  Bytes out;
  for (const Bytes& n : nals) {
    out.insert(out.end(), {0, 0, 0, 1});
    out.insert(out.end(), n.begin(), n.end());
  }
  return out;
}

// A real SPS and PPS, as x264 wrote them for
//   gst-launch-1.0 videotestsrc num-buffers=1 ! video/x-raw,width=320,height=180
//     ! x264enc tune=zerolatency ! video/x-h264,profile=constrained-baseline ! ...
// profile_idc 66 (constraint_set1: constrained baseline), level_idc 21, both ids 0.
inline Bytes example_sps() {
  return {0x67, 0x42, 0xc0, 0x15, 0xd9, 0x01, 0x41, 0x9f, 0x9f, 0x01, 0x6a, 0x0c, 0x0c, 0x0d, 0x4a,
          0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x79, 0x1e, 0x2c, 0x5c, 0x90};
}
inline Bytes example_pps() { return {0x68, 0xcb, 0x8c, 0xb2}; }

}  // namespace nagare::test
