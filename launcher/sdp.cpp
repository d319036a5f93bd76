#include "sdp.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>
#include <utility>

namespace nagare::launcher::sdp {

namespace {

constexpr std::size_t kMaxDescription = std::size_t{64} * 1024;
constexpr std::size_t kMaxFragment = std::size_t{16} * 1024;
constexpr long long kMaxPayloadType = 127;  // RFC 3550 §5.1: seven bits
constexpr long long kMaxPort = 65535;

// RFC 6184 §8.1: without profile-level-id, H.264 means Baseline, level 1.0.
constexpr std::string_view kDefaultProfileLevelId = "42000a";
// When the client says nothing usable: Constrained Baseline 3.1, which every
// WebRTC H.264 encoder produces.
constexpr std::string_view kFallbackProfileLevelId = "42e01f";

// Formats that carry another format's packets rather than media of their
// own (RFC 4588, RFC 2198, RFC 5109, RFC 8627): never a choice, and left
// out of "it offers ..." because the user cannot act on them.
constexpr std::string_view kRepairEncodings[] = {"rtx", "red", "ulpfec", "flexfec-03"};

template <typename T>
Result<T> failure(std::string error) {
  return {std::nullopt, std::move(error)};
}

template <typename T>
Result<T> success(T value) {
  return {std::move(value), {}};
}

std::string at_line(std::size_t number, std::string_view message) {
  return "line " + std::to_string(number) + ": " + std::string(message);
}

// At most 24 characters of untrusted text, for error messages that go back
// to the client.
std::string shown(std::string_view text) {
  return text.size() <= 24 ? std::string(text) : std::string(text.substr(0, 24)) + "...";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Space-separated fields. RFC 8866 puts one space between them; a run of
// spaces is read as one, for offers written by hand.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    const std::size_t end = std::min(s.find(' ', i), s.size());
    out.push_back(s.substr(i, end - i));
    i = end;
  }
  return out;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Encoding names and media type parameters are case-insensitive (RFC 4855
// §3, RFC 6838 §4.3): webrtcbin writes "OPUS", browsers "opus".
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

// A number as SDP writes them: decimal digits, no sign; empty when it is
// not one or exceeds `max`.
std::optional<long long> decimal(std::string_view s, long long max) {
  if (!all_digits(s)) return std::nullopt;
  long long value = 0;
  for (char c : s) {
    value = value * 10 + (c - '0');
    if (value > max) return std::nullopt;
  }
  return value;
}

bool is_repair(std::string_view encoding) {
  return std::any_of(std::begin(kRepairEncodings), std::end(kRepairEncodings),
                     [&](std::string_view r) { return iequals(encoding, r); });
}

// ---- Lines and m-sections ------------------------------------------------

// The lines of `text`, split at LF; a CR before the LF is part of the line
// ending. A final LF ends the last line rather than starting an empty one.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

// Why a line cannot be read at all: RFC 8866 §9 allows neither NUL nor a
// CR or LF inside a line, and a stray CR would split it for some readers
// but not others.
std::optional<std::string> bad_bytes(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) return "NUL byte";
  if (line.find('\r') != std::string_view::npos) return "carriage return inside the line";
  return std::nullopt;
}

// The lines of a description by section: [0] the session part, [i + 1] the
// i-th m= line and the lines after it. Empty lines are dropped; SDP has none.
std::vector<std::vector<std::string_view>> sections(std::string_view text) {
  std::vector<std::vector<std::string_view>> out(1);
  for (std::string_view line : split_lines(text)) {
    if (line.empty()) continue;
    if (line.starts_with("m=")) out.emplace_back();
    out.back().push_back(line);
  }
  return out;
}

void emit(std::string& out, std::string_view line) {
  out += line;
  out += "\r\n";
}

// The value of attribute `name` ("a=<name>:<value>", or "" for "a=<name>"),
// or empty when the line is another one.
std::optional<std::string_view> attribute(std::string_view line, std::string_view name) {
  if (!line.starts_with("a=") || line.substr(2, name.size()) != name) return std::nullopt;
  const std::string_view rest = line.substr(2 + name.size());
  if (rest.empty()) return rest;
  if (rest.front() != ':') return std::nullopt;
  return rest.substr(1);
}

// "96 H264/90000" -> {"96", "H264/90000"}: the format an a=rtpmap, a=fmtp
// or a=rtcp-fb value is about, and what it says.
std::pair<std::string_view, std::string_view> split_format(std::string_view value) {
  const std::size_t space = value.find(' ');
  if (space == std::string_view::npos) return {value, {}};
  return {value.substr(0, space), trim(value.substr(space + 1))};
}

// ---- Reading a description ---------------------------------------------

using Problem = std::optional<std::string>;

Problem payload_type(std::string_view token, std::string_view attribute_name, int& pt) {
  const std::string prefix = std::string(attribute_name) + ": payload type ";
  if (!all_digits(token)) return prefix + "\"" + shown(token) + "\" is not a number";
  const auto value = decimal(token, kMaxPayloadType);
  if (!value) return prefix + shown(token) + " out of range";
  pt = static_cast<int>(*value);
  return std::nullopt;
}

Format* find_format(Media* media, int pt) {
  if (media == nullptr) return nullptr;
  for (Format& f : media->formats) {
    if (f.payload_type == pt) return &f;
  }
  return nullptr;
}

// "m=<media> <port>[/<count>] <proto> <fmt> ..." (RFC 8866 §5.14). The
// formats of an RTP profile are payload types; others (SCTP's
// "webrtc-datachannel") stay out of the model.
Problem read_m_line(std::string_view value, Media& media) {
  const auto fields = words(value);
  if (fields.size() < 4) return "m=: expected \"m=<media> <port> <protocol> <formats>\"";
  media.kind = std::string(fields[0]);
  const std::string_view port = fields[1].substr(0, fields[1].find('/'));
  const auto port_value = decimal(port, kMaxPort);
  if (!port_value) return "m=: port \"" + shown(fields[1]) + "\" is not a number from 0 to 65535";
  media.port = static_cast<int>(*port_value);
  media.protocol = std::string(fields[2]);
  if (media.protocol.find("RTP/") == std::string::npos) return std::nullopt;
  for (std::size_t i = 3; i < fields.size(); ++i) {
    int pt = -1;
    if (auto problem = payload_type(fields[i], "m=", pt)) return problem;
    if (find_format(&media, pt) != nullptr) return "m=: payload type " + std::to_string(pt) + " listed twice";
    Format format;
    format.payload_type = pt;
    media.formats.push_back(std::move(format));
  }
  return std::nullopt;
}

// "a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]" (RFC 8866 §6.6).
Problem read_rtpmap(std::string_view value, Media* media) {
  const auto [token, mapping] = split_format(value);
  int pt = -1;
  if (auto problem = payload_type(token, "a=rtpmap", pt)) return problem;
  const std::size_t slash = mapping.find('/');
  const std::string_view encoding = mapping.substr(0, slash);
  const std::string_view rate_and_channels =
      slash == std::string_view::npos ? std::string_view() : mapping.substr(slash + 1);
  const std::size_t second_slash = rate_and_channels.find('/');
  const auto rate = decimal(rate_and_channels.substr(0, second_slash), 1'000'000'000);
  std::optional<long long> channels = 0;
  if (second_slash != std::string_view::npos) channels = decimal(rate_and_channels.substr(second_slash + 1), 255);
  if (encoding.empty() || encoding.find(' ') != std::string_view::npos || !rate || *rate == 0 || !channels) {
    return "a=rtpmap: expected \"<payload type> <encoding>/<clock rate>[/<channels>]\"";
  }
  Format* format = find_format(media, pt);
  if (format == nullptr) return std::nullopt;  // not in the m= line: nothing to describe
  if (!format->encoding.empty()) return "a=rtpmap: payload type " + std::to_string(pt) + " mapped twice";
  format->encoding = std::string(encoding);
  format->clock_rate = static_cast<int>(*rate);
  format->channels = static_cast<int>(*channels);
  return std::nullopt;
}

// "a=fmtp:<pt> <parameters>" (RFC 8866 §6.15). Two for one format would
// leave webrtcbin and nagare free to read different ones.
Problem read_fmtp(std::string_view value, Media* media, std::vector<int>& seen) {
  const auto [token, parameters] = split_format(value);
  int pt = -1;
  if (auto problem = payload_type(token, "a=fmtp", pt)) return problem;
  Format* format = find_format(media, pt);
  if (format == nullptr) return std::nullopt;
  if (std::find(seen.begin(), seen.end(), pt) != seen.end()) {
    return "a=fmtp: payload type " + std::to_string(pt) + " has two a=fmtp lines";
  }
  seen.push_back(pt);
  format->fmtp = std::string(parameters);
  return std::nullopt;
}

// "a=rtcp-fb:<pt or *> <type> [<parameters>]" (RFC 4585 §4.2); "*" is for
// every format of the m-line.
Problem read_rtcp_fb(std::string_view value, Media* media) {
  const auto [token, feedback] = split_format(value);
  if (feedback.empty()) return "a=rtcp-fb: expected \"<payload type> <feedback>\"";
  if (token == "*") {
    if (media != nullptr) {
      for (Format& f : media->formats) f.rtcp_fb.emplace_back(feedback);
    }
    return std::nullopt;
  }
  int pt = -1;
  if (auto problem = payload_type(token, "a=rtcp-fb", pt)) return problem;
  if (Format* format = find_format(media, pt)) format->rtcp_fb.emplace_back(feedback);
  return std::nullopt;
}

bool is_direction(std::string_view line) {
  return line == "a=sendrecv" || line == "a=sendonly" || line == "a=recvonly" || line == "a=inactive";
}

// ---- Choosing ----------------------------------------------------------

// The value of `key` in "key=value;key=value" fmtp parameters. The last one
// counts, as in GStreamer's reading of fmtp into caps.
std::optional<std::string_view> fmtp_parameter(std::string_view fmtp, std::string_view key) {
  std::optional<std::string_view> found;
  std::size_t start = 0;
  while (start <= fmtp.size()) {
    const std::size_t end = std::min(fmtp.find(';', start), fmtp.size());
    const std::string_view pair = fmtp.substr(start, end - start);
    const std::size_t equals = pair.find('=');
    if (equals != std::string_view::npos && iequals(trim(pair.substr(0, equals)), key)) {
      found = trim(pair.substr(equals + 1));
    }
    start = end + 1;
  }
  return found;
}

std::optional<int> hex_byte(std::string_view two) {
  int value = 0;
  for (char c : two) {
    const char l = lower(c);
    if (is_digit(l)) {
      value = value * 16 + (l - '0');
    } else if (l >= 'a' && l <= 'f') {
      value = value * 16 + (l - 'a' + 10);
    } else {
      return std::nullopt;
    }
  }
  return value;
}

// The profile-level-id of an H.264 format, lowercased; empty when it is not
// the six hex digits RFC 6184 §8.1 requires.
std::optional<std::string> profile_level_id(const Format& f) {
  const auto given = fmtp_parameter(f.fmtp, "profile-level-id");
  const std::string_view id = given ? *given : kDefaultProfileLevelId;
  if (id.size() != 6) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < 6; i += 2) {
    if (!hex_byte(id.substr(i, 2))) return std::nullopt;
    out += lower(id[i]);
    out += lower(id[i + 1]);
  }
  return out;
}

// How well an H.264 format suits nagare, lower is better; empty when it
// cannot be used. Packetization mode 1 (RFC 6184 §6.3) lets the sender
// fragment NAL units (FU-A) and aggregate them (STAP-A); mode 0 allows
// neither, and an absent parameter means mode 0.
std::optional<int> h264_rank(const Format& f) {
  if (!iequals(f.encoding, "H264") || f.clock_rate != 90000) return std::nullopt;
  if (fmtp_parameter(f.fmtp, "packetization-mode") != "1") return std::nullopt;
  const auto id = profile_level_id(f);
  if (!id) return std::nullopt;
  const int profile_idc = *hex_byte(std::string_view(*id).substr(0, 2));
  const int profile_iop = *hex_byte(std::string_view(*id).substr(2, 2));
  // constraint_set1: the stream keeps to Main's limits too, which makes
  // Baseline Constrained Baseline (H.264 A.2.1.1).
  constexpr int kConstraintSet1 = 0x40;
  if (profile_idc == 0x42) return (profile_iop & kConstraintSet1) != 0 ? 0 : 1;
  if (profile_idc == 0x4d) return 2;
  if (profile_idc == 0x64) return 3;
  return 4;
}

// RFC 7587 §7: Opus is always signalled as opus/48000/2, whatever it carries.
bool is_opus(const Format& f) { return iequals(f.encoding, "opus") && f.clock_rate == 48000 && f.channels == 2; }

// "VP8, VP9": the distinct codecs of an m-line, for error messages.
std::string offered(const Media& m) {
  std::vector<std::string_view> names;
  for (const Format& f : m.formats) {
    if (f.encoding.empty() || is_repair(f.encoding)) continue;
    if (std::none_of(names.begin(), names.end(), [&](std::string_view n) { return iequals(n, f.encoding); })) {
      names.push_back(f.encoding);
    }
  }
  std::string list;
  for (std::string_view n : names) list += (list.empty() ? "" : ", ") + std::string(n);
  return list.empty() ? std::string() : " (it offers " + list + ")";
}

// Why nagare cannot receive from an m-line, or nothing when it can. A port
// of 0 inside the BUNDLE group is a bundle-only m-line (RFC 8843 §6), not a
// rejected one.
std::optional<std::string> unusable(const Media& m, const std::set<std::string_view>& bundle) {
  if (m.port == 0 && !bundle.contains(m.mid)) return "is rejected (port 0)";
  if (m.direction != "sendrecv" && m.direction != "sendonly") {
    return "is " + m.direction + " (nagare needs sendonly or sendrecv)";
  }
  return std::nullopt;
}

// The index of the first m-line of `kind` nagare can receive from.
Result<std::size_t> pick_media(const Description& d, std::string_view kind) {
  std::set<std::string_view> bundle(d.bundle.begin(), d.bundle.end());
  bundle.erase("");
  std::string first_problem;
  for (std::size_t i = 0; i < d.media.size(); ++i) {
    if (d.media[i].kind != kind) continue;
    const auto problem = unusable(d.media[i], bundle);
    if (!problem) return success(i);
    if (first_problem.empty()) first_problem = "offer's " + std::string(kind) + " m-line " + *problem;
  }
  return failure<std::size_t>(first_problem.empty() ? "offer has no " + std::string(kind) + " m-line" : first_problem);
}

struct Pick {
  std::size_t media = 0;
  const Format* format = nullptr;
};

Result<Pick> pick_video(const Description& d) {
  const auto media = pick_media(d, "video");
  if (!media.value) return failure<Pick>(media.error);
  const Media& m = d.media[*media.value];
  std::optional<Pick> best;
  int best_rank = 0;
  for (const Format& f : m.formats) {
    const auto rank = h264_rank(f);
    if (rank && (!best || *rank < best_rank)) {
      best = Pick{*media.value, &f};
      best_rank = *rank;
    }
  }
  if (!best) return failure<Pick>("offer has no H.264 with packetization-mode=1" + offered(m));
  return success(*best);
}

Result<Pick> pick_audio(const Description& d) {
  const auto media = pick_media(d, "audio");
  if (!media.value) return failure<Pick>(media.error);
  const Media& m = d.media[*media.value];
  const auto opus = std::find_if(m.formats.begin(), m.formats.end(), is_opus);
  if (opus == m.formats.end()) return failure<Pick>("offer has no opus/48000/2" + offered(m));
  return success(Pick{*media.value, &*opus});
}

// ---- Candidates ----------------------------------------------------------

bool is_ipv4(std::string_view address) {
  int parts = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = std::min(address.find('.', start), address.size());
    const std::string_view part = address.substr(start, dot - start);
    if (part.size() > 3 || !decimal(part, 255)) return false;
    ++parts;
    if (dot == address.size()) break;
    start = dot + 1;
  }
  return parts == 4;
}

struct CandidateInfo {
  int component = 0;
  bool udp = false;
  std::string_view address;
  int port = 0;
  std::string_view type;
};

// "candidate:<foundation> <component> <transport> <priority> <address>
// <port> typ <type> ..." (RFC 8839 §5.1), without "a=".
Result<CandidateInfo> read_candidate(std::string_view value) {
  if (!value.starts_with("candidate:")) return failure<CandidateInfo>("not a candidate");
  if (bad_bytes(value) || value.find('\n') != std::string_view::npos) {
    return failure<CandidateInfo>("control character in the candidate");
  }
  const auto fields = words(value.substr(10));
  if (fields.size() < 8) return failure<CandidateInfo>("fewer than 8 fields");
  CandidateInfo c;
  const auto component = decimal(fields[1], 256);
  if (!component) return failure<CandidateInfo>("component \"" + shown(fields[1]) + "\" is not a number");
  c.component = static_cast<int>(*component);
  if (!iequals(fields[2], "udp") && !iequals(fields[2], "tcp")) {
    return failure<CandidateInfo>("transport \"" + shown(fields[2]) + "\" is not UDP or TCP");
  }
  c.udp = iequals(fields[2], "udp");
  if (!decimal(fields[3], 0xffffffffLL))
    return failure<CandidateInfo>("priority \"" + shown(fields[3]) + "\" is not a number");
  c.address = fields[4];
  const auto port = decimal(fields[5], kMaxPort);
  if (!port) return failure<CandidateInfo>("port \"" + shown(fields[5]) + "\" is not a number from 0 to 65535");
  c.port = static_cast<int>(*port);
  if (fields[6] != "typ") return failure<CandidateInfo>("expected \"typ\" after the port");
  c.type = fields[7];
  if (c.type != "host" && c.type != "srflx" && c.type != "prflx" && c.type != "relay") {
    return failure<CandidateInfo>("candidate type \"" + shown(c.type) + "\" is not host, srflx, prflx or relay");
  }
  return success(c);
}

// The order candidates are listed in. Clients that do not sort by priority
// try them as listed, and a server is reached most reliably on its IPv4 UDP
// host address; TCP only helps where UDP is blocked altogether.
int candidate_class(const CandidateInfo& c) {
  if (!c.udp) return 4;
  if (c.type == "host") return is_ipv4(c.address) ? 0 : 1;
  if (c.type == "relay") return 3;
  return 2;  // srflx, prflx
}

std::string_view trim_line(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// ---- Rewriting -----------------------------------------------------------

// "FID 1 2": an a=ssrc-group value that pairs a media SSRC with its
// retransmission SSRC (RFC 5576 §4.2, RFC 4588 §8.1).
bool is_fid_group(std::string_view value) {
  const auto members = words(value);
  return !members.empty() && members[0] == "FID";
}

// In one m-section of an offer, keeps only payload type `keep` (see
// restrict_offer).
void restrict_section(const std::vector<std::string_view>& lines, int keep, std::string& out) {
  // The retransmission SSRC of each FID group goes with the rtx formats; an
  // SSRC some other group names (SIM, or FID as the primary) still belongs
  // to the media.
  std::set<std::string_view> repair;
  std::set<std::string_view> named_elsewhere;
  for (std::string_view line : lines) {
    const auto group = attribute(line, "ssrc-group");
    if (!group) continue;
    const auto members = words(*group);
    for (std::size_t i = 1; i < members.size(); ++i) {
      (is_fid_group(*group) && i >= 2 ? repair : named_elsewhere).insert(members[i]);
    }
  }
  for (std::string_view ssrc : named_elsewhere) repair.erase(ssrc);

  const auto other_format = [keep](std::string_view value) {
    const std::string_view token = split_format(value).first;
    const auto pt = decimal(token, kMaxPayloadType);
    return token != "*" && pt != keep;
  };
  for (std::string_view line : lines) {
    if (line.starts_with("m=")) {
      const auto fields = words(line);
      if (fields.size() >= 3) {
        emit(out, std::string(fields[0]) + " " + std::string(fields[1]) + " " + std::string(fields[2]) + " " +
                      std::to_string(keep));
        continue;
      }
    }
    const auto rtpmap = attribute(line, "rtpmap");
    const auto fmtp = attribute(line, "fmtp");
    const auto rtcp_fb = attribute(line, "rtcp-fb");
    const auto group = attribute(line, "ssrc-group");
    const auto ssrc = attribute(line, "ssrc");
    if ((rtpmap && other_format(*rtpmap)) || (fmtp && other_format(*fmtp)) || (rtcp_fb && other_format(*rtcp_fb)))
      continue;
    if (group && is_fid_group(*group)) continue;
    if (ssrc && repair.contains(split_format(*ssrc).first)) continue;
    // One payload type leaves nothing to simulcast (RFC 8853).
    if (attribute(line, "rid") || attribute(line, "simulcast")) continue;
    emit(out, line);
  }
}

bool lists_format(std::string_view m_line, int pt) {
  const auto fields = words(m_line);
  for (std::size_t i = 3; i < fields.size(); ++i) {
    if (decimal(fields[i], kMaxPayloadType) == pt) return true;
  }
  return false;
}

bool is_format_line(std::string_view line, std::string_view name, int pt) {
  const auto value = attribute(line, name);
  return value && decimal(split_format(*value).first, kMaxPayloadType) == pt;
}

// The port of an m= line, or empty when it has none that reads.
std::optional<long long> m_line_port(std::string_view m_line) {
  const auto fields = words(m_line);
  if (fields.size() < 2) return std::nullopt;
  return decimal(fields[1].substr(0, fields[1].find('/')), kMaxPort);
}

}  // namespace

Result<Description> parse(std::string_view text) {
  if (text.size() > kMaxDescription) return failure<Description>("description is larger than 64 KiB");
  const auto lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (auto problem = bad_bytes(lines[i])) return failure<Description>(at_line(i + 1, *problem));
  }
  if (lines.empty() || lines[0] != "v=0") return failure<Description>(at_line(1, "expected v=0"));

