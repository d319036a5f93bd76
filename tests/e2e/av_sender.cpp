// e2e-av-sender: a live A/V RTP sender with a known lip-sync truth, for the
// A/V sync test (av_sync.py).
//
//   e2e-av-sender --audio-port N --video-port N [--host 127.0.0.1]
//                 [--duration SECONDS] [--video-ppm PPM] [--seed N]
//
// Video: 30 fps H.264, 320x240, black frames, one white frame per second
// (x264enc ! rtph264pay, PT 96). Each white frame is forced to be an IDR, so
// a receiver that waits for a key frame after a loss still shows it. One
// encoder thread: zerolatency cuts a frame into one slice per thread, and
// this way the packets are the same on any machine. Audio: 48 kHz mono Opus,
// silence with a 100 ms 1 kHz beep each second (opusenc ! rtpopuspay, PT
// 111). The encoders run a little ahead; each RTP packet is then sent over
// UDP (IPv4) at its real capture instant on CLOCK_MONOTONIC: audio packets
// at the end of their 20 ms, all packets of a video frame at the frame's
// capture instant.
//
// Audio is the reference clock: audio RTP ts = 48000 x real time. The video
// clock runs PPM fast: frame n carries RTP ts ts0 + 3000 n but is captured at
// real time n / (30 (1 + PPM 1e-6)). The flash of second k is the first frame
// captured at or after k s, and the beep of second k starts at that frame's
// capture instant (sample round(t 48000)), so a perfect receiver measures 0.
// Sequence numbers, timestamps and SSRCs start at random values, different
// for each stream (--seed makes them repeatable).
//
// stdout: one JSON line at the end: packets sent, flashes, how late sends
// were, and when the first 20 sends more than 5 ms late were due. Exit
// status: 0 done, 1 error, 2 bad arguments.

#include <arpa/inet.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <numbers>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/gst_ptr.hpp"

namespace {

using nagare::BufferMap;
using nagare::GstPtr;

constexpr int kWidth = 320;
constexpr int kHeight = 240;
constexpr std::uint64_t kFps = 30;
constexpr std::uint64_t kRate = 48000;
constexpr std::uint64_t kFrameSamples = 960;  // Opus 20 ms, opusenc's default
constexpr std::uint64_t kBeepSamples = kRate / 10;
constexpr double kBeepHz = 1000.0;
constexpr double kBeepAmplitude = 0.5;
constexpr std::uint32_t kVideoTicksPerFrame = 90000 / kFps;
// How far the encoders run ahead of the send clock. Both emit a packet per
// input frame at once (x264 zerolatency; Opus keeps its lookahead inside),
// so this only has to cover scheduling hiccups.
constexpr GstClockTime kLead = 500 * GST_MSECOND;

struct Options {
  GstClockTime duration = 90 * GST_SECOND;
  std::string host = "127.0.0.1";
  int audio_port = 0;
  int video_port = 0;
  std::int64_t video_ppm = 300;
  std::optional<std::uint32_t> seed;
};

// The truth the receiver measures against. Integer nanoseconds and samples
// throughout, so nothing drifts over a long run.
class Schedule {
 public:
  explicit Schedule(std::int64_t ppm) : frames_per_million_s_(kFps * static_cast<std::uint64_t>(1000000 + ppm)) {}

  // Real capture instant of video frame n.
  GstClockTime frame_instant(std::uint64_t n) const {
    return gst_util_uint64_scale_round(n, GST_SECOND * 1000000, frames_per_million_s_);
  }

  // The first frame captured at or after `second` s: the flash of that second.
  std::uint64_t flash_frame(std::uint64_t second) const {
    std::uint64_t n = gst_util_uint64_scale_ceil(second, frames_per_million_s_, 1000000);
    while (n > 0 && frame_instant(n - 1) >= second * GST_SECOND) --n;  // rounding in frame_instant
    while (frame_instant(n) < second * GST_SECOND) ++n;
    return n;
  }

  bool is_flash(std::uint64_t n) const { return n == flash_frame(frame_instant(n) / GST_SECOND); }

  // First audio sample of the beep of `second`: the flash's capture instant.
  std::uint64_t beep_start(std::uint64_t second) const {
    return gst_util_uint64_scale_round(frame_instant(flash_frame(second)), kRate, GST_SECOND);
  }

