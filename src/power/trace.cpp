#include "power/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/clock.h"
#include "core/error.h"

namespace plaster::power {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Point {
  double t;  // ns
  double v;
};

// The value at t on the line through a and b.
double Lerp(const Point& a, const Point& b, double t) {
  if (b.t == a.t) return b.v;
  return a.v + (b.v - a.v) * (t - a.t) / (b.t - a.t);
}

// The value at t, interpolated between the readings around it (the series is in time order
// and covers t).
double At(const std::vector<Point>& s, double t) {
  auto it = std::lower_bound(s.begin(), s.end(), t, [](const Point& p, double x) { return p.t < x; });
  if (it == s.begin()) return it->v;
  if (it == s.end()) return s.back().v;
  if (it->t == t) return it->v;
  return Lerp(*(it - 1), *it, t);
}

}  // namespace

const char* QuantityName(Quantity q) { return q == Quantity::kEnergy ? "energy" : "power"; }

std::optional<double> WindowEnergy::AverageWatts() const {
  if (!total_joules || end_ns <= start_ns) return std::nullopt;
  return *total_joules / seconds();
}

Trace::Trace(std::vector<Domain> domains)
    : domains_(std::move(domains)),
      last_raw_(domains_.size(), kNaN),
      wrap_offset_(domains_.size(), 0.0) {}

void Trace::Add(Reading reading) {
  PLASTER_ASSERT(reading.values.size() == domains_.size());
  PLASTER_ASSERT(readings_.empty() || reading.t_ns >= readings_.back().t_ns);
  for (size_t d = 0; d < domains_.size(); ++d) {
    double& v = reading.values[d];
    if (domains_[d].quantity != Quantity::kEnergy || std::isnan(v)) continue;
    const double raw = v;
    if (!std::isnan(last_raw_[d]) && raw < last_raw_[d]) {
      // Wrapped (or, without a known range, restarted from zero).
      wrap_offset_[d] += domains_[d].wrap_j > 0 ? domains_[d].wrap_j : last_raw_[d];
    }
    last_raw_[d] = raw;
    v = raw + wrap_offset_[d];
  }
  readings_.push_back(std::move(reading));
}

int64_t Trace::MaxSpacingNs() const {
  int64_t gap = 0;
  for (size_t i = 1; i < readings_.size(); ++i) {
    gap = std::max(gap, readings_[i].t_ns - readings_[i - 1].t_ns);
  }
  return gap;
}

std::optional<double> Trace::DomainJoules(size_t d, int64_t start_ns, int64_t end_ns,
                                          std::string& problem) const {
  std::vector<Point> s;
  s.reserve(readings_.size());
  for (const auto& r : readings_) {
    if (!std::isnan(r.values[d])) s.push_back({static_cast<double>(r.t_ns), r.values[d]});
  }
  const auto start = static_cast<double>(start_ns);
  const auto end = static_cast<double>(end_ns);
  if (s.empty()) {
    problem = "no reading";
    return std::nullopt;
  }
  if (s.front().t > start) {
    problem = fmt::format("the first reading came {} after the window began",
                          FormatDurationNs(s.front().t - start));
    return std::nullopt;
  }
  if (s.back().t < end) {
    problem = fmt::format("the last reading came {} before the window ended",
                          FormatDurationNs(end - s.back().t));
    return std::nullopt;
  }
  if (domains_[d].quantity == Quantity::kEnergy) return At(s, end) - At(s, start);
  double joules = 0;  // W × ns, scaled at the end
  for (size_t i = 1; i < s.size(); ++i) {
    const double a = std::max(s[i - 1].t, start);
    const double b = std::min(s[i].t, end);
    if (b <= a) continue;
    joules += (b - a) * (Lerp(s[i - 1], s[i], a) + Lerp(s[i - 1], s[i], b)) / 2;
  }
  return joules / 1e9;
}

WindowEnergy Trace::Energy(int64_t start_ns, int64_t end_ns) const {
  PLASTER_ASSERT(end_ns >= start_ns);
  WindowEnergy w;
  w.start_ns = start_ns;
  w.end_ns = end_ns;
  double total = 0;
  bool total_known = true;
  double slowest_period_s = 0;
  std::string missing;
  for (size_t d = 0; d < domains_.size(); ++d) {
    DomainEnergy e;
    e.domain = domains_[d].name;
    for (const auto& r : readings_) {
      if (r.t_ns > start_ns && r.t_ns < end_ns && !std::isnan(r.values[d])) ++e.readings;
    }
    e.joules = DomainJoules(d, start_ns, end_ns, e.problem);
    if (domains_[d].in_total) {
      slowest_period_s = std::max(slowest_period_s, domains_[d].update_period_s);
      if (e.joules) {
        total += *e.joules;
      } else {
        total_known = false;
        if (missing.empty()) missing = fmt::format("{}: {}", e.domain, e.problem);
      }
    }
    w.domains.push_back(std::move(e));
  }
  if (total_known) {
    w.total_joules = total;
  } else {
    w.note = missing;
  }
  const double seconds = w.seconds();
  if (seconds < slowest_period_s) {
    w.too_short = true;
    w.note = fmt::format("the window ({}) is shorter than the sensor's update period ({}): its "
                         "figure is the average of the updates around it",
                         FormatDurationNs(seconds * 1e9), FormatDurationNs(slowest_period_s * 1e9));
  } else if (w.total_joules) {
    bool inside = false;
    for (const auto& e : w.domains) inside |= e.readings > 0;
    if (!inside) {
      w.too_short = true;
      w.note = fmt::format("no reading fell inside the window ({}): its figure is the average "
                           "of the readings around it",
                           FormatDurationNs(seconds * 1e9));
    }
  }
  return w;
}

}  // namespace plaster::power
