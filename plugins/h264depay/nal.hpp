// H.264 NAL unit facts used by the depayloader (ITU-T H.264 §7.3.1,
// RFC 6184 §5.2). Plain C++, no GStreamer.
#pragma once

#include <cstdint>

namespace nagare::h264 {

enum NalType : std::uint8_t {
  kNalUnspecified = 0,
  kNalSlice = 1,
  kNalIdr = 5,
  kNalSei = 6,
  kNalSps = 7,
  kNalPps = 8,
  kNalAud = 9,
  kNalStapA = 24,  // RFC 6184 §5.7.1
  kNalStapB = 25,
  kNalMtap16 = 26,  // RFC 6184 §5.7.2
  kNalMtap24 = 27,
  kNalFuA = 28,  // RFC 6184 §5.8
  kNalFuB = 29,
  kNalReserved30 = 30,
  kNalReserved31 = 31,
};

constexpr std::uint8_t nal_type(std::uint8_t header) { return header & 0x1f; }
constexpr bool forbidden_bit(std::uint8_t header) { return header & 0x80; }

// Types a single NAL unit packet, a STAP-A unit or an FU-A may carry: the
// H.264 types 1..23 (RFC 6184 Table 3, "NAL unit").
constexpr bool is_h264_nal_type(std::uint8_t type) { return type >= 1 && type <= 23; }

// Types that can open an access unit (H.264 §7.4.1.2.3): the delimiter,
// parameter sets, SEI, and the prefix/reserved types 14..18.
constexpr bool opens_access_unit(std::uint8_t type) {
  return type == kNalAud || type == kNalSps || type == kNalPps || type == kNalSei || (type >= 14 && type <= 18);
}

constexpr bool is_slice(std::uint8_t type) { return type == kNalSlice || type == kNalIdr; }

// The Annex B start code put before every NAL unit of the output.
inline constexpr std::uint8_t kStartCode[4] = {0, 0, 0, 1};

}  // namespace nagare::h264