  Description d;
  std::string session_ufrag;
  std::string session_pwd;
  std::string session_direction = "sendrecv";
  std::set<std::string, std::less<>> mids;
  std::vector<int> fmtp_seen;  // payload types of the current m-line with an a=fmtp
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    Media* media = d.media.empty() ? nullptr : &d.media.back();
    Problem problem;
    if (line.starts_with("m=")) {
      Media m;
      m.direction = session_direction;
      m.ice_ufrag = session_ufrag;
      m.ice_pwd = session_pwd;
      problem = read_m_line(line.substr(2), m);
      d.media.push_back(std::move(m));
      fmtp_seen.clear();
    } else if (const auto rtpmap = attribute(line, "rtpmap")) {
      problem = read_rtpmap(*rtpmap, media);
    } else if (const auto fmtp = attribute(line, "fmtp")) {
      problem = read_fmtp(*fmtp, media, fmtp_seen);
    } else if (const auto rtcp_fb = attribute(line, "rtcp-fb")) {
      problem = read_rtcp_fb(*rtcp_fb, media);
    } else if (is_direction(line)) {
      (media != nullptr ? media->direction : session_direction) = std::string(line.substr(2));
    } else if (const auto ufrag = attribute(line, "ice-ufrag")) {
      (media != nullptr ? media->ice_ufrag : session_ufrag) = std::string(trim(*ufrag));
    } else if (const auto pwd = attribute(line, "ice-pwd")) {
      (media != nullptr ? media->ice_pwd : session_pwd) = std::string(trim(*pwd));
    } else if (const auto mid = attribute(line, "mid"); mid && media != nullptr) {
      // RFC 5888 §4: a mid names one m-line; trickled candidates find theirs by it.
      const std::string_view value = trim(*mid);
      if (value.empty()) {
        problem = "a=mid: empty";
      } else if (!mids.emplace(value).second) {
        problem = "a=mid: \"" + shown(value) + "\" names two m-lines";
      } else {
        media->mid = std::string(value);
      }
    } else if (const auto group = attribute(line, "group")) {
      const auto fields = words(*group);
      if (!fields.empty() && fields[0] == "BUNDLE") d.bundle.insert(d.bundle.end(), fields.begin() + 1, fields.end());
    }
    if (problem) return failure<Description>(at_line(i + 1, *problem));
  }
  if (d.media.empty()) return failure<Description>("description has no m= line");
  return success(std::move(d));
}

