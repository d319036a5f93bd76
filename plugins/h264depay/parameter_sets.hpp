// SPS and PPS memory: the depayloader keeps the latest parameter sets it has
// seen (in the stream or in sprop-parameter-sets) so it can put them in front
// of an IDR access unit that lacks them. Plain C++, no GStreamer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace nagare::h264 {

// Reads ue(v) from the RBSP of a NAL unit, skipping emulation prevention
// bytes (H.264 §7.4.1: 0x000003). Never reads outside the bytes given.
class RbspReader {
 public:
  explicit RbspReader(std::span<const std::uint8_t> nal_payload) : data_(nal_payload) {}
  std::optional<std::uint32_t> read_bits(unsigned n);
  std::optional<std::uint32_t> read_ue();  // H.264 §9.1 Exp-Golomb

 private:
  std::optional<unsigned> next_bit();
  std::span<const std::uint8_t> data_;
  std::size_t byte_ = 0;
  unsigned bit_ = 0;    // bits already used of data_[byte_]
  unsigned zeros_ = 0;  // consecutive zero bytes read, for emulation prevention
};

// The id a parameter set NAL unit declares (seq_parameter_set_id or
// pic_parameter_set_id), if it is long enough to have one.
std::optional<std::uint32_t> parameter_set_id(std::span<const std::uint8_t> nal);

// The first slice of a picture has first_mb_in_slice == 0, i.e. its slice
// header starts with a '1' bit (H.264 §7.3.3). `nal` is a slice NAL unit,
// header included.
bool is_first_slice_of_picture(std::span<const std::uint8_t> nal);

class ParameterSets {
 public:
  static constexpr std::size_t kMaxSps = 32;   // H.264 §7.4.2.1.1: 0..31
  static constexpr std::size_t kMaxPps = 256;  // §7.4.2.2: 0..255

  // Remembers an SPS or PPS NAL unit (header included). Returns false for a
  // NAL unit that is neither or too short to carry its id. Storing the same
  // bytes again changes nothing and allocates nothing.
  bool store(std::span<const std::uint8_t> nal);

  bool has_sps() const { return sps_count_ > 0; }
  bool has_pps() const { return pps_count_ > 0; }
  // The SPS stored last, for caps (profile and level); empty if none.
  std::span<const std::uint8_t> latest_sps() const;
  // Grows whenever a stored set changes, so a caller can notice new caps.
  std::uint64_t generation() const { return generation_; }

  template <typename F>
  void for_each_sps(F&& f) const {
    for (const auto& s : sps_)
      if (!s.empty()) f(std::span<const std::uint8_t>(s));
  }
  template <typename F>
  void for_each_pps(F&& f) const {
    for (const auto& p : pps_)
      if (!p.empty()) f(std::span<const std::uint8_t>(p));
  }

  void clear();

 private:
  std::array<std::vector<std::uint8_t>, kMaxSps> sps_;
  std::array<std::vector<std::uint8_t>, kMaxPps> pps_;
  std::size_t sps_count_ = 0;
  std::size_t pps_count_ = 0;
  std::optional<std::uint32_t> latest_sps_id_;
  std::uint64_t generation_ = 0;
};

}  // namespace nagare::h264
