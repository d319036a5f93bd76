// Integer division that rounds the way time arithmetic needs: to the
// nearest (halves away from zero) or down, for negative values too.
#pragma once

#include <cstdint>

namespace nagare {

constexpr std::int64_t round_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b);
}

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace nagare