Result<Choice> choose(const Description& offer) {
  const auto video = pick_video(offer);
  if (!video.value) return failure<Choice>(video.error);
  const auto audio = pick_audio(offer);
  if (!audio.value) return failure<Choice>(audio.error);
  const Format& v = *video.value->format;
  const Format& a = *audio.value->format;
  Choice c;
  c.video_index = video.value->media;
  c.video_mid = offer.media[c.video_index].mid;
  c.video_payload_type = v.payload_type;
  c.video_fmtp = v.fmtp;
  c.audio_index = audio.value->media;
  c.audio_mid = offer.media[c.audio_index].mid;
  c.audio_payload_type = a.payload_type;
  c.audio_fmtp = a.fmtp;
  c.transport_cc = std::find(v.rtcp_fb.begin(), v.rtcp_fb.end(), "transport-cc") != v.rtcp_fb.end();
  c.nack = std::find(v.rtcp_fb.begin(), v.rtcp_fb.end(), "nack") != v.rtcp_fb.end();
  return success(std::move(c));
}

std::string restrict_offer(std::string_view offer, const Choice& choice) {
  const auto all = sections(offer);
  std::string out;
  for (std::string_view line : all.front()) emit(out, line);
  for (std::size_t index = 0; index + 1 < all.size(); ++index) {
    const auto& lines = all[index + 1];  // section 0 is the session part
    if (index == choice.video_index) {
      restrict_section(lines, choice.video_payload_type, out);
    } else if (index == choice.audio_index) {
      restrict_section(lines, choice.audio_payload_type, out);
    } else {
      for (std::string_view line : lines) emit(out, line);
    }
  }
  return out;
}

