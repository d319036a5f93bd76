#include "signaling.hpp"

namespace nagare::launcher::signaling {

using Json = nlohmann::json;

namespace {

constexpr unsigned kMaxMLineIndex = 1023;  // far beyond any real offer's m-lines
// Copying, printing and destroying a JSON value recurse once per level, and
// a 256 KiB frame could nest 100,000 deep; a client's metadata has no use for
// more than a few.
constexpr int kMaxDepth = 32;

std::optional<std::string> string_field(const Json& message, const char* name) {
  const auto it = message.find(name);
  if (it == message.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

Message parse_connect(Json& message) {
  auto role = string_field(message, "role");
  auto channel_id = string_field(message, "channel_id");
  if (!role || !channel_id) return Malformed{R"(malformed message: connect needs "role" and "channel_id" strings)"};
  Connect c{std::move(*role), std::move(*channel_id), string_field(message, "client_id"),
            string_field(message, "sdp").value_or(""), nullptr};
  if (const auto it = message.find("metadata"); it != message.end()) c.metadata = std::move(*it);
  return c;
}

Message parse_candidate(const Json& message) {
  auto candidate = string_field(message, "candidate");
  if (!candidate) return Malformed{"malformed message: candidate needs \"candidate\""};
  Candidate c{std::move(*candidate), std::nullopt, string_field(message, "sdpMid")};
  if (const auto it = message.find("sdpMLineIndex"); it != message.end() && !it->is_null()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > kMaxMLineIndex) {
      return Malformed{"malformed message: candidate's \"sdpMLineIndex\" must be a small unsigned integer"};
    }
    c.mline_index = it->get<unsigned>();
  }
  return c;
}

}  // namespace

Message parse(std::string_view text) {
  bool too_deep = false;
  const Json::parser_callback_t depth_check = [&too_deep](int depth, Json::parse_event_t, Json&) {
    if (depth >= kMaxDepth) too_deep = true;  // depth counts from 0
    return !too_deep;
  };
  // allow_exceptions=false: a parse error is a discarded value, not a throw.
  Json message = Json::parse(text.begin(), text.end(), depth_check, false);
  if (too_deep) return Malformed{"malformed message: nested deeper than " + std::to_string(kMaxDepth) + " levels"};
  if (message.is_discarded() || !message.is_object()) {
    return Malformed{"malformed message: expected a JSON object with a \"type\""};
  }
  const auto type = string_field(message, "type");
  if (!type) return Malformed{"malformed message: expected a JSON object with a \"type\""};

  if (*type == "connect") return parse_connect(message);
  if (*type == "answer") {
    auto sdp = string_field(message, "sdp");
    if (!sdp) return Malformed{"malformed message: answer needs \"sdp\""};
    return Answer{std::move(*sdp)};
  }
  if (*type == "candidate") return parse_candidate(message);
  if (*type == "pong") return Pong{};
  if (*type == "disconnect") return Disconnect{};
  return Other{*type};
}

std::string type_of(const Message& message) {
  struct Names {
    std::string operator()(const Connect&) const { return "connect"; }
    std::string operator()(const Answer&) const { return "answer"; }
    std::string operator()(const Candidate&) const { return "candidate"; }
    std::string operator()(const Pong&) const { return "pong"; }
    std::string operator()(const Disconnect&) const { return "disconnect"; }
    std::string operator()(const Other& o) const { return o.type; }
    std::string operator()(const Malformed&) const { return "malformed"; }
  };
  return std::visit(Names{}, message);
}

}  // namespace nagare::launcher::signaling