 private:
  std::uint64_t frames_per_million_s_;  // video frames per 1e6 real seconds
};

GstPtr<GstBuffer> make_video_frame(bool white) {
  const std::size_t luma = static_cast<std::size_t>(kWidth) * kHeight;
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, luma * 3 / 2, nullptr);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  // I420, limited range (BT.601): black Y=16, white Y=235, neutral chroma.
  std::memset(map.data, white ? 235 : 16, luma);
  std::memset(map.data + luma, 128, luma / 2);
  gst_buffer_unmap(buffer, &map);
  return GstPtr<GstBuffer>::adopt(buffer);
}

// Audio frame j: samples [960 j, 960 (j + 1)), S16LE mono.
GstPtr<GstBuffer> make_audio_frame(const Schedule& schedule, std::uint64_t j) {
  std::vector<std::int16_t> pcm(kFrameSamples, 0);
  const std::uint64_t first = j * kFrameSamples;
  const std::uint64_t second = first / kRate;
  // A beep starts within a frame (33 ms) after its second, so only this
  // second's beep and the previous one can overlap the frame.
  for (std::uint64_t k = second > 0 ? second - 1 : 0; k <= second + 1; ++k) {
    const std::uint64_t start = schedule.beep_start(k);
    for (std::uint64_t s = std::max(start, first); s < std::min(start + kBeepSamples, first + kFrameSamples); ++s) {
      const double phase = 2 * std::numbers::pi * kBeepHz * static_cast<double>(s - start) / kRate;
      pcm[s - first] = static_cast<std::int16_t>(std::lround(kBeepAmplitude * 32767 * std::sin(phase)));
    }
  }
  GstBuffer* buffer = gst_buffer_new_memdup(pcm.data(), pcm.size() * sizeof(std::int16_t));
  return GstPtr<GstBuffer>::adopt(buffer);
}

// An RTP packet ready to go, and when.
struct Packet {
  GstClockTime send_at = 0;
  std::vector<std::uint8_t> bytes;
};

void put_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put_be32(std::uint8_t* p, std::uint32_t v) {
  put_be16(p, static_cast<std::uint16_t>(v >> 16));
  put_be16(p + 2, static_cast<std::uint16_t>(v));
}

// One encoder branch: appsrc ! encoder ! payloader ! appsink. The payloader's
// sequence numbers, timestamps and SSRC are replaced (RFC 3550 §5.1 fields at
// bytes 2-11), so the wire carries exactly the clock the test defines.
class Encoder {
 public:
  struct Clock {
    std::uint16_t seq0 = 0;
    std::uint32_t ts0 = 0;
    std::uint32_t ssrc = 0;
  };

  bool start(const char* description, Clock clock) {
    clock_ = clock;
    GError* error = nullptr;
    GstElement* parsed = gst_parse_launch(description, &error);
    pipeline_ = GstPtr<GstElement>::adopt(parsed ? GST_ELEMENT(gst_object_ref_sink(parsed)) : nullptr);
    if (error || !pipeline_) {
      std::fprintf(stderr, "ERROR: %s: %s\n", description, error ? error->message : "(no reason given)");
      if (error) g_error_free(error);
      return false;
    }
    src_ = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "src"));
    sink_ = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "sink"));
    return gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
  }

  void stop() {
    if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  }

  void push(GstPtr<GstBuffer> buffer, GstClockTime pts, GstClockTime duration) {
    GST_BUFFER_PTS(buffer.get()) = pts;
    GST_BUFFER_DURATION(buffer.get()) = duration;
    gst_app_src_push_buffer(GST_APP_SRC(src_.get()), buffer.release());
  }

  // The next frame pushed is to be an IDR. appsrc queues the event in the
  // data flow, so it reaches the encoder just before that frame. No running
  // time: x264enc moves its frames' running times by 1000 hours, and
  // GstVideoEncoder refuses a request older than its last key unit.
  void force_key_unit() {
    gst_element_send_event(src_.get(), gst_video_event_new_downstream_force_key_unit(
                                           GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, TRUE, 0));
  }

  void end() { gst_app_src_end_of_stream(GST_APP_SRC(src_.get())); }

  // The next payloaded packet, with `index` set to its input frame number:
  // its running time (x264enc shifts PTS and segment by 1000 hours) over a
  // frame duration of num/den ns. Empty at EOS; `failed` if nothing comes
  // within 10 s or the packet is a runt.
  std::optional<Packet> pull(std::uint64_t num, std::uint64_t den, std::uint64_t& index, bool& failed) {
    auto sample = GstPtr<GstSample>::adopt(gst_app_sink_try_pull_sample(GST_APP_SINK(sink_.get()), 10 * GST_SECOND));
    if (!sample) {
      failed = !gst_app_sink_is_eos(GST_APP_SINK(sink_.get()));
      return std::nullopt;
    }
    GstBuffer* buffer = gst_sample_get_buffer(sample.get());
    const GstSegment* segment = gst_sample_get_segment(sample.get());
    const GstClockTime rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
    index = gst_util_uint64_scale_round(rt, den, num);
    Packet packet;
    BufferMap map(buffer, GST_MAP_READ);
    packet.bytes.assign(map.bytes().begin(), map.bytes().end());
    if (packet.bytes.size() < 12) {
      failed = true;
      return std::nullopt;
    }
    put_be16(&packet.bytes[2], static_cast<std::uint16_t>(clock_.seq0 + sent_++));
    put_be32(&packet.bytes[8], clock_.ssrc);
    return packet;
  }

  const Clock& clock() const { return clock_; }
  std::uint64_t packets() const { return sent_; }

 private:
  GstPtr<GstElement> pipeline_;
  GstPtr<GstElement> src_;
  GstPtr<GstElement> sink_;
  Clock clock_;
  std::uint64_t sent_ = 0;
};