std::string preferred_h264_profile(std::string_view description) {
  const auto parsed = parse(description);
  if (!parsed.value) return std::string(kFallbackProfileLevelId);
  const auto video = pick_video(*parsed.value);
  if (!video.value) return std::string(kFallbackProfileLevelId);
  return profile_level_id(*video.value->format).value_or(std::string(kFallbackProfileLevelId));
}

std::string set_fmtp(std::string_view description, std::string_view mid, int payload_type, std::string_view fmtp) {
  // The value becomes part of a line: a line break in it would add others.
  if (bad_bytes(fmtp) || fmtp.find('\n') != std::string_view::npos) return std::string(description);
  const auto all = sections(description);
  const auto target = std::find_if(all.begin() + 1, all.end(), [&](const std::vector<std::string_view>& lines) {
    return std::any_of(lines.begin(), lines.end(), [&](std::string_view line) {
      const auto value = attribute(line, "mid");
      return value && trim(*value) == mid;
    });
  });
  if (target == all.end() || !lists_format(target->front(), payload_type)) return std::string(description);

  const std::string line = "a=fmtp:" + std::to_string(payload_type) + " " + std::string(fmtp);
  const bool has_fmtp = std::any_of(target->begin(), target->end(),
                                    [&](std::string_view l) { return is_format_line(l, "fmtp", payload_type); });
  std::string out;
  for (auto section = all.begin(); section != all.end(); ++section) {
    if (section != target) {
      for (std::string_view l : *section) emit(out, l);
      continue;
    }
    bool written = false;
    for (std::string_view l : *section) {
      if (is_format_line(l, "fmtp", payload_type)) {
        if (!written) emit(out, line);  // a second one would contradict it
        written = true;
        continue;
      }
      emit(out, l);
      if (!has_fmtp && !written && is_format_line(l, "rtpmap", payload_type)) {
        emit(out, line);
        written = true;
      }
    }
    // A static payload type (RFC 3551 §6) may have no a=rtpmap to follow.
    if (!written) emit(out, line);
  }
  return out;
}

