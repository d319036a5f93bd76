// Stateless parsing of one H.264 RTP payload (RFC 6184 §5.6–§5.8).
//
// parse_payload() looks at the payload of one packet and says what it is,
// validating every length first, so that a caller never sees part of a
// malformed packet. It holds no state; reassembly is the Assembler's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>

#include "nal.hpp"

namespace nagare::h264 {

enum class PayloadKind {
  kSingle,       // one NAL unit, types 1..23 (§5.6)
  kStapA,        // aggregation of NAL units with one timestamp (§5.7.1)
  kFuA,          // one fragment of a NAL unit (§5.8)
  kUnsupported,  // STAP-B, MTAP16, MTAP24, FU-B: interleaved mode only
  kReserved,     // NAL type 0, 30 or 31: no meaning in RFC 6184, to be ignored
  kMalformed,    // lengths or types that cannot be right
};

// Why a payload was kMalformed; for logs and tests.
enum class Malformation {
  kNone,
  kEmpty,            // zero-length payload
  kForbiddenBit,     // F bit set in the payload header (H.264 §7.4.1)
  kStapTruncated,    // a STAP-A size field, or the unit it announces, runs past the end
  kStapEmptyUnit,    // a STAP-A unit of size 0
  kStapBadUnitType,  // a STAP-A unit whose type is not 1..23
  kStapNoUnits,      // a STAP-A with no unit at all
  kFuTooShort,       // an FU-A without its FU header
  kFuBadType,        // an FU-A carrying a type other than 1..23
  // Found by the Assembler, which sees fragments in sequence:
  kFuWithoutStart,  // a middle or end fragment with no start before it
  kFuUnfinished,    // a new start, another NAL unit, or the end of the access unit before the end fragment
  kFuTypeChanged,   // fragments of one NAL unit that disagree on its type
  kReservedType,    // NAL type 0, 30 or 31 (ignored, counted)
};

struct FuHeader {
  bool start = false;
  bool end = false;
  std::uint8_t nal_header = 0;  // the fragmented NAL unit's own header, rebuilt (§5.8)
};

// The NAL units of a validated STAP-A payload, each as a span into it.
class StapUnits {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::span<const std::uint8_t>;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    iterator() = default;
    iterator(const std::uint8_t* p, const std::uint8_t* end) : p_(p), end_(end) {}
    value_type operator*() const { return {p_ + 2, size()}; }
    iterator& operator++() {
      p_ += 2 + size();
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& other) const { return p_ == other.p_; }

   private:
    std::size_t size() const { return static_cast<std::size_t>((p_[0] << 8) | p_[1]); }
    const std::uint8_t* p_ = nullptr;
    const std::uint8_t* end_ = nullptr;
  };

  // `units` is the payload after the STAP-A header byte and must have been
  // validated by parse_payload().
  explicit StapUnits(std::span<const std::uint8_t> units) : units_(units) {}
  iterator begin() const { return {units_.data(), units_.data() + units_.size()}; }
  iterator end() const { return {units_.data() + units_.size(), units_.data() + units_.size()}; }

 private:
  std::span<const std::uint8_t> units_;
};

struct Payload {
  PayloadKind kind = PayloadKind::kMalformed;
  Malformation malformation = Malformation::kNone;
  std::uint8_t type = 0;  // the payload header's type (24 for STAP-A, 28 for FU-A, else the NAL type)
  // kSingle: the NAL unit, header included.
  // kStapA:  the aggregated units after the STAP-A header; iterate with stap_units().
  // kFuA:    the fragment's bytes after the two FU bytes (may be empty).
  std::span<const std::uint8_t> data;
  FuHeader fu;  // kFuA only

  StapUnits stap_units() const { return StapUnits(data); }
};

Payload parse_payload(std::span<const std::uint8_t> payload);

}  // namespace nagare::h264
