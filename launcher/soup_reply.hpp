// Small helpers for answering libsoup server messages, shared by the API,
// file and ingest routes.
#pragma once

#include <libsoup/soup.h>

#include <nlohmann/json.hpp>
#include <string>

namespace nagare::launcher {

inline void set_header(SoupServerMessage* msg, const char* name, const std::string& value) {
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), name, value.c_str());
}

inline void reply(SoupServerMessage* msg, int status, const char* content_type, std::string body) {
  soup_server_message_set_status(msg, status, nullptr);
  soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, body.data(), body.size());
}

inline void reply_json(SoupServerMessage* msg, int status, const nlohmann::json& body) {
  reply(msg, status, "application/json", body.dump() + "\n");
}

// Every refusal carries {"error": "<what is wrong>"}.
inline void reply_error(SoupServerMessage* msg, int status, const std::string& error) {
  reply_json(msg, status, {{"error", error}});
}

inline std::string request_header(SoupServerMessage* msg, const char* name) {
  const char* v = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), name);
  return v ? v : "";
}

}  // namespace nagare::launcher
