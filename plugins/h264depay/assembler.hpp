// Stateful reassembly of H.264 access units from RTP packets (RFC 6184),
// with loss handling. Plain C++, no GStreamer: the element feeds it parsed
// packets and turns what it reports into buffers and events.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "../common/counter.hpp"
#include "../common/rtp_packet.hpp"
#include "depacketizer.hpp"
#include "parameter_sets.hpp"

namespace nagare::h264 {

// Keeps the caller's packet (a GstBuffer in the element) alive while an
// access unit still points into its bytes. Move-only; releases on destruction.
class PacketRef {
 public:
  using Release = void (*)(void*);
  PacketRef() = default;
  PacketRef(void* handle, Release release) : handle_(handle), release_(release) {}
  PacketRef(PacketRef&& o) noexcept
      : handle_(std::exchange(o.handle_, nullptr)), release_(std::exchange(o.release_, nullptr)) {}
  PacketRef& operator=(PacketRef&& o) noexcept {
    if (this != &o) {
      reset();
      handle_ = std::exchange(o.handle_, nullptr);
      release_ = std::exchange(o.release_, nullptr);
    }
    return *this;
  }
  PacketRef(const PacketRef&) = delete;
  PacketRef& operator=(const PacketRef&) = delete;
  ~PacketRef() { reset(); }

  void* get() const { return handle_; }
  void reset() {
    if (release_) release_(handle_);
    handle_ = nullptr;
    release_ = nullptr;
  }

 private:
  void* handle_ = nullptr;
  Release release_ = nullptr;
};

// One run of output bytes. The output of an access unit is its pieces in
// order; a kPacket piece is one NAL unit that still lives in an input packet
// and must be preceded by a 4-byte start code, a kArena piece is bytes the
// assembler wrote itself, start codes included.
struct Piece {
  enum class Source : std::uint8_t { kArena, kPacket };
  Source source = Source::kArena;
  std::uint32_t packet = 0;  // kPacket: index into AccessUnit::packets
  std::uint32_t offset = 0;  // kPacket: offset in that packet's bytes; kArena: offset in arena
  std::uint32_t size = 0;    // bytes of the run (kPacket: the NAL unit, without start code)
};

struct AccessUnit {
  std::uint32_t rtp_timestamp = 0;
  std::int64_t pts = -1;  // the caller's time of the first packet, passed through
  bool keyframe = false;  // holds an IDR slice
  bool discont = false;   // the first output after a loss, a reset or a restart
  std::vector<Piece> pieces;
  std::vector<std::uint8_t> arena;  // may be moved out by the caller
  std::vector<PacketRef> packets;   // packets that kPacket pieces point into

  // Bytes of the Annex B output: every piece, plus a start code per kPacket piece.
  std::size_t output_size() const;
  // Writes the Annex B output; `packet_bytes(i)` gives the bytes of packets[i].
  template <typename PacketBytes>
  void write(std::uint8_t* out, PacketBytes&& packet_bytes) const;

  void clear();
};

struct AssemblerSettings {
  // Output nothing after a loss (and at the start) until an IDR access unit.
  bool wait_for_keyframe = true;
};

// What one call did, beyond the access units it finished.
struct PushResult {
  bool request_keyframe = false;  // the element should ask upstream for an IDR
  bool unsupported = false;       // this packet used STAP-B/MTAP/FU-B
  Malformation malformation = Malformation::kNone;
};

struct AssemblerStats {
  std::uint64_t packets = 0;
  std::uint64_t access_units = 0;  // access units output
  std::uint64_t dropped = 0;       // access units dropped: broken, or waiting for an IDR
  std::uint64_t lost = 0;          // sequence numbers never seen (gaps and lost events)
  std::uint64_t late = 0;          // packets older than one already handled (reordered or duplicate)
  std::uint64_t malformed = 0;     // refused RTP headers and payloads, reserved NAL types
  std::uint64_t unsupported = 0;   // STAP-B, MTAP16, MTAP24, FU-B
  std::uint64_t padding = 0;       // padding-only packets (no payload), ignored
  std::uint64_t restarts = 0;      // SSRC changes and sequence jumps
};

class Assembler {
 public:
  // A jump this far in sequence numbers is a restarted sender, not a loss.
  static constexpr std::int32_t kRestartDistance = 3000;

