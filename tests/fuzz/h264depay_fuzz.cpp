// libFuzzer target for the depayloader core: RTP header parsing, payload
// parsing and access-unit assembly, fed a whole scripted session.
//
// Input format (so the fuzzer explores sessions, not single packets):
//   byte 0: settings (bit 0: wait_for_keyframe)
//   then records: [op:1][len:2 big-endian][bytes:len]
//     op even: an RTP packet;  op odd: a packet-lost notice, with the
//     sequence number in the first two bytes when len >= 2.
//
// Checks beyond "no crash, no out-of-bounds read" (ASan/UBSan catch those):
// every output piece lies inside the packet it names, and the written access
// unit has exactly output_size() bytes and starts with a start code.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "common/rtp_packet.hpp"
#include "h264depay/assembler.hpp"

namespace {

using namespace nagare;
using namespace nagare::h264;

[[noreturn]] void fail() { __builtin_trap(); }

void check(const AccessUnit& au, const std::vector<std::span<const std::uint8_t>>& packet_bytes) {
  for (const Piece& piece : au.pieces) {
    if (piece.source == Piece::Source::kArena) {
      if (std::size_t{piece.offset} + piece.size > au.arena.size()) fail();
    } else {
      if (piece.packet >= packet_bytes.size()) fail();
      if (std::size_t{piece.offset} + piece.size > packet_bytes[piece.packet].size()) fail();
    }
  }
  const std::size_t size = au.output_size();
  std::vector<std::uint8_t> out(size + 1, 0xa5);
  au.write(out.data(), [&](std::uint32_t i) { return packet_bytes[i]; });
  if (out[size] != 0xa5) fail();  // wrote past output_size()
  if (size < 5 || std::memcmp(out.data(), kStartCode, sizeof kStartCode) != 0) fail();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  Assembler assembler(AssemblerSettings{(data[0] & 1) != 0});
  // The packets stay alive for the whole session, as GstBuffers would be
  // kept alive by their PacketRef; the handle is the packet's index.
  std::vector<std::vector<std::uint8_t>> packets;
  packets.reserve(size / 3 + 1);

  const auto verify_ready = [&] {
    for (const AccessUnit& au : assembler.ready()) {
      std::vector<std::span<const std::uint8_t>> bytes;
      for (const PacketRef& ref : au.packets) bytes.emplace_back(packets[reinterpret_cast<std::uintptr_t>(ref.get())]);
      check(au, bytes);
    }
  };

  std::size_t pos = 1;
  while (pos + 3 <= size) {
    const std::uint8_t op = data[pos];
    const std::size_t len = std::min<std::size_t>((std::size_t{data[pos + 1]} << 8) | data[pos + 2], size - pos - 3);
    const std::uint8_t* body = data + pos + 3;
    pos += 3 + len;

    if (op & 1) {
      std::optional<std::uint16_t> sequence;
      if (len >= 2) sequence = static_cast<std::uint16_t>((body[0] << 8) | body[1]);
      assembler.packet_lost(sequence);
      continue;
    }
    // An exact-size copy, so ASan sees any read past the packet's end.
    packets.emplace_back(body, body + len);
    const std::span<const std::uint8_t> bytes(packets.back());
    const RtpParse parsed = parse_rtp(bytes);
    if (!parsed.packet) {
      assembler.count_malformed_header();
      continue;
    }
    PacketRef ref(reinterpret_cast<void*>(packets.size() - 1), nullptr);
    assembler.push(*parsed.packet, bytes, std::move(ref), static_cast<std::int64_t>(pos));
    verify_ready();
  }
  assembler.drain();
  verify_ready();
  return 0;
}
