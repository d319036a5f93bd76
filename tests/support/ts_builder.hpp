// Builds MPEG-TS bytes for tests of the segmenter: a PAT, a PMT, and PES
// packets split into 188-byte transport packets the way mpegtsmux writes
// them (PES header in the first packet, adaptation-field stuffing in the
// last, random_access_indicator and a PCR on key frames).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace nagare::test {

inline std::uint32_t ts_crc32(std::span<const std::uint8_t> bytes) {
  std::uint32_t crc = 0xffffffffu;
  for (const std::uint8_t byte : bytes) {
    crc ^= std::uint32_t{byte} << 24;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
  }
  return crc;
}

class TsBuilder {
 public:
  static constexpr std::uint16_t kPmtPid = 0x20;
  static constexpr std::uint16_t kVideoPid = 0x41;
  static constexpr std::uint16_t kAudioPid = 0x42;
  // mpegtsmux's offset of the PES clock over running time: 3600 s.
  static constexpr std::int64_t kClockBase = 324'000'000;

  // stream_type per PID: 0x1b H.264, 0x03 MPEG-1 audio, 0x0f ADTS.
  std::vector<std::uint8_t> tables(bool video, std::uint8_t audio_type) {
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> pat = {0x00,
                                     0xb0,
                                     0x00,
                                     0x00,
                                     0x01,
                                     0xc1,
                                     0x00,
                                     0x00,
                                     0x00,
                                     0x01,
                                     static_cast<std::uint8_t>(0xe0 | (kPmtPid >> 8)),
                                     static_cast<std::uint8_t>(kPmtPid & 0xff)};
    section(out, 0x0000, pat);
    std::vector<std::uint8_t> pmt = {0x02, 0xb0, 0x00, 0x00, 0x01, 0xc1, 0x00, 0x00};
    const std::uint16_t pcr_pid = video ? kVideoPid : kAudioPid;
    pmt.push_back(static_cast<std::uint8_t>(0xe0 | (pcr_pid >> 8)));
    pmt.push_back(static_cast<std::uint8_t>(pcr_pid & 0xff));
    pmt.push_back(0xf0);
    pmt.push_back(0x00);
    auto stream = [&](std::uint8_t type, std::uint16_t pid) {
      pmt.insert(pmt.end(), {type, static_cast<std::uint8_t>(0xe0 | (pid >> 8)), static_cast<std::uint8_t>(pid & 0xff),
                             0xf0, 0x00});
    };
    if (video) stream(0x1b, kVideoPid);
    if (audio_type) stream(audio_type, kAudioPid);
    section(out, kPmtPid, pmt);
    return out;
  }

  // One PES of `payload` on `pid`, timestamps in 90 kHz ticks.
  std::vector<std::uint8_t> pes(std::uint16_t pid, std::int64_t pts, std::span<const std::uint8_t> payload,
                                bool keyframe = false, std::int64_t dts = -1) {
    std::vector<std::uint8_t> header = {0x00, 0x00, 0x01, static_cast<std::uint8_t>(pid == kVideoPid ? 0xe0 : 0xc0),
                                        0x00, 0x00, 0x80};
    const bool with_dts = dts >= 0 && dts != pts;
    header.push_back(with_dts ? 0xc0 : 0x80);
    header.push_back(with_dts ? 10 : 5);
    timestamp(header, with_dts ? 0x3 : 0x2, pts);
    if (with_dts) timestamp(header, 0x1, dts);
    std::vector<std::uint8_t> body = header;
    body.insert(body.end(), payload.begin(), payload.end());
    if (pid != kVideoPid) {
      const std::size_t length = body.size() - 6;
      body[4] = static_cast<std::uint8_t>(length >> 8);
      body[5] = static_cast<std::uint8_t>(length & 0xff);
    }
    std::vector<std::uint8_t> out;
    std::size_t offset = 0;
    bool first = true;
    while (offset < body.size()) {
      const bool flags = first && keyframe;
      // Payload room, then whatever is left over goes to the adaptation
      // field: its length byte, the flags byte, stuffing.
      const std::size_t take = std::min<std::size_t>(184 - (flags ? 2 : 0), body.size() - offset);
      const std::size_t field = 184 - take;
      std::vector<std::uint8_t> packet = {0x47, static_cast<std::uint8_t>((first ? 0x40 : 0x00) | (pid >> 8)),
                                          static_cast<std::uint8_t>(pid & 0xff),
                                          static_cast<std::uint8_t>((field ? 0x30 : 0x10) | (counters_[pid]++ & 0x0f))};
      if (field) {
        packet.push_back(static_cast<std::uint8_t>(field - 1));
        if (field >= 2) packet.push_back(flags ? 0x40 : 0x00);  // random_access_indicator
        packet.resize(4 + field, 0xff);
      }
      packet.insert(packet.end(), body.begin() + static_cast<std::ptrdiff_t>(offset),
                    body.begin() + static_cast<std::ptrdiff_t>(offset + take));
      out.insert(out.end(), packet.begin(), packet.end());
      offset += take;
      first = false;
    }
    return out;
  }

