#include "power/sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/clock.h"
#include "core/error.h"

namespace plaster::power {

// Note [Energy uncertainty]
// A window's ± joules combine, in quadrature, what is independent:
//  - the sensor's own accuracy (PowerSource::relative_accuracy) × the energy;
//  - the ends: the counter's value at each end is interpolated between readings up to
//    max(update period, sampling interval) apart, an error of at most the average power times
//    that gap, over both ends together;
//  - for sampled power, the variation the samples show: the standard error of their mean × the
//    window's length.
// Net of idle adds the idle baseline's own ± watts × the window's length. The sensor's
// calibration error is systematic and so scales with net, not gross, on the net figure. For the
// estimate, the stated ±50% (or 75%) dominates everything else, as it should.

namespace {

double Hypot3(double a, double b, double c) { return std::sqrt(a * a + b * b + c * c); }

// The standard error of the mean of the power readings inside the window (0 for counters).
double PowerStandardError(const Trace& trace, int64_t start_ns, int64_t end_ns) {
  double total_se2 = 0;
  for (size_t d = 0; d < trace.domains().size(); ++d) {
    if (trace.domains()[d].quantity != Quantity::kPower || !trace.domains()[d].in_total) continue;
    std::vector<double> v;
    for (const auto& r : trace.readings()) {
      if (r.t_ns >= start_ns && r.t_ns <= end_ns && !std::isnan(r.values[d])) v.push_back(r.values[d]);
    }
    if (v.size() < 2) continue;
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    total_se2 += ss / static_cast<double>(v.size() - 1) / static_cast<double>(v.size());
  }
  return std::sqrt(total_se2);
}

}  // namespace

std::optional<double> SourceEnergy::AverageWatts() const { return window.AverageWatts(); }

InferenceEnergy Attribute(const SourceEnergy& energy, int64_t inferences) {
  InferenceEnergy e;
  e.inferences = inferences;
  if (inferences <= 0) return e;
  const auto n = static_cast<double>(inferences);
  if (energy.gross_joules && *energy.gross_joules > 0) {
    e.joules_per_inference = *energy.gross_joules / n;
    e.inferences_per_joule = n / *energy.gross_joules;
  }
  if (energy.net_joules && *energy.net_joules > 0) {
    e.net_joules_per_inference = *energy.net_joules / n;
    e.net_inferences_per_joule = n / *energy.net_joules;
  }
  return e;
}

SourceEnergy EnergyOf(const PowerSource& source, const Trace& trace, int64_t start_ns,
                      int64_t end_ns, double interval_s, const std::optional<IdleBaseline>& idle) {
  SourceEnergy e;
  e.source = source.name();
  e.description = source.description();
  e.estimated = source.estimated();
  e.interval_s = interval_s;
  e.window = trace.Energy(start_ns, end_ns);
  if (idle) {
    e.idle_watts = idle->watts;
    e.idle_seconds = idle->seconds;
  }
  if (!e.window.total_joules) return e;
  const double gross = *e.window.total_joules;
  const double seconds = e.window.seconds();
  e.gross_joules = gross;
  double period = 0;
  for (const auto& d : trace.domains()) {
    if (d.in_total) period = std::max(period, d.update_period_s);
  }
  const double gap = std::max(period, interval_s);
  const double watts = seconds > 0 ? gross / seconds : 0;
  const double ends = watts * gap;
  const double spread = PowerStandardError(trace, start_ns, end_ns) * seconds;
  const double a = source.relative_accuracy();
  e.gross_uncertainty_joules = Hypot3(a * gross, ends, spread);
  e.uncertainty_basis = fmt::format("±{:.0f}% of the reading ({}); the window's ends, {} apart "
                                    "at most",
                                    a * 100, source.accuracy_basis(), FormatDurationNs(gap * 1e9));
  if (spread > 0) e.uncertainty_basis += "; the power samples' spread";
  if (idle) {
    const double net = gross - idle->watts * seconds;
    e.net_joules = net;
    e.net_uncertainty_joules =
        std::sqrt(std::pow(a * std::abs(net), 2) + ends * ends + spread * spread +
                  std::pow(idle->uncertainty_watts * seconds, 2));
    e.uncertainty_basis += fmt::format("; net: the idle baseline's ±{:.3g} W", idle->uncertainty_watts);
  }
  return e;
}

std::optional<size_t> ChooseBest(const std::vector<SourceEnergy>& energies, std::string* reason) {
  std::optional<size_t> best;
  auto relative = [](const SourceEnergy& e) {
    return *e.gross_joules > 0 ? e.gross_uncertainty_joules / *e.gross_joules : 1e9;
  };
  for (size_t i = 0; i < energies.size(); ++i) {
    const SourceEnergy& e = energies[i];
    if (!e.gross_joules) continue;
    if (!best) {
      best = i;
      continue;
    }
    const SourceEnergy& b = energies[*best];
    if (b.estimated != e.estimated) {
      if (b.estimated) best = i;
    } else if (relative(e) < relative(b)) {
      best = i;
    }
  }
  if (reason) {
    if (!best) {
      *reason = energies.empty() ? "no power source" : "no source knows the window's energy";
    } else if (energies[*best].estimated) {
      *reason = "no sensor on this machine measured it: the figure is the TDP estimate";
    } else {
      int sensors = 0;
      for (const auto& e : energies) sensors += !e.estimated && e.gross_joules ? 1 : 0;
      *reason = sensors > 1 ? "the sensor with the smallest uncertainty"
                            : "the only sensor; the estimate is used only without one";
    }
  }
  return best;
}

struct Sampler::Polled {
  explicit Polled(const std::vector<Domain>& domains) : trace(domains) {}
  mutable std::mutex mutex;
  Trace trace;
  double interval_s = 0;
  bool logged = false;  ///< gives its trace afterwards (--power-file); no thread
  std::thread thread;
};

Sampler::Sampler(std::vector<std::unique_ptr<PowerSource>> sources, double interval_s)
    : sources_(std::move(sources)), interval_s_(interval_s) {
  PLASTER_ASSERT(interval_s > 0);
}

Sampler::~Sampler() { Stop(); }

void Sampler::Start() {
  PLASTER_ASSERT(!started_);
  started_ = true;
  std::vector<std::unique_ptr<PowerSource>> kept;
  for (auto& source : sources_) {
    auto polled = std::make_unique<Polled>(source->domains());
    polled->interval_s = std::max(interval_s_, source->min_interval_s());
    polled->logged = source->logs();
    if (!polled->logged) {
      try {
        polled->trace.Add(source->Read());
      } catch (const Error& e) {
        dropped_.push_back({source->name(), e.what()});
        continue;
      }
    }
    kept.push_back(std::move(source));
    polled_.push_back(std::move(polled));
  }
  sources_ = std::move(kept);
  for (size_t i = 0; i < sources_.size(); ++i) {
    if (!polled_[i]->logged) polled_[i]->thread = std::thread([this, i] { Poll(i); });
  }
}

void Sampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stop_ = true;
  }
  stop_wake_.notify_all();
  for (auto& p : polled_) {
    if (p->thread.joinable()) p->thread.join();
  }
}

