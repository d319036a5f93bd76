// The pieces under nagarealign's core, one behaviour at a time: the
// reorder ring, windowed extremes, the drift meter, and a stream's intake
// (duplicates, stragglers, restarts on probation, loss reports).
#include <catch2/catch.hpp>

#include <vector>

#include "align/aligner.hpp"
#include "align/drift.hpp"
#include "align/ring.hpp"
#include "align/window.hpp"

using namespace nagare::align;

namespace {

constexpr std::int64_t ms = kMillisecond;

// An audio packet n of a steady 20 ms stream that arrived `late` after its
// earliest possible arrival.
Arrival audio(std::uint16_t seq0, int n, std::int64_t late = 0, std::uint32_t ssrc = 7) {
  return {1000 * ms + std::int64_t{n} * 20 * ms + late, static_cast<std::uint16_t>(seq0 + n),
          5000u + 960u * static_cast<std::uint32_t>(n), ssrc};
}

struct Harness {
  Aligner aligner;
  Aligner::StreamId id;
  std::vector<std::uint32_t> discarded;
  std::vector<Output> out;
  std::uint32_t next = 0;

  explicit Harness(Config c = {}) : aligner(c), id(aligner.add_stream(Media::audio, 48000)) {}
  Verdict push(const Arrival& a) { return aligner.admit(id, a, next++, discarded); }
  std::vector<Output> release(std::int64_t now) {
    out.clear();
    aligner.release(id, now, out);
    return out;
  }
};

}  // namespace

TEST_CASE("KeyRing: holds keys from its head, refuses stale, taken and far keys, grows in place", "[align]") {
  KeyRing<int> ring;
  REQUIRE(ring.put(10, 1) == KeyRing<int>::Put::ok);
  REQUIRE(ring.put(10, 2) == KeyRing<int>::Put::occupied);
  REQUIRE(ring.put(5, 3) == KeyRing<int>::Put::ok);  // head is still 0
  REQUIRE(ring.put(KeyRing<int>::kMaxSpan, 4) == KeyRing<int>::Put::too_far);
  // Growing past the first 64 slots keeps every key where it was.
  REQUIRE(ring.put(1000, 5) == KeyRing<int>::Put::ok);
  std::int64_t key = 0;
  REQUIRE(*ring.front(&key) == 3);
  REQUIRE(key == 5);
  REQUIRE(ring.pop_front() == 3);
  REQUIRE(ring.head() == 6);
  REQUIRE(ring.put(5, 6) == KeyRing<int>::Put::stale);
  REQUIRE(ring.pop_front() == 1);
  REQUIRE(ring.pop_front() == 5);
  REQUIRE(ring.empty());
  REQUIRE(ring.head() == 1001);
}

TEST_CASE("WindowExtreme: the least value of the last N buckets, forgetting older ones", "[align]") {
  WindowExtreme<4> low(100);
  REQUIRE_FALSE(low.value());
  low.add(0, 50);
  low.add(150, 20);
  low.add(250, 70);
  REQUIRE(*low.value() == 20);
  low.add(499, 60);  // bucket 4: bucket 0 leaves the window
  REQUIRE(*low.value() == 20);
  low.add(550, 90);  // bucket 5: bucket 1 (the 20) leaves
  REQUIRE(*low.value() == 60);
  WindowExtreme<2, std::greater<>> high(100);
  high.add(-50, 5);  // negative times land in their own bucket
  high.add(10, 3);
  REQUIRE(*high.value() == 5);
  high.add(120, 1);
  REQUIRE(*high.value() == 3);
}