// Drives one stream: feeds raw frames up to a send-clock horizon, hands out
// its packets in order.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual bool start(Encoder::Clock clock) = 0;
  virtual void feed_until(GstClockTime horizon) = 0;
  // The next packet, kept until pop(); empty when the stream is done.
  virtual const Packet* peek() = 0;
  void pop() { head_.reset(); }
  bool failed() const { return failed_; }
  Encoder& encoder() { return encoder_; }

 protected:
  Encoder encoder_;
  std::optional<Packet> head_;
  bool ended_ = false;  // EOS pushed into appsrc
  bool failed_ = false;
};

class VideoStream : public Stream {
 public:
  VideoStream(const Schedule& schedule, GstClockTime duration) : schedule_(schedule), duration_(duration) {}

  bool start(Encoder::Clock clock) override {
    char description[512];
    std::snprintf(description, sizeof description,
                  "appsrc name=src format=time max-bytes=4000000 "
                  "caps=video/x-raw,format=I420,width=%d,height=%d,framerate=30/1 "
                  "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 threads=1 "
                  "! rtph264pay config-interval=-1 pt=96 mtu=1200 ! appsink name=sink sync=false",
                  kWidth, kHeight);
    return encoder_.start(description, clock);
  }

  void feed_until(GstClockTime horizon) override {
    while (!ended_) {
      const GstClockTime at = schedule_.frame_instant(next_);
      if (at >= duration_) {
        encoder_.end();
        ended_ = true;
      } else if (at < horizon) {
        const bool white = schedule_.is_flash(next_);
        // PTS on the nominal 30 fps grid: the video clock's own view.
        const GstClockTime pts = gst_util_uint64_scale(next_, GST_SECOND, kFps);
        if (white) {
          ++flashes_;
          encoder_.force_key_unit();
        }
        encoder_.push(make_video_frame(white), pts, GST_SECOND / kFps);
        ++next_;
      } else {
        break;
      }
    }
  }

  const Packet* peek() override {
    if (head_) return &*head_;
    std::uint64_t n = 0;
    head_ = encoder_.pull(GST_SECOND, kFps, n, failed_);
    if (!head_) return nullptr;
    head_->send_at = schedule_.frame_instant(n);
    put_be32(&head_->bytes[4], encoder_.clock().ts0 + static_cast<std::uint32_t>(n * kVideoTicksPerFrame));
    return &*head_;
  }

  std::uint64_t frames() const { return next_; }
  std::uint64_t flashes() const { return flashes_; }

 private:
  const Schedule& schedule_;
  GstClockTime duration_;
  std::uint64_t next_ = 0;
  std::uint64_t flashes_ = 0;
};

