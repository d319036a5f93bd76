// MPEG-TS reading, as much as the segmenter needs to route mpegtsmux's
// output into segments (ISO/IEC 13818-1): packet headers and adaptation
// fields, PES headers with their 33-bit timestamps, and single-packet PAT
// and PMT sections.
//
// Plain C++, no GStreamer. Every parser takes bytes and returns nullopt on
// anything malformed; none reads past the span it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace nagare::ts {

inline constexpr std::size_t kPacketSize = 188;
inline constexpr std::uint8_t kSyncByte = 0x47;
inline constexpr std::uint16_t kPatPid = 0x0000;
inline constexpr std::uint16_t kNullPid = 0x1fff;

// One transport packet's header (§2.4.3.2) and adaptation flags (§2.4.3.4).
struct Packet {
  std::uint16_t pid = 0;
  bool payload_unit_start = false;
  bool random_access = false;  // random_access_indicator: mpegtsmux sets it on key frames
  bool discontinuity = false;  // discontinuity_indicator
  std::uint8_t continuity_counter = 0;
  std::span<const std::uint8_t> payload;  // empty when the packet carries none
};

// `bytes` must be exactly one packet. Rejects a missing sync byte, a
// transport error, and an adaptation field longer than the packet.
std::optional<Packet> parse_packet(std::span<const std::uint8_t> bytes);

// Rewrites the 4-bit continuity_counter of one packet in place.
void set_continuity_counter(std::span<std::uint8_t> packet, std::uint8_t counter);

// The start of a PES packet (§2.4.3.6), from the payload of a packet with
// payload_unit_start set. Timestamps are raw 33-bit 90 kHz values.
struct PesHeader {
  std::uint8_t stream_id = 0;
  std::optional<std::int64_t> pts;
  std::optional<std::int64_t> dts;
  std::span<const std::uint8_t> data;  // elementary stream bytes in this packet
};
std::optional<PesHeader> parse_pes_header(std::span<const std::uint8_t> payload);

enum class StreamKind { kH264, kMpegAudio, kAdts, kOther };

// stream_type (§2.4.4.9 table 2-34): 0x1b H.264, 0x03/0x04 MPEG-1/2 audio,
// 0x0f AAC in ADTS.
StreamKind kind_of_stream_type(std::uint8_t stream_type);

struct ElementaryStream {
  std::uint16_t pid = 0;
  std::uint8_t stream_type = 0;
  StreamKind kind = StreamKind::kOther;
};

// PAT (§2.4.4.3): the PMT PID of the first program. PMT (§2.4.4.8): its
// elementary streams. Both take a packet payload that starts a section
// (pointer_field first) and holds all of it; the CRC_32 is checked.
std::optional<std::uint16_t> parse_pat(std::span<const std::uint8_t> payload);
struct Pmt {
  std::uint16_t pcr_pid = 0;
  std::vector<ElementaryStream> streams;
};
std::optional<Pmt> parse_pmt(std::span<const std::uint8_t> payload);

// CRC-32/MPEG-2 (Annex A): polynomial 0x04c11db7, initial value all ones,
// no reflection, no final xor. A section including its CRC_32 sums to 0.
std::uint32_t crc32_mpeg2(std::span<const std::uint8_t> bytes);

// 90 kHz ticks to nanoseconds: 9 ticks are exactly 100 µs.
constexpr std::int64_t ticks_to_ns(std::int64_t ticks) { return ticks * 100'000 / 9; }

// Turns 33-bit PES timestamps into a monotonic 64-bit count of ticks (they
// wrap every 26.5 hours). Each value is placed nearest the previous one.
class PtsUnwrapper {
 public:
  std::int64_t unwrap(std::int64_t raw);
  void reset() { last_.reset(); }

 private:
  std::optional<std::int64_t> last_;
};

}  // namespace nagare::ts
