// Decrypting the AES-128 segments nagarehlssink writes (RFC 8216 §4.3.2.4:
// AES-128-CBC over the whole file, PKCS#7 padding), for the archive's MP4.
// The launcher uses no element code, so this is its own, on OpenSSL's
// libcrypto like the sink's.
//
// Plain C++, no GStreamer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace nagare::launcher {

// 32 hex digits, with or without a leading 0x, as 16 bytes.
std::optional<std::array<std::uint8_t, 16>> hex16(std::string_view hex);

// nullopt on a wrong key (bad padding) or an OpenSSL failure.
std::optional<std::vector<std::uint8_t>> decrypt_segment(std::span<const std::uint8_t> cipher,
                                                         const std::array<std::uint8_t, 16>& key,
                                                         const std::array<std::uint8_t, 16>& iv);

}  // namespace nagare::launcher