TEST_CASE("DriftMeter: a falling transit is a fast clock, in ppm", "[align]") {
  DriftMeter meter;
  for (int t = 0; t < 9; ++t) meter.add(t * kSecond, std::int64_t{-300} * 1000 * t);
  REQUIRE_FALSE(meter.ppm());  // fewer than ten samples
  for (int t = 9; t < 200; ++t)
    meter.add(t * kSecond + std::int64_t{t % 2} * 1000, std::int64_t{-300} * 1000 * t + std::int64_t{t % 3} * 100'000);
  REQUIRE(*meter.ppm() == Approx(300).margin(5));
  meter.add(199 * kSecond + 10, 0);  // closer than a second to the last sample: ignored
  REQUIRE(*meter.ppm() == Approx(300).margin(5));
}

TEST_CASE("stream: a copy of a packet that left is a duplicate; a packet behind one that left is dropped", "[align]") {
  Harness h;
  REQUIRE(h.push(audio(100, 0)) == Verdict::queued);
  REQUIRE(h.push(audio(100, 2)) == Verdict::queued);
  const auto out = h.release(audio(100, 2).arrival + 500 * ms);
  REQUIRE(out.size() == 3);  // 100, the loss of 101, 102
  REQUIRE(out[1].kind == Output::Kind::lost);
  REQUIRE(out[1].sequence == 101);
  REQUIRE(out[1].position == out[0].position + 20 * ms);
  REQUIRE(out[1].duration == 20 * ms);
  REQUIRE(h.push(audio(100, 0, 600 * ms)) == Verdict::duplicate);
  REQUIRE(h.push(audio(100, 1, 600 * ms)) == Verdict::dropped);
  REQUIRE(h.push(audio(100, 2, 600 * ms)) == Verdict::duplicate);
  const StreamCounters c = h.aligner.stats(h.id).counters;
  REQUIRE(c.duplicates == 2);
  REQUIRE(c.dropped == 1);
  REQUIRE(c.late == 1);
  REQUIRE(c.lost == 1);
}

TEST_CASE("stream: a lone packet of another SSRC is held, then given back when nothing confirms it", "[align]") {
  Harness h;
  for (int n = 0; n < 5; ++n) REQUIRE(h.push(audio(100, n)) == Verdict::queued);
  REQUIRE(h.push(audio(9000, 5, 0, 99)) == Verdict::held);
  REQUIRE(h.push(audio(100, 6)) == Verdict::queued);  // the old stream goes on
  REQUIRE(h.push(audio(30000, 7, 0, 98)) == Verdict::held);
  REQUIRE(h.discarded == std::vector<std::uint32_t>{5});  // the first stray, given back
  const auto out = h.release(10 * kSecond);
  REQUIRE(out.size() == 7);  // 100..104, the loss of 105, 106
  for (const Output& o : out) REQUIRE_FALSE((o.discont && o.sequence != 100));
  REQUIRE(h.aligner.stats(h.id).counters.restarts == 0);
  REQUIRE(h.aligner.stats(h.id).counters.rejected == 1);
}

TEST_CASE("stream: a new SSRC confirmed by its next packet starts a declared timeline, nothing lost across",
          "[align]") {
  Harness h;
  for (int n = 0; n < 5; ++n) h.push(audio(100, n));
  REQUIRE(h.push(audio(9000, 5, 0, 99)) == Verdict::held);
  REQUIRE(h.push(audio(9000, 6, 0, 99)) == Verdict::queued);
  const auto out = h.release(10 * kSecond);
  REQUIRE(out.size() == 7);
  REQUIRE(out[5].sequence == 9005);
  REQUIRE(out[5].discont);
  REQUIRE(out[5].kind == Output::Kind::packet);
  REQUIRE(out[6].position - out[5].position == 20 * ms);
  REQUIRE(h.aligner.stats(h.id).counters.restarts == 1);
  REQUIRE(h.aligner.stats(h.id).counters.lost == 0);
}

TEST_CASE("stream: a sequence jump beyond 3000 is a restart on probation, not 5000 losses", "[align]") {
  Harness h;
  for (int n = 0; n < 5; ++n) h.push(audio(100, n));
  Arrival a = audio(100, 5);
  a.sequence = 8000;
  REQUIRE(h.push(a) == Verdict::held);
  a = audio(100, 6);
  a.sequence = 8001;
  REQUIRE(h.push(a) == Verdict::queued);
  const auto out = h.release(10 * kSecond);
  REQUIRE(out.size() == 7);
  REQUIRE(out[5].discont);
  REQUIRE(h.aligner.stats(h.id).counters.lost == 0);
}

TEST_CASE("stream: one wild timestamp is not a jump; two consistent ones are", "[align]") {
  Harness h;
  for (int n = 0; n < 5; ++n) h.push(audio(100, n));
  Arrival wild = audio(100, 5);
  wild.timestamp += 48000 * 3600;  // an hour ahead
  REQUIRE(h.push(wild) == Verdict::held);
  REQUIRE(h.push(audio(100, 6)) == Verdict::queued);
  Arrival jumped = audio(100, 7);
  jumped.timestamp += 48000 * 60;
  REQUIRE(h.push(jumped) == Verdict::held);
  Arrival next = audio(100, 8);
  next.timestamp += 48000 * 60;
  REQUIRE(h.push(next) == Verdict::queued);
  REQUIRE(h.aligner.stats(h.id).counters.restarts == 1);
  const auto out = h.release(10 * kSecond);
  // 100..104, the loss of 105, 106, then the new timeline from 107 (no
  // loss reported across it), placed where it arrived.
  REQUIRE(out.size() == 9);
  REQUIRE(out[7].sequence == 107);
  REQUIRE(out[7].discont);
  REQUIRE(out[7].position == jumped.arrival);
  REQUIRE(out[8].position - out[7].position == 20 * ms);
}

TEST_CASE("stream: packets sent before the first one still fit in the first epoch", "[align]") {
  Harness h;
  REQUIRE(h.push(audio(100, 3)) == Verdict::queued);
  REQUIRE(h.push(audio(100, 1, 40 * ms)) == Verdict::queued);
  REQUIRE(h.push(audio(100, 2, 20 * ms)) == Verdict::queued);
  const auto out = h.release(10 * kSecond);
  REQUIRE(out.size() == 3);
  REQUIRE(out[0].sequence == 101);
  REQUIRE(out[0].discont);
  REQUIRE(out[1].position - out[0].position == 20 * ms);
  REQUIRE(out[2].position - out[1].position == 20 * ms);
  REQUIRE(h.aligner.stats(h.id).counters.reordered == 2);
}

TEST_CASE("stream: a new clock rate starts a new epoch; flush and drain give every packet back", "[align]") {
  Harness h;
  for (int n = 0; n < 3; ++n) h.push(audio(100, n));
  h.aligner.set_format(h.id, Media::audio, 16000);
  REQUIRE(h.push(audio(100, 3)) == Verdict::held);
  REQUIRE(h.push(audio(100, 4)) == Verdict::queued);
  REQUIRE(h.aligner.stats(h.id).clock_rate == 16000);
  std::vector<Output> out;
  std::vector<std::uint32_t> given_back;
  h.aligner.drain(h.id, out, given_back);
  REQUIRE(out.size() == 5);
  REQUIRE(out[3].discont);
  REQUIRE(out[4].position - out[3].position == 60 * ms);  // 960 ticks at 16 kHz
  REQUIRE(given_back.empty());

  h.push(audio(100, 10));
  h.push(audio(500, 11, 0, 3));  // held
  std::vector<std::uint32_t> flushed;
  h.aligner.flush(h.id, flushed);
  REQUIRE(flushed.size() == 2);
  REQUIRE_FALSE(h.aligner.next_due(h.id));
  REQUIRE(h.push(audio(700, 0, 0, 4)) == Verdict::queued);  // a fresh start after a flush
}

TEST_CASE("aligner: fixed latency holds for exactly the latency; a packet later than it leaves at once", "[align]") {
  Config c;
  c.latency = 200 * ms;
  Harness h(c);
  h.push(audio(100, 0));
  REQUIRE(*h.aligner.next_due(h.id) == audio(100, 0).arrival + 200 * ms);
  REQUIRE(h.release(audio(100, 0).arrival + 199 * ms).empty());
  REQUIRE(h.release(audio(100, 0).arrival + 200 * ms).size() == 1);
  h.push(audio(100, 1, 250 * ms));
  REQUIRE(*h.aligner.next_due(h.id) < audio(100, 1, 250 * ms).arrival);
  REQUIRE(h.aligner.max_hold() == 200 * ms);
  c.mode = LatencyMode::adaptive;
  c.max_latency = 900 * ms;
  h.aligner.configure(c);
  REQUIRE(h.aligner.max_hold() == 900 * ms);
}
