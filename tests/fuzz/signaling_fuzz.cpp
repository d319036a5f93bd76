// libFuzzer target for Sora-compatible signaling (launcher/signaling.hpp):
// one WebSocket text frame from anyone who can reach /signaling.
//
// Checks beyond "no crash" (ASan/UBSan catch the rest):
//   - a Malformed always has a reason starting "malformed message: ", so the
//     client learns why it was closed;
//   - a message is never Malformed with the "malformed" type and vice versa;
//   - a candidate's m-line index is within its bound;
//   - a connect's metadata can be printed (it goes to the auth webhook) and
//     reads back as the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "signaling.hpp"

namespace {

using namespace nagare::launcher::signaling;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Message m = parse(text);
  const bool malformed = std::holds_alternative<Malformed>(m);
  if (malformed) check(std::get<Malformed>(m).reason.rfind("malformed message: ", 0) == 0);
  if (const auto* c = std::get_if<Candidate>(&m); c && c->mline_index) check(*c->mline_index <= 1023);
  if (const auto* c = std::get_if<Connect>(&m)) {
    const std::string printed = c->metadata.dump();
    check(nlohmann::json::parse(printed, nullptr, false) == c->metadata);
  }
  if (const auto* o = std::get_if<Other>(&m)) check(o->type != "connect" && o->type != "answer");
  check(malformed == (type_of(m) == "malformed" && !std::holds_alternative<Other>(m)));
  return 0;
}
