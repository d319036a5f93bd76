// KeyframeLimiter (plugins/h264depay/keyframe_limiter.hpp): one upstream
// key-frame request per interval, on integer nanoseconds.
#include <catch2/catch.hpp>

#include <cstdint>

#include "h264depay/keyframe_limiter.hpp"

using nagare::h264::KeyframeLimiter;

namespace {
constexpr std::int64_t kMs = 1'000'000;
}

TEST_CASE("KeyframeLimiter allows one request per interval", "[keyframe-limiter]") {
  KeyframeLimiter limiter(500 * kMs);

  SECTION("the first request always goes") { CHECK(limiter.allow(123 * kMs)); }

  SECTION("requests inside the interval are refused; the interval's end is the bound") {
    REQUIRE(limiter.allow(1000 * kMs));
    CHECK_FALSE(limiter.allow(1000 * kMs));
    CHECK_FALSE(limiter.allow(1200 * kMs));
    CHECK_FALSE(limiter.allow(1500 * kMs - 1));
    CHECK(limiter.allow(1500 * kMs));
    CHECK_FALSE(limiter.allow(1999 * kMs));
    CHECK(limiter.allow(2000 * kMs));
  }

  SECTION("a refused request does not move the window") {
    REQUIRE(limiter.allow(0));
    CHECK_FALSE(limiter.allow(400 * kMs));
    CHECK(limiter.allow(500 * kMs));  // measured from 0, not from 400 ms
  }

  SECTION("a clock that went back (a new segment) allows at once") {
    REQUIRE(limiter.allow(10'000 * kMs));
    CHECK(limiter.allow(3 * kMs));
    // ...and the window then runs from the new time.
    CHECK_FALSE(limiter.allow(100 * kMs));
    CHECK(limiter.allow(503 * kMs));
  }

  SECTION("reset allows the next request at once") {
    REQUIRE(limiter.allow(0));
    limiter.reset();
    CHECK(limiter.allow(1));
  }

  SECTION("set_interval takes effect for the next request") {
    REQUIRE(limiter.allow(0));
    limiter.set_interval(100 * kMs);
    CHECK(limiter.allow(100 * kMs));
  }
}

TEST_CASE("KeyframeLimiter with interval 0 allows every request", "[keyframe-limiter]") {
  KeyframeLimiter limiter;
  CHECK(limiter.allow(0));
  CHECK(limiter.allow(0));
  CHECK(limiter.allow(1));
}