std::vector<std::string> order_candidates(const std::vector<std::string>& candidates) {
  std::vector<std::pair<int, std::string>> classified;
  std::unordered_set<std::string> seen;
  for (const std::string& candidate : candidates) {
    const std::string_view value = trim_line(candidate);
    const auto info = read_candidate(value);
    if (!info.value || !seen.emplace(value).second) continue;
    classified.emplace_back(candidate_class(*info.value), std::string(value));
  }
  std::stable_sort(classified.begin(), classified.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  out.reserve(classified.size());
  for (auto& [cls, value] : classified) out.push_back(std::move(value));
  return out;
}

std::string with_candidates(std::string_view description, const std::vector<std::string>& candidates) {
  // Only well-formed candidates go in: anything else could break the lines.
  std::vector<std::string_view> lines_to_add;
  std::optional<CandidateInfo> default_candidate;
  for (const std::string& candidate : candidates) {
    const auto info = read_candidate(candidate);
    if (!info.value) continue;
    lines_to_add.push_back(candidate);
    // RFC 8839 §4.2.1.1: the default candidate is one the peer can use
    // without ICE, so a UDP one for RTP's own component; port 0 would
    // reject the m-line (RFC 8866 §5.14).
    const CandidateInfo& c = *info.value;
    if (!default_candidate && c.udp && c.component == 1 && c.port != 0 && is_ipv4(c.address)) {
      default_candidate = info.value;
    }
  }
  const auto is_candidate_line = [](std::string_view l) {
    return attribute(l, "candidate").has_value() || l == "a=end-of-candidates";
  };

  const auto all = sections(description);
  std::string out;
  for (std::size_t s = 0; s < all.size(); ++s) {
    const auto& lines = all[s];
    const auto port = s == 0 ? std::nullopt : m_line_port(lines.front());
    if (!port || *port == 0) {
      for (std::string_view l : lines) {
        if (!is_candidate_line(l)) emit(out, l);
      }
      continue;
    }
    std::vector<std::string_view> rest;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      if (is_candidate_line(lines[i]) || (default_candidate && lines[i].starts_with("c="))) continue;
      rest.push_back(lines[i]);
    }
    if (!default_candidate) {
      emit(out, lines.front());
      for (std::string_view l : rest) emit(out, l);
    } else {
      auto fields = words(lines.front());
      const std::string_view count = fields[1].substr(std::min(fields[1].find('/'), fields[1].size()));
      std::string m_line = std::string(fields[0]) + " " + std::to_string(default_candidate->port) + std::string(count);
      for (std::size_t i = 2; i < fields.size(); ++i) m_line += " " + std::string(fields[i]);
      emit(out, m_line);
      // RFC 8866 §5: i= comes before c= in a media description.
      std::size_t next = 0;
      if (!rest.empty() && rest.front().starts_with("i=")) emit(out, rest[next++]);
      emit(out, "c=IN IP4 " + std::string(default_candidate->address));
      for (; next < rest.size(); ++next) emit(out, rest[next]);
    }
    for (std::string_view candidate : lines_to_add) emit(out, "a=" + std::string(candidate));
    emit(out, "a=end-of-candidates");
  }
  return out;
}

