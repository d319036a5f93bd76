// Drives an h264::Assembler the way the element does, on packets built in
// memory: build, parse_rtp(), push() with a PacketRef, then resolve every
// finished access unit to its Annex B bytes with AccessUnit::write().
//
// The PacketRef handles count what the assembler still holds, so a test can
// check that every packet is released once its access unit is gone.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

#include "common/rtp_packet.hpp"
#include "h264depay/assembler.hpp"
#include "rtp_builder.hpp"

namespace nagare::test {

// A header with the fields the assembler looks at.
inline RtpHeader at(std::uint16_t sequence, std::uint32_t timestamp, bool marker = false) {
  RtpHeader h;
  h.sequence = sequence;
  h.timestamp = timestamp;
  h.marker = marker;
  return h;
}

// A slice that is not the first of its picture: first_mb_in_slice != 0, so
// its slice header starts with a '0' bit (H.264 §7.3.3).
inline Bytes later_slice(std::uint8_t type, std::size_t size) {
  Bytes b = nal(type, size);
  b[1] &= 0x7f;
  return b;
}

// Every counter, so that a test states all of them and a stray count fails.
// `want` is written with designated initializers; unnamed counters are 0.
inline void check_stats(const h264::AssemblerStats& got, const h264::AssemblerStats& want) {
  CHECK(got.packets == want.packets);
  CHECK(got.access_units == want.access_units);
  CHECK(got.dropped == want.dropped);
  CHECK(got.lost == want.lost);
  CHECK(got.late == want.late);
  CHECK(got.malformed == want.malformed);
  CHECK(got.unsupported == want.unsupported);
  CHECK(got.padding == want.padding);
  CHECK(got.restarts == want.restarts);
}

struct Output {
  Bytes bytes;
  std::uint32_t rtp_timestamp = 0;
  std::int64_t pts = -1;
  bool keyframe = false;
  bool discont = false;
};

class Harness {
 public:
  explicit Harness(h264::AssemblerSettings settings = {}) : assembler(settings) {}
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
  // The assembler lets go of its packets before they are freed.
  ~Harness() { assembler.reset(); }

  h264::PushResult push(const RtpHeader& h, std::span<const std::uint8_t> payload, std::int64_t pts = -1) {
    return push_packet(rtp(h, payload), pts);
  }

  // A packet given byte by byte (captured data).
  h264::PushResult push_packet(Bytes packet, std::int64_t pts = -1) {
    held_.push_back(Held{std::move(packet), &live_refs});
    Held& held = held_.back();
    const RtpParse parsed = parse_rtp(held.bytes);
    REQUIRE(parsed.packet);
    ++live_refs;
    h264::PacketRef ref(&held, [](void* p) { --*static_cast<Held*>(p)->live; });
    const h264::PushResult result = assembler.push(*parsed.packet, held.bytes, std::move(ref), pts);
    collect();
    return result;
  }

  h264::PushResult lost(std::optional<std::uint16_t> sequence) {
    const h264::PushResult result = assembler.packet_lost(sequence);
    collect();
    return result;
  }

  void drain() {
    assembler.drain();
    collect();
  }

  h264::Assembler assembler;
  std::vector<Output> out;     // every access unit output so far, in order
  std::size_t last_count = 0;  // how many of them the last call output
  int live_refs = 0;           // packets the assembler has not released yet

 private:
  struct Held {
    Bytes bytes;
    int* live;
  };

  void collect() {
    last_count = 0;
    for (const h264::AccessUnit& au : assembler.ready()) {
      Output o;
      o.bytes.resize(au.output_size());
      au.write(o.bytes.data(), [&au](std::uint32_t i) {
        return std::span<const std::uint8_t>(static_cast<const Held*>(au.packets.at(i).get())->bytes);
      });
      o.rtp_timestamp = au.rtp_timestamp;
      o.pts = au.pts;
      o.keyframe = au.keyframe;
      o.discont = au.discont;
      out.push_back(std::move(o));
      ++last_count;
    }
  }

  std::deque<Held> held_;  // a deque: pushing keeps earlier packets in place
};

}  // namespace nagare::test