 private:
  static void timestamp(std::vector<std::uint8_t>& out, int prefix, std::int64_t ts) {
    out.push_back(static_cast<std::uint8_t>((prefix << 4) | (((ts >> 30) & 0x07) << 1) | 1));
    out.push_back(static_cast<std::uint8_t>((ts >> 22) & 0xff));
    out.push_back(static_cast<std::uint8_t>((((ts >> 15) & 0x7f) << 1) | 1));
    out.push_back(static_cast<std::uint8_t>((ts >> 7) & 0xff));
    out.push_back(static_cast<std::uint8_t>(((ts & 0x7f) << 1) | 1));
  }

  void section(std::vector<std::uint8_t>& out, std::uint16_t pid, std::vector<std::uint8_t> table) {
    const std::size_t length = table.size() - 3 + 4;
    table[1] = static_cast<std::uint8_t>(0xb0 | (length >> 8));
    table[2] = static_cast<std::uint8_t>(length & 0xff);
    const std::uint32_t crc = ts_crc32(table);
    for (int shift = 24; shift >= 0; shift -= 8) table.push_back(static_cast<std::uint8_t>(crc >> shift));
    std::vector<std::uint8_t> packet = {0x47, static_cast<std::uint8_t>(0x40 | (pid >> 8)),
                                        static_cast<std::uint8_t>(pid & 0xff),
                                        static_cast<std::uint8_t>(0x10 | (counters_[pid]++ & 0x0f)), 0x00};
    packet.insert(packet.end(), table.begin(), table.end());
    packet.resize(188, 0xff);
    out.insert(out.end(), packet.begin(), packet.end());
  }

  std::map<std::uint16_t, std::uint8_t> counters_;
};

// One MP3 frame (MPEG-1 Layer III, 32 kbit/s, no padding) at 48 kHz or
// 44.1 kHz: 1152 samples; a header and zeros.
inline std::vector<std::uint8_t> mp3_frame(std::uint32_t rate = 48000) {
  const std::uint8_t rate_bits = rate == 44100 ? 0x0 : (rate == 48000 ? 0x1 : 0x2);
  const std::uint32_t bytes = 144 * 32000 / rate;
  std::vector<std::uint8_t> frame(bytes, 0);
  frame[0] = 0xff;
  frame[1] = 0xfb;                                                // MPEG-1, Layer III, no CRC
  frame[2] = static_cast<std::uint8_t>(0x10 | (rate_bits << 2));  // 32 kbit/s
  frame[3] = 0xc4;                                                // mono
  return frame;
}

// One ADTS frame (AAC LC, 1024 samples) at 48 kHz with `size` bytes of
// zeros after the 7-byte header.
inline std::vector<std::uint8_t> adts_frame(std::uint32_t size = 64) {
  const std::uint32_t length = 7 + size;
  std::vector<std::uint8_t> frame(length, 0);
  frame[0] = 0xff;
  frame[1] = 0xf1;                                        // MPEG-4, layer 0, no CRC
  frame[2] = static_cast<std::uint8_t>(0x40 | (3 << 2));  // AAC LC, 48 kHz
  frame[3] = static_cast<std::uint8_t>(0x40 | ((length >> 11) & 0x03));
  frame[4] = static_cast<std::uint8_t>((length >> 3) & 0xff);
  frame[5] = static_cast<std::uint8_t>(((length & 0x07) << 5) | 0x1f);
  frame[6] = 0xfc;
  return frame;
}

}  // namespace nagare::test
