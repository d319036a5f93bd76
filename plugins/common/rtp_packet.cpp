#include "rtp_packet.hpp"

namespace nagare {

namespace {

constexpr std::size_t kFixedHeader = 12;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

RtpParse fail(RtpError e) { return RtpParse{std::nullopt, e}; }

}  // namespace

RtpParse parse_rtp(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kFixedHeader) return fail(RtpError::kTooShort);
  const std::uint8_t* p = bytes.data();
  if ((p[0] >> 6) != 2) return fail(RtpError::kBadVersion);

  const bool has_padding = p[0] & 0x20;
  const bool has_extension = p[0] & 0x10;
  const std::size_t csrc_count = p[0] & 0x0f;

  RtpPacket pkt;
  pkt.marker = p[1] & 0x80;
  pkt.payload_type = p[1] & 0x7f;
  pkt.sequence = be16(p + 2);
  pkt.timestamp = be32(p + 4);
  pkt.ssrc = be32(p + 8);
  pkt.padding = has_padding;

  std::size_t begin = kFixedHeader + 4 * csrc_count;
  if (begin > bytes.size()) return fail(RtpError::kBadCsrc);

  if (has_extension) {
    // RFC 3550 §5.3.1: 16-bit profile id, 16-bit length in 32-bit words.
    if (begin + 4 > bytes.size()) return fail(RtpError::kBadExtension);
    const std::size_t words = be16(p + begin + 2);
    begin += 4 + 4 * words;
    if (begin > bytes.size()) return fail(RtpError::kBadExtension);
  }

  std::size_t end = bytes.size();
  if (has_padding) {
    // RFC 3550 §5.1: the last octet counts the padding, itself included.
    const std::size_t pad = p[end - 1];
    if (pad == 0 || pad > end - begin) return fail(RtpError::kBadPadding);
    end -= pad;
  }

  pkt.payload = bytes.subspan(begin, end - begin);
  return RtpParse{pkt, RtpError::kTooShort};
}

}  // namespace nagare
