// The estimate, for a machine with no sensor (a VM, a container without /sys/class/powercap):
// the CPUs' share of the package's TDP, scaled by how busy they were. Always labelled
// "estimated", with a wide uncertainty.
//
// Note [The TDP estimate]
// Per logical CPU plaster may run on (its affinity mask), power is taken as
//     W × (0.3 + 0.7 × busy)
// where W is the package TDP over its logical CPUs, busy the share of the time the CPU was not
// idle (/proc/stat: user + nice + system + irq + softirq, over the wall time), and 0.3 the idle
// floor of a server CPU (SPECpower results put idle at 20–40% of full load). The source is an
// energy counter, Σ W × (0.3 × wall + 0.7 × busy seconds), so the Sampler integrates it as it
// does RAPL; after idle is subtracted only the 0.7 × W × busy part remains. W comes from --tdp
// (the package's TDP, shared among the logical CPUs /proc/cpuinfo shows in a package), else
// from a small table of processors (TDP and threads from their vendors' specifications), else
// from the family (EPYC, Xeon, other). The stated uncertainty, ±50% (±75% for a family guess),
// covers the model and W; it is not a measurement's error bar and reports never show it as one.
// On a VM the package is the host's and only its share of CPUs is seen: --tdp should then be
// that share (e.g. 360 W × 2 / 192 for 2 vCPUs of a 192-thread EPYC 9654).

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/clock.h"
#include "core/error.h"
#include "power/source.h"
#include "power/sysfs.h"

namespace plaster::power {
namespace {

struct KnownCpu {
  const char* model;  // a substring of /proc/cpuinfo's model name
  double tdp_w;
  int threads;
};

// Vendors' specifications (TDP, threads per package).
constexpr KnownCpu kKnownCpus[] = {
    {"EPYC 9654", 360, 192},       {"EPYC 9554", 360, 128},    {"EPYC 9454", 290, 96},
    {"EPYC 9354", 280, 64},        {"EPYC 9754", 360, 256},    {"EPYC 7763", 280, 128},
    {"EPYC 7713", 225, 128},       {"EPYC 7543", 225, 64},     {"EPYC 7B13", 280, 128},
    {"Platinum 8480", 350, 112},   {"Platinum 8380", 270, 80}, {"Platinum 8488C", 385, 96},
    {"Platinum 8375C", 300, 64},   {"Platinum 8275CL", 240, 48}, {"Gold 6348", 235, 56},
    {"Gold 6430", 270, 64},        {"Xeon(R) CPU @ 2.20GHz", 205, 56},
    {"Core(TM) i9-13900K", 125, 32}, {"Core(TM) i7-12700", 65, 20},
    {"Ryzen 9 7950X", 170, 32},    {"Ryzen 9 5950X", 105, 32},
};

// Families, when the model is not in the table (a VM often shows only "AMD EPYC"): the middle
// of their current parts' TDP per thread.
struct Family {
  const char* word;
  double w_per_thread;
};
constexpr Family kFamilies[] = {{"EPYC", 2.5}, {"Xeon", 3.5}, {"Ryzen", 5.0}, {"Core", 5.0}};
constexpr double kUnknownWPerThread = 4.0;
constexpr double kIdleFloor = 0.3;

struct Rate {
  double w_per_cpu = 0;
  std::string basis;
  double uncertainty = 0.5;
};

Rate ChooseRate(const SourceOptions& options) {
  const std::string cpuinfo =
      sysfs::ReadText(options.root + "/proc/cpuinfo").value_or("");
  std::string model = "unknown";
  int siblings = 0;
  std::istringstream lines(cpuinfo);
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (key == "model name" && model == "unknown") model = value;
    if (key == "siblings" && siblings == 0) siblings = std::atoi(value.c_str());
  }
  Rate r;
  if (options.tdp_w) {
    const int threads = std::max(siblings, 1);
    r.w_per_cpu = *options.tdp_w / threads;
    r.basis = fmt::format("--tdp {:g} W over the {} logical CPU(s) of a package", *options.tdp_w,
                          threads);
    return r;
  }
  for (const auto& k : kKnownCpus) {
    if (model.find(k.model) != std::string::npos) {
      r.w_per_cpu = k.tdp_w / k.threads;
      r.basis = fmt::format("'{}': TDP {:g} W over {} threads (plaster's table)", model, k.tdp_w,
                            k.threads);
      return r;
    }
  }
  r.uncertainty = 0.75;
  for (const auto& f : kFamilies) {
    if (model.find(f.word) != std::string::npos) {
      r.w_per_cpu = f.w_per_thread;
      r.basis = fmt::format("'{}' is not in plaster's table: {:g} W per thread, typical of {} "
                            "(give --tdp for better)",
                            model, f.w_per_thread, f.word);
      return r;
    }
  }
  r.w_per_cpu = kUnknownWPerThread;
  r.basis = fmt::format("'{}' is not in plaster's table: {:g} W per thread assumed (give --tdp "
                        "for better)",
                        model, kUnknownWPerThread);
  return r;
}

std::vector<int> AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  return cpus;
}

