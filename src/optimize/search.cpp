#include "optimize/search.h"

#include <algorithm>
#include <fmt/format.h>

#include "core/error.h"

namespace plaster::optimize {

const char* ObjectiveName(Objective objective) {
  return objective == Objective::kEnergy ? "energy" : "throughput";
}

Objective ParseObjective(const std::string& text) {
  if (text == "throughput") return Objective::kThroughput;
  if (text == "energy") return Objective::kEnergy;
  Fail("--objective '{}': expected throughput or energy", text);
}

double ObjectiveValue(const Point& p, Objective objective) {
  return objective == Objective::kEnergy ? p.inferences_per_joule : p.samples_per_s;
}

std::optional<std::string> StopLadder(const std::vector<Rung>& rungs,
                                      std::optional<double> bound_ms) {
  if (rungs.empty()) return std::nullopt;
  const Rung& last = rungs.back();
  if (!last.passed) {
    return fmt::format("batch {} did not pass ({}): larger batches need more, not less",
                       last.batch, last.failure.empty() ? "no figures" : last.failure);
  }
  if (bound_ms && last.p99_ms > *bound_ms) {
    return fmt::format("batch {}'s p99 ({:.3g} ms) is over the bound ({:.3g} ms): a larger "
                       "batch takes longer",
                       last.batch, last.p99_ms, *bound_ms);
  }
  // The last two rungs against the best before each of them.
  if (rungs.size() >= 3) {
    auto gained = [&](size_t k) {
      double best = 0;
      for (size_t i = 0; i < k; ++i) {
        if (rungs[i].passed) best = std::max(best, rungs[i].samples_per_s);
      }
      return rungs[k].samples_per_s >= kLadderGain * best;
    };
    const size_t n = rungs.size();
    if (!gained(n - 1) && !gained(n - 2)) {
      const auto best = std::max_element(rungs.begin(), rungs.end(), [](const Rung& a, const Rung& b) {
        return a.samples_per_s < b.samples_per_s;
      });
      return fmt::format("throughput stopped rising: batches {} and {} gave {:.4g} and {:.4g} "
                         "samples/s, not {:.0f}% above the best before them ({:.4g} at batch {})",
                         rungs[n - 2].batch, last.batch, rungs[n - 2].samples_per_s,
                         last.samples_per_s, 100 * (kLadderGain - 1), best->samples_per_s,
                         best->batch);
    }
  }
  return std::nullopt;
}

namespace {

bool Eligible(const Point& p, std::optional<double> bound_ms, Objective objective) {
  return p.samples_per_s > 0 && ObjectiveValue(p, objective) > 0 &&
         (!bound_ms || p.p99_ms <= *bound_ms);
}

// a is at least as good as b in accuracy.
bool AtLeastAsAccurate(const Point& a, const Point& b) {
  return a.higher_is_better ? a.accuracy >= b.accuracy : a.accuracy <= b.accuracy;
}

}  // namespace

std::vector<size_t> ParetoFront(const std::vector<Point>& points, std::optional<double> bound_ms,
                                Objective objective) {
  auto value = [&](const Point& p) { return ObjectiveValue(p, objective); };
  std::vector<size_t> front;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!Eligible(points[i], bound_ms, objective)) continue;
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (j == i || !Eligible(points[j], bound_ms, objective)) continue;
      const Point& a = points[j];
      const Point& b = points[i];
      const bool no_worse = AtLeastAsAccurate(a, b) && value(a) >= value(b);
      const bool better = !AtLeastAsAccurate(b, a) || value(a) > value(b);
      // Two points equal in both: the first listed stays on the front, the other not.
      dominated = no_worse && (better || j < i);
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(),
            [&](size_t a, size_t b) { return value(points[a]) > value(points[b]); });
  return front;
}

std::optional<size_t> Recommend(const std::vector<Point>& points, const std::vector<size_t>& front,
                                Objective objective) {
  std::optional<size_t> best;
  for (size_t i : front) {
    const Point& p = points[i];
    if (!p.meets_accuracy) continue;
    if (!best) {
      best = i;
      continue;
    }
    const Point& b = points[*best];
    const double pv = ObjectiveValue(p, objective), bv = ObjectiveValue(b, objective);
    if (pv != bv) {
      if (pv > bv) best = i;
    } else if (!AtLeastAsAccurate(b, p)) {
      best = i;
    } else if (AtLeastAsAccurate(p, b) && p.p99_ms < b.p99_ms) {
      best = i;
    }
  }
  return best;
}

}  // namespace plaster::optimize
