#include "encryption.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <memory>
#include <string_view>
#include <utility>

namespace nagare::hls {

namespace {

constexpr std::size_t kKeyIdBytes = 8;
constexpr std::string_view kKeyIdPlaceholder = "{key_id}";

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// One AES-128-CBC pass with PKCS#7 padding, either way.
std::optional<std::vector<std::uint8_t>> cbc(std::span<const std::uint8_t> in, const SegmentKey& key, bool encrypt) {
  if (in.size() > static_cast<std::size_t>(INT_MAX) - 16) return std::nullopt;
  const std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, key.key.data(), key.iv.data(), encrypt ? 1 : 0) != 1) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> out(in.size() + 16);
  int written = 0;
  int last = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &written, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + written, &last) != 1) {
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(written) + static_cast<std::size_t>(last));
  return out;
}

}  // namespace

std::string SegmentKey::attributes() const { return "METHOD=AES-128,URI=\"" + uri + "\",IV=0x" + iv_hex(); }
std::string SegmentKey::key_hex() const { return hex(key); }
std::string SegmentKey::iv_hex() const { return hex(iv); }

bool system_random(std::span<std::uint8_t> out) {
  return out.size() <= static_cast<std::size_t>(INT_MAX) && RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

std::string with_key_id(std::string pattern, const std::string& key_id) {
  if (const auto at = pattern.find(kKeyIdPlaceholder); at != std::string::npos) {
    pattern.replace(at, kKeyIdPlaceholder.size(), key_id);
  }
  return pattern;
}

std::string key_uri_for(const std::string& pattern, const std::string& key_id) {
  if (pattern.find(kKeyIdPlaceholder) != std::string::npos) return with_key_id(pattern, key_id);
  // Before any fragment, after any query the URI already has.
  const auto fragment = pattern.find('#');
  const std::string base = pattern.substr(0, fragment);
  const std::string tail = fragment == std::string::npos ? "" : pattern.substr(fragment);
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "key_id=" + key_id + tail;
}

KeySchedule::KeySchedule(std::string uri_pattern, std::uint32_t rotation, RandomFill random)
    : uri_pattern_(std::move(uri_pattern)), rotation_(rotation), random_(std::move(random)) {}

bool KeySchedule::make(std::uint64_t first_segment) {
  SegmentKey k;
  std::array<std::uint8_t, kKeyIdBytes> id{};
  if (!random_(id) || !random_(k.key) || !random_(k.iv)) return false;
  k.id = hex(id);
  k.first_segment = first_segment;
  k.uri = key_uri_for(uri_pattern_, k.id);
  keys_.push_back(k);
  new_.push_back(std::move(k));
  return true;
}

bool KeySchedule::start() {
  keys_.clear();
  new_.clear();
  if (!make(0)) return false;
  return rotation_ == 0 || make(rotation_);
}

const SegmentKey* KeySchedule::key_for(std::uint64_t index) {
  if (keys_.empty() && !start()) return nullptr;
  if (rotation_ == 0) return &keys_.front();
  // Keys come into use in order; drop the ones whose period is over, and
  // make the next one as each comes into use.
  while (keys_.size() > 1 && keys_[1].first_segment <= index) {
    keys_.pop_front();
    if (!make(keys_.front().first_segment + rotation_)) return nullptr;
  }
  return keys_.front().first_segment <= index ? &keys_.front() : nullptr;
}

std::vector<SegmentKey> KeySchedule::take_new() { return std::exchange(new_, {}); }

std::optional<std::vector<std::uint8_t>> encrypt_segment(std::span<const std::uint8_t> plain, const SegmentKey& key) {
  return cbc(plain, key, true);
}

std::optional<std::vector<std::uint8_t>> decrypt_segment(std::span<const std::uint8_t> cipher, const SegmentKey& key) {
  return cbc(cipher, key, false);
}

}  // namespace nagare::hls
