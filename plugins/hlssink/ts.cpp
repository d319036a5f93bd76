#include "ts.hpp"

#include <array>

namespace nagare::ts {

namespace {

constexpr std::int64_t kPtsModulus = std::int64_t{1} << 33;

std::uint16_t pid_of(std::uint8_t high, std::uint8_t low) {
  return static_cast<std::uint16_t>(((high & 0x1f) << 8) | low);
}

// A PTS or DTS field (§2.4.3.7): 33 bits spread over 5 bytes with marker
// bits in between.
std::int64_t read_timestamp(const std::uint8_t* p) {
  return (static_cast<std::int64_t>(p[0] & 0x0e) << 29) | (static_cast<std::int64_t>(p[1]) << 22) |
         (static_cast<std::int64_t>(p[2] & 0xfe) << 14) | (static_cast<std::int64_t>(p[3]) << 7) |
         (static_cast<std::int64_t>(p[4]) >> 1);
}

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i << 24;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
    table[i] = crc;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

// The section a PSI payload starts (§2.4.4.2 pointer_field), checked for
// length and CRC. Returns the whole section, CRC included.
std::optional<std::span<const std::uint8_t>> section_of(std::span<const std::uint8_t> payload, std::uint8_t table_id) {
  if (payload.empty()) return std::nullopt;
  const std::size_t start = 1 + std::size_t{payload[0]};
  if (payload.size() < start + 3) return std::nullopt;
  const auto section = payload.subspan(start);
  if (section[0] != table_id) return std::nullopt;
  const std::size_t length = 3 + (((section[1] & 0x0f) << 8) | section[2]);
  // table_id_extension .. last_section_number (5 bytes) plus the CRC_32.
  if (length < 3 + 5 + 4 || length > section.size()) return std::nullopt;
  const auto whole = section.first(length);
  if (crc32_mpeg2(whole) != 0) return std::nullopt;
  return whole;
}

}  // namespace

std::optional<Packet> parse_packet(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kPacketSize || bytes[0] != kSyncByte) return std::nullopt;
  if (bytes[1] & 0x80) return std::nullopt;  // transport_error_indicator
  Packet packet;
  packet.pid = pid_of(bytes[1], bytes[2]);
  packet.payload_unit_start = (bytes[1] & 0x40) != 0;
  packet.continuity_counter = bytes[3] & 0x0f;
  const std::uint8_t control = (bytes[3] >> 4) & 0x03;
  if (control == 0) return std::nullopt;  // reserved
  std::size_t offset = 4;
  if (control & 0x02) {
    const std::size_t length = bytes[4];
    if (5 + length > kPacketSize) return std::nullopt;
    if (length > 0) {
      packet.discontinuity = (bytes[5] & 0x80) != 0;
      packet.random_access = (bytes[5] & 0x40) != 0;
    }
    offset = 5 + length;
  }
  if (control & 0x01) packet.payload = bytes.subspan(offset);
  return packet;
}

void set_continuity_counter(std::span<std::uint8_t> packet, std::uint8_t counter) {
  packet[3] = static_cast<std::uint8_t>((packet[3] & 0xf0) | (counter & 0x0f));
}

std::optional<PesHeader> parse_pes_header(std::span<const std::uint8_t> payload) {
  // packet_start_code_prefix, stream_id, PES_packet_length.
  if (payload.size() < 6 || payload[0] != 0 || payload[1] != 0 || payload[2] != 1) return std::nullopt;
  PesHeader pes;
  pes.stream_id = payload[3];
  // Audio (0xc0-0xdf) and video (0xe0-0xef) streams carry the optional
  // header; the others (padding, private_stream_2 ...) are not ours.
  const bool has_optional_header = (pes.stream_id & 0xe0) == 0xc0 || (pes.stream_id & 0xf0) == 0xe0;
  if (!has_optional_header) return std::nullopt;
  if (payload.size() < 9 || (payload[6] & 0xc0) != 0x80) return std::nullopt;
  const std::uint8_t flags = payload[7] >> 6;
  const std::size_t header_end = 9 + std::size_t{payload[8]};
  if (header_end > payload.size()) return std::nullopt;
  if (flags == 0x01) return std::nullopt;  // DTS without PTS is forbidden
  if (flags & 0x02) {
    if (header_end < 14) return std::nullopt;
    pes.pts = read_timestamp(&payload[9]);
  }
  if (flags == 0x03) {
    if (header_end < 19) return std::nullopt;
    pes.dts = read_timestamp(&payload[14]);
  }
  pes.data = payload.subspan(header_end);
  return pes;
}

StreamKind kind_of_stream_type(std::uint8_t stream_type) {
  switch (stream_type) {
    case 0x1b: return StreamKind::kH264;
    case 0x03:
    case 0x04: return StreamKind::kMpegAudio;
    case 0x0f: return StreamKind::kAdts;
    default: return StreamKind::kOther;
  }
}

std::optional<std::uint16_t> parse_pat(std::span<const std::uint8_t> payload) {
  const auto section = section_of(payload, 0x00);
  if (!section) return std::nullopt;
  // Program loop between the 8-byte header and the CRC: 4 bytes each.
  const auto programs = section->subspan(8, section->size() - 8 - 4);
  for (std::size_t i = 0; i + 4 <= programs.size(); i += 4) {
    const auto program_number = static_cast<std::uint16_t>((programs[i] << 8) | programs[i + 1]);
    if (program_number != 0) return pid_of(programs[i + 2], programs[i + 3]);  // 0 names the NIT
  }
  return std::nullopt;
}

std::optional<Pmt> parse_pmt(std::span<const std::uint8_t> payload) {
  const auto section = section_of(payload, 0x02);
  if (!section || section->size() < 12 + 4) return std::nullopt;
  const auto& s = *section;
  Pmt pmt;
  pmt.pcr_pid = pid_of(s[8], s[9]);
  const std::size_t info_length = ((s[10] & 0x0f) << 8) | s[11];
  std::size_t i = 12 + info_length;
  const std::size_t end = s.size() - 4;
  if (i > end) return std::nullopt;
  while (i + 5 <= end) {
    ElementaryStream stream;
    stream.stream_type = s[i];
    stream.pid = pid_of(s[i + 1], s[i + 2]);
    stream.kind = kind_of_stream_type(stream.stream_type);
    const std::size_t es_info_length = ((s[i + 3] & 0x0f) << 8) | s[i + 4];
    i += 5 + es_info_length;
    if (i > end) return std::nullopt;
    pmt.streams.push_back(stream);
  }
  return pmt;
}

std::uint32_t crc32_mpeg2(std::span<const std::uint8_t> bytes) {
  std::uint32_t crc = 0xffffffffu;
  for (const std::uint8_t byte : bytes) crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ byte) & 0xff];
  return crc;
}

std::int64_t PtsUnwrapper::unwrap(std::int64_t raw) {
  raw &= kPtsModulus - 1;
  if (!last_) {
    last_ = raw;
    return raw;
  }
  std::int64_t step = (raw - *last_) % kPtsModulus;
  if (step < 0) step += kPtsModulus;
  if (step >= kPtsModulus / 2) step -= kPtsModulus;
  *last_ += step;
  return *last_;
}

}  // namespace nagare::ts