void Sampler::Poll(size_t index) {
  Polled& p = *polled_[index];
  PowerSource& source = *sources_[index];
  const auto step = static_cast<int64_t>(p.interval_s * 1e9);
  int64_t next = NowNs() + step;
  // A plain sleep, not WaitUntilNs: a reading is stamped when it is taken, so waking 50 µs late
  // costs nothing, while WaitUntilNs's spin before each deadline would take 2% of a core from
  // the run being measured (bench/energy_overhead.sh).
  auto sleep_until = [&](int64_t deadline) {
    std::unique_lock<std::mutex> lock(stop_mutex_);
    stop_wake_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(deadline - NowNs(), 0)),
                        [&] { return stop_.load(); });
    return !stop_.load();
  };
  while (sleep_until(next)) {
    Reading r;
    try {
      r = source.Read();
    } catch (const Error&) {
      r.t_ns = NowNs();  // a failed read is a gap, not the end: the window will say so
      r.values.assign(source.domains().size(), std::nan(""));
    }
    {
      std::lock_guard<std::mutex> lock(p.mutex);
      if (p.trace.readings().empty() || r.t_ns >= p.trace.readings().back().t_ns) {
        p.trace.Add(std::move(r));
      }
    }
    next += step;
    const int64_t now = NowNs();
    if (next < now) next = now + step;  // a slow read: skip, do not burst
  }
}

Trace Sampler::TraceOf(size_t source) const {
  const Polled& p = *polled_.at(source);
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.trace;
}

std::vector<IdleBaseline> Sampler::MeasureIdle(int64_t duration_ns) {
  const int64_t start = NowNs();
  WaitUntilNs(start + duration_ns);
  const int64_t end = NowNs();
  std::vector<IdleBaseline> out;
  for (const auto& e : Window(start, end, {})) {
    if (!e.gross_joules || e.window.seconds() <= 0) continue;
    IdleBaseline b;
    b.source = e.source;
    b.seconds = e.window.seconds();
    b.watts = *e.gross_joules / b.seconds;
    // The ends' and the samples' part of the uncertainty, as watts; the sensor's calibration
    // is left to the window it is subtracted from (Note [Energy uncertainty]).
    const double gap = std::max(e.interval_s, 0.001);
    b.uncertainty_watts = b.watts * gap / b.seconds;
    out.push_back(b);
  }
  return out;
}

std::vector<SourceEnergy> Sampler::Window(int64_t start_ns, int64_t end_ns,
                                          const std::vector<IdleBaseline>& idle) {
  std::vector<SourceEnergy> out;
  for (size_t i = 0; i < sources_.size(); ++i) {
    Polled& p = *polled_[i];
    std::optional<IdleBaseline> baseline;
    for (const auto& b : idle) {
      if (b.source == sources_[i]->name()) baseline = b;
    }
    if (p.logged) {
      const Trace trace = sources_[i]->Logged(start_ns, end_ns);
      out.push_back(EnergyOf(*sources_[i], trace, start_ns, end_ns, p.interval_s, baseline));
      continue;
    }
    // Wait for the reading that closes the window.
    const int64_t deadline = end_ns + static_cast<int64_t>(2 * p.interval_s * 1e9) + 50'000'000;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(p.mutex);
        if (!p.trace.readings().empty() && p.trace.readings().back().t_ns >= end_ns) break;
      }
      if (NowNs() > deadline || !p.thread.joinable() || stop_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::lock_guard<std::mutex> lock(p.mutex);
    out.push_back(EnergyOf(*sources_[i], p.trace, start_ns, end_ns, p.interval_s, baseline));
  }
  return out;
}

}  // namespace plaster::power
