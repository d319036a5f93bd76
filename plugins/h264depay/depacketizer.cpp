#include "depacketizer.hpp"

namespace nagare::h264 {

namespace {

Payload malformed(std::uint8_t type, Malformation why) {
  Payload p;
  p.kind = PayloadKind::kMalformed;
  p.type = type;
  p.malformation = why;
  return p;
}

// RFC 6184 §5.7.1: [16-bit size][NAL unit] repeated to the end. Every size
// must fit exactly; a unit that claims more than is left is refused, never
// truncated.
Malformation validate_stap_a(std::span<const std::uint8_t> units) {
  if (units.empty()) return Malformation::kStapNoUnits;
  std::size_t pos = 0;
  while (pos < units.size()) {
    if (units.size() - pos < 2) return Malformation::kStapTruncated;
    const auto size = static_cast<std::size_t>((units[pos] << 8) | units[pos + 1]);
    pos += 2;
    if (size == 0) return Malformation::kStapEmptyUnit;
    if (size > units.size() - pos) return Malformation::kStapTruncated;
    const std::uint8_t header = units[pos];
    if (forbidden_bit(header)) return Malformation::kForbiddenBit;
    if (!is_h264_nal_type(nal_type(header))) return Malformation::kStapBadUnitType;
    pos += size;
  }
  return Malformation::kNone;
}

}  // namespace

Payload parse_payload(std::span<const std::uint8_t> payload) {
  if (payload.empty()) return malformed(0, Malformation::kEmpty);

  const std::uint8_t header = payload[0];
  const std::uint8_t type = nal_type(header);
  if (forbidden_bit(header)) return malformed(type, Malformation::kForbiddenBit);

  Payload out;
  out.type = type;

  if (is_h264_nal_type(type)) {
    out.kind = PayloadKind::kSingle;
    out.data = payload;
    return out;
  }

  switch (type) {
    case kNalStapA: {
      const auto units = payload.subspan(1);
      if (const Malformation why = validate_stap_a(units); why != Malformation::kNone) return malformed(type, why);
      out.kind = PayloadKind::kStapA;
      out.data = units;
      return out;
    }
    case kNalFuA: {
      if (payload.size() < 2) return malformed(type, Malformation::kFuTooShort);
      const std::uint8_t fu = payload[1];
      // §5.8: the R bit "MUST be ignored by the receiver".
      if (!is_h264_nal_type(nal_type(fu))) return malformed(type, Malformation::kFuBadType);
      out.kind = PayloadKind::kFuA;
      out.fu.start = fu & 0x80;
      out.fu.end = fu & 0x40;
      // §5.8: F and NRI come from the FU indicator, the type from the FU header.
      out.fu.nal_header = static_cast<std::uint8_t>((header & 0xe0) | nal_type(fu));
      out.data = payload.subspan(2);
      return out;
    }
    case kNalStapB:
    case kNalMtap16:
    case kNalMtap24:
    case kNalFuB: out.kind = PayloadKind::kUnsupported; return out;
    default:  // 0, 30, 31
      out.kind = PayloadKind::kReserved;
      return out;
  }
}

}  // namespace nagare::h264