class AudioStream : public Stream {
 public:
  AudioStream(const Schedule& schedule, GstClockTime duration) : schedule_(schedule), duration_(duration) {}

  bool start(Encoder::Clock clock) override {
    return encoder_.start(
        "appsrc name=src format=time max-bytes=4000000 "
        "caps=audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved "
        "! opusenc ! rtpopuspay pt=111 ! appsink name=sink sync=false",
        clock);
  }

  void feed_until(GstClockTime horizon) override {
    while (!ended_) {
      const GstClockTime begin = samples_to_time(next_ * kFrameSamples);
      if (begin >= duration_) {
        encoder_.end();
        ended_ = true;
      } else if (samples_to_time((next_ + 1) * kFrameSamples) < horizon) {
        encoder_.push(make_audio_frame(schedule_, next_), begin, samples_to_time(kFrameSamples));
        ++next_;
      } else {
        break;
      }
    }
  }

  // Packet j carries samples [960 j, 960 (j + 1)) (plus the encoder's
  // lookahead, which is part of what the test measures) and leaves when its
  // last sample has been captured.
  const Packet* peek() override {
    if (head_) return &*head_;
    std::uint64_t j = 0;
    head_ = encoder_.pull(samples_to_time(kFrameSamples), 1, j, failed_);
    if (!head_) return nullptr;
    head_->send_at = samples_to_time((j + 1) * kFrameSamples);
    put_be32(&head_->bytes[4], encoder_.clock().ts0 + static_cast<std::uint32_t>(j * kFrameSamples));
    return &*head_;
  }

 private:
  static GstClockTime samples_to_time(std::uint64_t samples) {
    return gst_util_uint64_scale(samples, GST_SECOND, kRate);
  }

  const Schedule& schedule_;
  GstClockTime duration_;
  std::uint64_t next_ = 0;
};

GstClockTime monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<GstClockTime>(ts.tv_sec) * GST_SECOND + static_cast<GstClockTime>(ts.tv_nsec);
}

void sleep_until(GstClockTime at) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(at / GST_SECOND);
  ts.tv_nsec = static_cast<long>(at % GST_SECOND);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// How late sends were: a late send is jitter the network did not add, so
// the driver shows when it happened, to tell such outliers apart.
struct Lateness {
  static constexpr std::size_t kKept = 20;
  GstClockTime worst = 0;
  std::uint64_t over_5ms = 0;
  std::vector<std::pair<GstClockTime, GstClockTime>> first;  // (send_at, late), the first kKept over 5 ms
  void add(GstClockTime send_at, GstClockTime late) {
    worst = std::max(worst, late);
    if (late <= 5 * GST_MSECOND) return;
    ++over_5ms;
    if (first.size() < kKept) first.emplace_back(send_at, late);
  }
};

