// An HlsIo that records every call in order, the set of files a file system
// would now hold, and what each segment file holds; a call can be made to
// fail. For the tests of the HLS writer (plugins/hlssink/hls_writer.hpp).
#pragma once

#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hlssink/io.hpp"

namespace nagare::hls::test {

enum class Op { kSegment, kPlaylist, kRemove, kAppend };

struct Call {
  Op op;
  std::string path;
  std::size_t size = 0;  // segment bytes
  std::string text;      // playlist text
  bool failed = false;
};

class RecordingIo final : public HlsIo {
 public:
  std::vector<Call> calls;
  std::set<std::string> disk;
  // The next call with this operation and path fails with EIO.
  std::optional<std::pair<Op, std::string>> fail;

  std::map<std::string, std::vector<std::uint8_t>> contents;  // what each segment (or key) file holds now
  std::map<std::string, std::string> appended;                // text appended to each file

  std::optional<IoError> write_segment(const std::string& path, std::span<const std::uint8_t> bytes) override {
    auto error = record({Op::kSegment, path, bytes.size(), {}});
    if (!error) contents[path].assign(bytes.begin(), bytes.end());
    return error;
  }
  std::optional<IoError> write_playlist(const std::string& path, std::string_view text) override {
    return record({Op::kPlaylist, path, 0, std::string(text)});
  }
  std::optional<IoError> remove(const std::string& path) override { return record({Op::kRemove, path, 0, {}}); }
  std::optional<IoError> append(const std::string& path, std::string_view text) override {
    auto error = record({Op::kAppend, path, 0, std::string(text)});
    if (!error) appended[path] += text;
    return error;
  }

  std::vector<Call> of(Op op) const {
    std::vector<Call> out;
    for (const Call& call : calls)
      if (call.op == op) out.push_back(call);
    return out;
  }

 private:
  std::optional<IoError> record(Call call) {
    if (fail && fail->first == call.op && fail->second == call.path) {
      fail.reset();
      call.failed = true;
      calls.push_back(call);
      return IoError{call.path, EIO};
    }
    if (call.op == Op::kRemove) {
      disk.erase(call.path);
      contents.erase(call.path);
    } else {
      disk.insert(call.path);
    }
    calls.push_back(std::move(call));
    return std::nullopt;
  }
};

}  // namespace nagare::hls::test