Result<Fragment> parse_fragment(std::string_view text, const Description& offer) {
  if (text.size() > kMaxFragment) return failure<Fragment>("fragment is larger than 16 KiB");
  const auto lines = split_lines(text);
  Fragment f;
  std::string mid;
  int mline_index = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (auto problem = bad_bytes(line)) return failure<Fragment>(at_line(i + 1, *problem));
    if (line.starts_with("m=")) {
      mid.clear();
      mline_index = 0;
    } else if (const auto value = attribute(line, "mid")) {
      const std::string_view wanted = trim(*value);
      const auto found =
          std::find_if(offer.media.begin(), offer.media.end(), [&](const Media& m) { return m.mid == wanted; });
      if (wanted.empty() || found == offer.media.end()) {
        return failure<Fragment>(at_line(i + 1, "a=mid: the offer has no m-line with mid \"" + shown(wanted) + "\""));
      }
      mid = std::string(wanted);
      mline_index = static_cast<int>(found - offer.media.begin());
    } else if (const auto ufrag = attribute(line, "ice-ufrag")) {
      if (f.ice_ufrag.empty()) f.ice_ufrag = std::string(trim(*ufrag));
    } else if (const auto pwd = attribute(line, "ice-pwd")) {
      if (f.ice_pwd.empty()) f.ice_pwd = std::string(trim(*pwd));
    } else if (attribute(line, "candidate")) {
      const std::string_view candidate = trim(line.substr(2));
      const auto info = read_candidate(candidate);
      if (!info.value) return failure<Fragment>(at_line(i + 1, "a=candidate: " + info.error));
      f.candidates.push_back({mid, mline_index, std::string(candidate)});
    } else if (line == "a=end-of-candidates") {
      f.end_of_candidates = true;
    }
  }
  return success(std::move(f));
}

bool is_ice_restart(const Fragment& fragment, const Description& offer) {
  const std::string empty;
  const std::string& ufrag = offer.media.empty() ? empty : offer.media.front().ice_ufrag;
  const std::string& pwd = offer.media.empty() ? empty : offer.media.front().ice_pwd;
  return (!fragment.ice_ufrag.empty() && fragment.ice_ufrag != ufrag) ||
         (!fragment.ice_pwd.empty() && fragment.ice_pwd != pwd);
}

}  // namespace nagare::launcher::sdp