std::string CpuList(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

class EstimateSource final : public PowerSource {
 public:
  EstimateSource(std::string stat_path, std::vector<int> cpus, Rate rate)
      : stat_path_(std::move(stat_path)), cpus_(std::move(cpus)), rate_(std::move(rate)) {
    const long hz = sysconf(_SC_CLK_TCK);
    tick_s_ = 1.0 / static_cast<double>(hz > 0 ? hz : 100);
    Domain d;
    d.name = fmt::format("CPU {} (estimated)", CpuList(cpus_));
    d.quantity = Quantity::kEnergy;
    d.update_period_s = tick_s_;
    domains_.push_back(std::move(d));
    origin_ns_ = NowNs();
  }

  std::string name() const override { return "estimate"; }
  std::string description() const override {
    return fmt::format("estimated: {:.3g} W per CPU × (0.3 + 0.7 × busy share) on CPU {}; {}",
                       rate_.w_per_cpu, CpuList(cpus_), rate_.basis);
  }
  const std::vector<Domain>& domains() const override { return domains_; }
  bool estimated() const override { return true; }
  double relative_accuracy() const override { return rate_.uncertainty; }
  std::string accuracy_basis() const override {
    return "an estimate from TDP and CPU time, not a sensor: its idle floor and linear scaling "
           "are typical, not this machine's";
  }
  /// Every 50 ms at most: /proc/stat counts in ticks, and each read is a wake-up taken from the
  /// run being measured; the ends' error this adds (W × 50 ms) is far inside the ±50%.
  double min_interval_s() const override { return std::max(tick_s_, 0.05); }
  Reading Read() override {
    Reading r;
    r.t_ns = NowNs();
    const double busy = BusySeconds();
    const double wall = static_cast<double>(r.t_ns - origin_ns_) / 1e9;
    const double n = static_cast<double>(cpus_.size());
    r.values.push_back(std::isnan(busy) ? busy
                                        : rate_.w_per_cpu * (kIdleFloor * wall * n +
                                                             (1 - kIdleFloor) * busy));
    return r;
  }

  /// The CPUs' busy seconds so far (NaN when /proc/stat cannot be read).
  double BusySeconds() const {
    const auto text = sysfs::ReadText(stat_path_);
    if (!text) return std::numeric_limits<double>::quiet_NaN();
    double ticks = 0;
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("cpu", 0) != 0 || line.size() < 4 || !std::isdigit(line[3])) continue;
      const int cpu = std::atoi(line.c_str() + 3);
      if (std::find(cpus_.begin(), cpus_.end(), cpu) == cpus_.end()) continue;
      std::istringstream fields(line.substr(line.find(' ')));
      double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
      fields >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
      ticks += user + nice + system + irq + softirq;
    }
    return ticks * tick_s_;
  }

 private:
  std::string stat_path_;
  std::vector<int> cpus_;
  Rate rate_;
  double tick_s_ = 0.01;
  int64_t origin_ns_ = 0;
  std::vector<Domain> domains_;
};

}  // namespace

void DiscoverEstimate(const SourceOptions& options, Discovery& found) {
  if (!options.estimate) return;
  if (options.tdp_w && !(*options.tdp_w > 0)) Fail("--tdp: must be a positive number of watts");
  const std::string stat = options.root + "/proc/stat";
  std::string why;
  if (!sysfs::ReadText(stat, &why)) {
    found.unavailable.push_back({"estimate", fmt::format("{}: {}", stat, why)});
    return;
  }
  std::vector<int> cpus = options.cpus.empty() ? AffinityCpus() : options.cpus;
  if (cpus.empty()) {
    found.unavailable.push_back({"estimate", "the process's CPU affinity could not be read"});
    return;
  }
  found.sources.push_back(std::make_unique<EstimateSource>(stat, std::move(cpus),
                                                           ChooseRate(options)));
}

}  // namespace plaster::power