// Sends both streams in capture order until both are done. False on error.
bool send_all(Stream& audio, Stream& video, int fd, const sockaddr_in& audio_to, const sockaddr_in& video_to,
              Lateness& lateness) {
  // The clock starts once the first packets are out of the encoders, so
  // their start-up does not count as lateness.
  audio.feed_until(kLead);
  video.feed_until(kLead);
  audio.peek();
  video.peek();
  const GstClockTime start = monotonic_now();
  GstClockTime last = 0;
  while (true) {
    audio.feed_until(last + kLead);
    video.feed_until(last + kLead);
    const Packet* a = audio.peek();
    const Packet* v = video.peek();
    if (audio.failed() || video.failed()) {
      std::fprintf(stderr, "ERROR: an encoder produced nothing for 10 s, or a runt packet\n");
      return false;
    }
    if (!a && !v) return true;
    const bool take_audio = a && (!v || a->send_at <= v->send_at);
    const Packet& p = take_audio ? *a : *v;
    sleep_until(start + p.send_at);
    lateness.add(p.send_at, monotonic_now() - (start + p.send_at));
    const sockaddr_in& to = take_audio ? audio_to : video_to;
    if (sendto(fd, p.bytes.data(), p.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
      // A port-unreachable from an earlier packet (relay not up yet, or
      // gone) is the driver's to notice; the stream goes on.
      if (errno != ECONNREFUSED) {
        std::fprintf(stderr, "ERROR: sendto: %s\n", std::strerror(errno));
        return false;
      }
    }
    last = p.send_at;
    (take_audio ? audio : video).pop();
  }
}

bool parse_int(std::string_view text, std::int64_t& out) {
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  out = std::strtoll(copy.c_str(), &end, 10);
  return end != copy.c_str() && *end == '\0' && errno == 0;
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--duration") {
      char* end = nullptr;
      const double s = std::strtod(value, &end);
      if (end == value || *end != '\0' || !(s > 0)) return false;
      o.duration = static_cast<GstClockTime>(std::llround(s * GST_SECOND));
    } else {
      // The rest take an integer.
      std::int64_t n = 0;
      if (!parse_int(value, n)) return false;
      if (arg == "--audio-port" && n > 0 && n < 65536) {
        o.audio_port = static_cast<int>(n);
      } else if (arg == "--video-port" && n > 0 && n < 65536) {
        o.video_port = static_cast<int>(n);
      } else if (arg == "--video-ppm" && n > -100000 && n < 100000) {
        o.video_ppm = n;
      } else if (arg == "--seed" && n >= 0) {
        o.seed = static_cast<std::uint32_t>(n);
      } else {
        return false;  // an unknown option, or a value out of its range
      }
    }
  }
  return o.audio_port && o.video_port;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Options options;
  sockaddr_in audio_to{};
  sockaddr_in video_to{};
  audio_to.sin_family = video_to.sin_family = AF_INET;
  if (!parse_args(argc, argv, options) || inet_pton(AF_INET, options.host.c_str(), &audio_to.sin_addr) != 1) {
    std::fprintf(stderr,
                 "usage: %s --audio-port N --video-port N [--host IPV4] [--duration SECONDS] "
                 "[--video-ppm PPM] [--seed N]\n",
                 argv[0]);
    return 2;
  }
  video_to.sin_addr = audio_to.sin_addr;
  audio_to.sin_port = htons(static_cast<std::uint16_t>(options.audio_port));
  video_to.sin_port = htons(static_cast<std::uint16_t>(options.video_port));

  std::mt19937 random(options.seed ? *options.seed : std::random_device{}());
  auto draw = [&random] { return static_cast<std::uint32_t>(random()); };
  const Encoder::Clock audio_clock{static_cast<std::uint16_t>(draw()), draw(), draw()};
  const Encoder::Clock video_clock{static_cast<std::uint16_t>(draw()), draw(), draw()};
  std::fprintf(stderr, "av-sender: audio seq0=%u ts0=%u ssrc=%08x, video seq0=%u ts0=%u ssrc=%08x, video %+lld ppm\n",
               audio_clock.seq0, audio_clock.ts0, audio_clock.ssrc, video_clock.seq0, video_clock.ts0, video_clock.ssrc,
               static_cast<long long>(options.video_ppm));

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    std::fprintf(stderr, "ERROR: socket: %s\n", std::strerror(errno));
    return 1;
  }
  const Schedule schedule(options.video_ppm);
  AudioStream audio(schedule, options.duration);
  VideoStream video(schedule, options.duration);
  Lateness lateness;
  bool ok = audio.start(audio_clock) && video.start(video_clock);
  if (ok) ok = send_all(audio, video, fd, audio_to, video_to, lateness);
  audio.encoder().stop();
  video.encoder().stop();
  close(fd);
  if (!ok) return 1;
  std::string late;
  for (const auto& [at, by] : lateness.first) {
    char item[64];
    std::snprintf(item, sizeof item, "%s[%.3f, %.3f]", late.empty() ? "" : ", ", static_cast<double>(at) / GST_SECOND,
                  static_cast<double>(by) / GST_MSECOND);
    late += item;
  }
  std::printf(
      "{\"audio_packets\": %llu, \"video_packets\": %llu, \"video_frames\": %llu, \"flashes\": %llu, "
      "\"max_late_ms\": %.3f, \"late_over_5ms\": %llu, \"late_at_s_ms\": [%s]}\n",
      static_cast<unsigned long long>(audio.encoder().packets()),
      static_cast<unsigned long long>(video.encoder().packets()), static_cast<unsigned long long>(video.frames()),
      static_cast<unsigned long long>(video.flashes()), static_cast<double>(lateness.worst) / GST_MSECOND,
      static_cast<unsigned long long>(lateness.over_5ms), late.c_str());
  return 0;
}
