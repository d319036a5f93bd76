// Estimates how fast one clock runs against another from a noisy offset
// series. Plain C++.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace nagare::align {

// Samples (time, offset) at most once a second into a ring of the last 64
// and fits a least-squares line through them. The slope of transit
// (arrival - media) against arrival time is the media clock's rate error,
// negated: a sender clock that runs fast makes transit fall.
class DriftMeter {
 public:
  static constexpr std::int64_t kSpacing = 1'000'000'000;  // ns between samples

  void add(std::int64_t time, std::int64_t offset) {
    if (count_ && time < last_time_ + kSpacing) return;
    samples_[next_] = {time, offset};
    next_ = (next_ + 1) % samples_.size();
    if (count_ < samples_.size()) ++count_;
    last_time_ = time;
  }

  // Parts per million by which the measured clock runs fast; nothing until
  // ten seconds of samples are in.
  std::optional<double> ppm() const {
    if (count_ < 10) return std::nullopt;
    // Centre on the first sample so the sums stay small and exact enough.
    const Sample& origin = samples_[(next_ + samples_.size() - count_) % samples_.size()];
    double st = 0, so = 0, stt = 0, sto = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      const Sample& s = samples_[i];
      const auto t = static_cast<double>(s.time - origin.time);
      const auto o = static_cast<double>(s.offset - origin.offset);
      st += t;
      so += o;
      stt += t * t;
      sto += t * o;
    }
    const auto n = static_cast<double>(count_);
    const double denominator = n * stt - st * st;
    if (denominator <= 0) return std::nullopt;
    return -(n * sto - st * so) / denominator * 1e6;
  }

  void reset() { *this = DriftMeter{}; }

 private:
  struct Sample {
    std::int64_t time = 0;
    std::int64_t offset = 0;
  };
  std::array<Sample, 64> samples_{};
  std::size_t next_ = 0;
  std::size_t count_ = 0;
  std::int64_t last_time_ = 0;
};

}  // namespace nagare::align
