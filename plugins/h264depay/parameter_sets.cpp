#include "parameter_sets.hpp"

#include <algorithm>

#include "nal.hpp"

namespace nagare::h264 {

std::optional<unsigned> RbspReader::next_bit() {
  if (bit_ == 0) {
    // Entering a new byte: 0x03 after two zero bytes is emulation prevention,
    // not data (H.264 §7.4.1).
    if (byte_ < data_.size() && zeros_ >= 2 && data_[byte_] == 0x03) {
      ++byte_;
      zeros_ = 0;
    }
    if (byte_ >= data_.size()) return std::nullopt;
  }
  const unsigned b = (data_[byte_] >> (7 - bit_)) & 1u;
  if (++bit_ == 8) {
    zeros_ = data_[byte_] == 0 ? zeros_ + 1 : 0;
    bit_ = 0;
    ++byte_;
  }
  return b;
}

std::optional<std::uint32_t> RbspReader::read_bits(unsigned n) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < n; ++i) {
    const auto b = next_bit();
    if (!b) return std::nullopt;
    v = (v << 1) | *b;
  }
  return v;
}

std::optional<std::uint32_t> RbspReader::read_ue() {
  unsigned leading_zeros = 0;
  for (;;) {
    const auto b = next_bit();
    if (!b) return std::nullopt;
    if (*b) break;
    if (++leading_zeros > 31) return std::nullopt;
  }
  const auto rest = read_bits(leading_zeros);
  if (!rest) return std::nullopt;
  return static_cast<std::uint32_t>((std::uint64_t{1} << leading_zeros) - 1 + *rest);
}

std::optional<std::uint32_t> parameter_set_id(std::span<const std::uint8_t> nal) {
  if (nal.empty()) return std::nullopt;
  switch (nal_type(nal[0])) {
    case kNalSps: {
      // profile_idc, constraint flags, level_idc, then seq_parameter_set_id.
      RbspReader r(nal.subspan(1));
      if (!r.read_bits(24)) return std::nullopt;
      const auto id = r.read_ue();
      if (!id || *id >= ParameterSets::kMaxSps) return std::nullopt;
      return id;
    }
    case kNalPps: {
      RbspReader r(nal.subspan(1));
      const auto id = r.read_ue();
      if (!id || *id >= ParameterSets::kMaxPps) return std::nullopt;
      return id;
    }
    default: return std::nullopt;
  }
}

bool is_first_slice_of_picture(std::span<const std::uint8_t> nal) { return nal.size() >= 2 && (nal[1] & 0x80); }

bool ParameterSets::store(std::span<const std::uint8_t> nal) {
  const auto id = parameter_set_id(nal);
  if (!id) return false;
  const bool is_sps = nal_type(nal[0]) == kNalSps;
  auto& slot = is_sps ? sps_[*id] : pps_[*id];
  if (is_sps && latest_sps_id_ != id) {
    latest_sps_id_ = *id;
    ++generation_;
  }
  if (std::ranges::equal(slot, nal)) return true;
  if (slot.empty()) ++(is_sps ? sps_count_ : pps_count_);
  slot.assign(nal.begin(), nal.end());
  ++generation_;
  return true;
}

std::span<const std::uint8_t> ParameterSets::latest_sps() const {
  if (!latest_sps_id_) return {};
  return sps_[*latest_sps_id_];
}

void ParameterSets::clear() {
  for (auto& s : sps_) s.clear();
  for (auto& p : pps_) p.clear();
  sps_count_ = pps_count_ = 0;
  latest_sps_id_.reset();
  ++generation_;
}

}  // namespace nagare::h264
