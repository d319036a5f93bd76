// A parsed view of one RTP packet (RFC 3550 §5.1). Plain C++, no GStreamer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nagare {

struct RtpPacket {
  std::uint8_t payload_type = 0;
  bool marker = false;
  bool padding = false;  // P bit: the packet carried padding (already removed from payload)
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  // The payload, after the CSRC list and header extension and before the
  // padding. Points into the bytes given to parse_rtp().
  std::span<const std::uint8_t> payload;
};

// Why parse_rtp() refused a packet.
enum class RtpError {
  kTooShort,      // fewer than the 12 fixed header bytes
  kBadVersion,    // V != 2
  kBadCsrc,       // CSRC list runs past the end
  kBadExtension,  // header extension runs past the end
  kBadPadding,    // padding count of zero, or more than what is left
};

struct RtpParse {
  std::optional<RtpPacket> packet;
  RtpError error = RtpError::kTooShort;  // meaningful only when !packet
};

// Parses the fixed header, skips CSRCs and any header extension (RFC 3550
// §5.3.1, RFC 8285), strips padding. Never reads outside `bytes`.
RtpParse parse_rtp(std::span<const std::uint8_t> bytes);

}  // namespace nagare
