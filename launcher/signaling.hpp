// Sora-compatible signaling messages: one WebSocket text frame of JSON in,
// one typed message out. Plain C++, no GStreamer and no libsoup, so the
// parser that strangers' bytes reach first is unit-tested and fuzzed on its
// own; ingest.cpp acts on what it returns.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace nagare::launcher::signaling {

// {"type": "connect", "role": "sendonly", "channel_id": …, "sdp": …}
struct Connect {
  std::string role;
  std::string channel_id;
  std::optional<std::string> client_id;
  std::string probe_sdp;    // the client's probe offer; may be empty
  nlohmann::json metadata;  // the client's own data, passed on as it came (null if absent)
};

// {"type": "answer", "sdp": …}
struct Answer {
  std::string sdp;
};

// {"type": "candidate", "candidate": …, "sdpMLineIndex" or "sdpMid"}
struct Candidate {
  std::string candidate;
  std::optional<unsigned> mline_index;
  std::optional<std::string> mid;
};

struct Pong {};
struct Disconnect {};

// A well-formed message a receive-only server has no use for (stats,
// re-answer, …): ignored, as newer clients may send more.
struct Other {
  std::string type;
};

// Not a message: the reason, as the close frame will carry it.
struct Malformed {
  std::string reason;
};

using Message = std::variant<Connect, Answer, Candidate, Pong, Disconnect, Other, Malformed>;

// Parses one text frame. Never throws: whatever the bytes, the answer is a
// message or Malformed with a reason starting "malformed message: ".
Message parse(std::string_view text);

// The "type" the message came with ("connect", "answer", …).
std::string type_of(const Message& message);

}  // namespace nagare::launcher::signaling
