// Median and range of a benchmark's repeated measurements: on a noisy
// 2-core machine the median is the figure to compare, the range says how
// much to trust it.
#pragma once

#include <algorithm>
#include <vector>

namespace nagare::bench {

struct Summary {
  double median = 0, min = 0, max = 0;
};

inline Summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return Summary{n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.front(), v.back()};
}

}  // namespace nagare::bench
