// libFuzzer target for nagarealign's core: a scripted session of packets
// from two streams, clock advances, EOS and flushes.
//
// Input format:
//   byte 0: config (bit 0: adaptive latency; bits 1-3: latency in 50 ms
//           steps; bits 4-7: max jump in 250 ms steps, at least 250 ms)
//   then records of 9 bytes: [op][arrival step:2][sequence:2][timestamp:4]
//     op bit 0: stream (0 audio 48 kHz, 1 video 90 kHz)
//     op bits 1-2: 0/1 a packet, 2 release at the arrival time, 3 EOS (drain)
//     op bits 3-4: the packet's SSRC, one of four
//     op bit 5: the arrival step counts backwards (a clock glitch)
//     op bits 6-7: 3 = flush the stream instead
//
// Checks beyond "no crash" (ASan/UBSan catch the rest): every handle the
// aligner takes comes back exactly once (released, given up or flushed),
// and consecutive audio packets without DISCONT are exactly their RTP
// timestamp difference apart.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "align/aligner.hpp"
#include "common/wrap.hpp"

namespace {

using namespace nagare;
using namespace nagare::align;

[[noreturn]] void fail() { __builtin_trap(); }

struct Tracker {
  std::vector<int> state;  // per handle: 0 unused, 1 with the aligner, 2 returned
  std::vector<std::uint32_t> timestamps;

  void give(std::uint32_t h, std::uint32_t ts) {
    if (h >= state.size()) {
      state.resize(h + 1, 0);
      timestamps.resize(h + 1, 0);
    }
    state[h] = 1;
    timestamps[h] = ts;
  }
  void back(std::uint32_t h) {
    if (h >= state.size() || state[h] != 1) fail();
    state[h] = 2;
  }
};

struct AudioCheck {
  bool have = false;
  std::uint32_t ts = 0;
  std::int64_t position = 0;
};

void take(const std::vector<Output>& out, Tracker& t, AudioCheck* audio) {
  for (const Output& o : out) {
    if (o.kind != Output::Kind::packet) continue;
    if (audio) {
      const std::uint32_t ts = t.timestamps[o.handle];
      if (audio->have && !o.discont) {
        const std::int64_t expected = ts_distance(audio->ts, ts) * 1'000'000'000 / 48000;
        if (std::llabs(o.position - audio->position - expected) > 1) fail();
      }
      *audio = {true, ts, o.position};
    }
    t.back(o.handle);
  }
}

std::uint32_t be(const std::uint8_t* p, int n) {
  std::uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  Config config;
  config.mode = data[0] & 1 ? LatencyMode::adaptive : LatencyMode::fixed;
  config.latency = std::int64_t{(data[0] >> 1) & 7} * 50 * kMillisecond;
  config.max_jump = std::int64_t{1 + (data[0] >> 4)} * 250 * kMillisecond;
  Aligner aligner(config);
  const Aligner::StreamId ids[2] = {aligner.add_stream(Media::audio, 48000), aligner.add_stream(Media::video, 90000)};
  Tracker tracker;
  AudioCheck audio;
  std::vector<Output> out;
  std::vector<std::uint32_t> discarded;
  std::int64_t now = 1'000'000'000;
  std::uint32_t next_handle = 0;

  auto settle = [&](int stream) {
    take(out, tracker, stream == 0 ? &audio : nullptr);
    out.clear();
    for (std::uint32_t h : discarded) tracker.back(h);
    discarded.clear();
  };

  for (std::size_t i = 1; i + 9 <= size; i += 9) {
    const std::uint8_t* r = data + i;
    const int stream = r[0] & 1;
    const int op = (r[0] >> 1) & 3;
    const std::int64_t step = static_cast<std::int64_t>(be(r + 1, 2)) * 100'000;  // 0.1 ms units
    now += (r[0] & 0x20) ? -step : step;
    if ((r[0] >> 6) == 3) {
      aligner.flush(ids[stream], discarded);
      if (stream == 0) audio.have = false;
      settle(stream);
      continue;
    }
    if (op <= 1) {
      Arrival a;
      a.arrival = now;
      a.sequence = static_cast<std::uint16_t>(be(r + 3, 2));
      a.timestamp = be(r + 5, 4);
      a.ssrc = 0x100 + ((r[0] >> 3) & 3);
      const std::uint32_t handle = next_handle++;
      tracker.give(handle, a.timestamp);
      const Verdict v = aligner.admit(ids[stream], a, handle, discarded);
      if (v != Verdict::queued && v != Verdict::held) tracker.back(handle);
      aligner.release(ids[stream], now, out);
    } else if (op == 2) {
      aligner.release(ids[stream], now, out);
    } else {
      aligner.drain(ids[stream], out, discarded);
    }
    settle(stream);
  }
  for (int stream = 0; stream < 2; ++stream) {
    aligner.drain(ids[stream], out, discarded);
    settle(stream);
  }
  for (int s : tracker.state) {
    if (s == 1) fail();  // a packet the aligner never gave back
  }
  return 0;
}
