#include "segment_crypto.hpp"

#include <openssl/evp.h>

#include <climits>
#include <memory>

namespace nagare::launcher {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

}  // namespace

std::optional<std::array<std::uint8_t, 16>> hex16(std::string_view hex) {
  if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
  if (hex.size() != 32) return std::nullopt;
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 16; ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> decrypt_segment(std::span<const std::uint8_t> cipher,
                                                         const std::array<std::uint8_t, 16>& key,
                                                         const std::array<std::uint8_t, 16>& iv) {
  if (cipher.size() > static_cast<std::size_t>(INT_MAX)) return std::nullopt;
  const std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, key.data(), iv.data()) != 1) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> plain(cipher.size() + 16);
  int written = 0;
  int last = 0;
  if (EVP_DecryptUpdate(ctx.get(), plain.data(), &written, cipher.data(), static_cast<int>(cipher.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + written, &last) != 1) {
    return std::nullopt;
  }
  plain.resize(static_cast<std::size_t>(written) + static_cast<std::size_t>(last));
  return plain;
}

}  // namespace nagare::launcher
