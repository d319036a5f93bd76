// AES-128 encryption of HLS segments (RFC 8216 §4.3.2.4 and §5.2): every
// segment file is encrypted whole with AES-128-CBC and PKCS#7 padding,
// under a key that players fetch from the EXT-X-KEY URI.
//
// Keys are random, made by OpenSSL's generator, one per writer run or a new
// one every `rotation` segments, and each is made one rotation period ahead
// of the first segment it encrypts: whoever must hand the key to a key
// server (the launcher, through a webhook) has that long to do it before a
// player can need it.
//
// Plain C++ (OpenSSL's libcrypto, no GStreamer).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nagare::hls {

struct SegmentKey {
  std::string id;  // 16 lowercase hex digits, random: names the key to the key server
  std::array<std::uint8_t, 16> key{};
  // An explicit IV per key, written in EXT-X-KEY, so a segment's IV does not
  // depend on its media sequence number (§5.2).
  std::array<std::uint8_t, 16> iv{};
  std::uint64_t first_segment = 0;  // the writer's index of the first segment it encrypts
  std::string uri;                  // the URI players fetch it from

  // EXT-X-KEY's attributes: METHOD=AES-128,URI="…",IV=0x…
  std::string attributes() const;
  std::string key_hex() const;
  std::string iv_hex() const;  // 32 hex digits, without 0x
};

// Fills `out` with random bytes; false if it could not.
using RandomFill = std::function<bool(std::span<std::uint8_t> out)>;
// OpenSSL's RAND_bytes: the system's cryptographic generator.
bool system_random(std::span<std::uint8_t> out);

// `pattern` with its "{key_id}" replaced by the id; unchanged without one.
std::string with_key_id(std::string pattern, const std::string& key_id);

// The key URI for a key: `pattern` with "{key_id}" replaced by the id, or,
// without that placeholder, the pattern with a key_id query parameter added,
// so that every key has its own URI and rotation works with any key server.
std::string key_uri_for(const std::string& pattern, const std::string& key_id);

class KeySchedule {
 public:
  // `rotation`: segments per key; 0 is one key for the whole run.
  KeySchedule(std::string uri_pattern, std::uint32_t rotation, RandomFill random = system_random);

  // Makes the first key (and, with rotation, the second). False if the
  // random generator failed.
  bool start();
  // The key of segment `index`; with rotation, the key after it is made
  // when this one comes into use. nullptr if a key could not be made.
  const SegmentKey* key_for(std::uint64_t index);
  // Keys made since the last call, oldest first.
  std::vector<SegmentKey> take_new();

 private:
  bool make(std::uint64_t first_segment);

  std::string uri_pattern_;
  std::uint32_t rotation_;
  RandomFill random_;
  std::deque<SegmentKey> keys_;  // the one in use and the one made ahead
  std::vector<SegmentKey> new_;
};

// The segment encrypted whole: AES-128-CBC with PKCS#7 padding, so the
// output is 1 to 16 bytes longer than the input. nullopt if OpenSSL failed.
std::optional<std::vector<std::uint8_t>> encrypt_segment(std::span<const std::uint8_t> plain, const SegmentKey& key);
// The inverse, for tests and tools; nullopt on a wrong key or bad padding.
std::optional<std::vector<std::uint8_t>> decrypt_segment(std::span<const std::uint8_t> cipher, const SegmentKey& key);

}  // namespace nagare::hls