  explicit Assembler(AssemblerSettings settings = {});

  // Feeds one parsed RTP packet. `bytes` are the whole packet that `rtp` was
  // parsed from (kPacket piece offsets are relative to it); `ref` keeps it
  // alive if an access unit needs its bytes. Finished access units are then
  // in ready().
  PushResult push(const RtpPacket& rtp, std::span<const std::uint8_t> bytes, PacketRef ref, std::int64_t pts);

  // A packet whose RTP header could not be parsed.
  void count_malformed_header() { stats_.malformed.add(); }

  // A GstRTPPacketLost-style notice: the packet with `sequence` (or, without
  // one, some packet) will never come.
  PushResult packet_lost(std::optional<std::uint16_t> sequence);

  // Parameter sets from out of band (sprop-parameter-sets, RFC 6184 §8.1).
  bool add_parameter_set(std::span<const std::uint8_t> nal) { return parameter_sets_.store(nal); }
  void clear_parameter_sets() { parameter_sets_.clear(); }

  // End of stream: finishes the open access unit if it is whole.
  void drain();
  // Flush or restart: forgets the stream but keeps parameter sets and stats.
  void reset();
  void set_settings(AssemblerSettings settings) { settings_ = settings; }

  std::span<AccessUnit> ready() { return {ready_.data(), ready_count_}; }
  void release_ready();

  const ParameterSets& parameter_sets() const { return parameter_sets_; }
  AssemblerStats stats() const;
  void reset_stats();

 private:
  struct Counters {
    Counter packets, access_units, dropped, lost, late, malformed, unsupported, padding, restarts;
  };

  bool track_sequence(const RtpPacket& rtp, PushResult& result);
  void note_loss(PushResult& result);
  void restart(PushResult& result);
  void open(const RtpPacket& rtp, std::int64_t pts, bool clean_start);
  void mark_broken();
  // Keeps the packet for the open access unit, whose kPacket pieces will
  // point into it; its index there, or nothing if the unit cannot take it.
  std::optional<std::uint32_t> hold_packet(PacketRef& ref, PushResult& result);
  void add_packet_nal(std::span<const std::uint8_t> nal, std::span<const std::uint8_t> bytes,
                      std::uint32_t packet_index);
  void add_fragment(const Payload& payload, PushResult& result);
  void add_arena_run(std::size_t offset, std::size_t size);
  void note_nal(std::span<const std::uint8_t> nal);
  void finish(PushResult& result);
  // Forgets the access unit being built and every flag that describes it.
  void close_current();
  void insert_parameter_sets();

  AssemblerSettings settings_;
  ParameterSets parameter_sets_;
  Counters stats_;

  // Sequence tracking.
  bool have_sequence_ = false;
  std::uint16_t expected_sequence_ = 0;
  std::uint32_t ssrc_ = 0;

  // Stream state.
  bool waiting_for_keyframe_ = true;
  bool discont_pending_ = true;
  bool gap_pending_ = true;  // packets may be missing before the next access unit opens

  // The access unit being built.
  AccessUnit current_;
  bool open_ = false;
  bool broken_ = false;  // lost or refused data: will be dropped when it ends
  bool fu_active_ = false;
  std::size_t fu_begin_ = 0;  // arena offset of the reassembled NAL unit's header
  bool has_sps_ = false, has_pps_ = false;
  bool aud_first_ = false;  // the first NAL unit is an access unit delimiter
  std::size_t nal_count_ = 0;
  std::size_t arena_hint_ = 4096;

  std::array<AccessUnit, 2> ready_;
  std::size_t ready_count_ = 0;
};

template <typename PacketBytes>
void AccessUnit::write(std::uint8_t* out, PacketBytes&& packet_bytes) const {
  for (const Piece& piece : pieces) {
    if (piece.source == Piece::Source::kArena) {
      std::copy_n(arena.data() + piece.offset, piece.size, out);
    } else {
      std::copy_n(kStartCode, sizeof kStartCode, out);
      out += sizeof kStartCode;
      std::span<const std::uint8_t> bytes = packet_bytes(piece.packet);
      std::copy_n(bytes.data() + piece.offset, piece.size, out);
    }
    out += piece.size;
  }
}

}  // namespace nagare::h264
