// hwmon sensors (/sys/class/hwmon/hwmon*): GPUs (amdgpu), server boards, ARM SoCs, AMD's
// amd_energy driver; what RAPL does not cover.
//
// Note [hwmon sensors]
// A device directory holds `name`, and per sensor `energyN_input` (a counter in µJ),
// `powerN_input` or `powerN_average` (µW), with an optional `..._label`. A device that has
// energy counters is read through them only (a counter integrates what sampling would miss);
// otherwise its power sensors are sampled. When some labels name a whole (socket, package,
// total, as amd_energy's "Esocket0" beside its per-core "Ecore000"), only those are added into
// the total; otherwise every sensor is. `update_interval` (ms), where the chip has it, is the
// update period; otherwise 100 ms is assumed, a common driver default, and said.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "core/clock.h"
#include "power/source.h"
#include "power/sysfs.h"

namespace plaster::power {
namespace {

class HwmonSource final : public PowerSource {
 public:
  HwmonSource(std::string name, std::string dir, std::vector<Domain> domains,
              std::vector<sysfs::OpenNumber> files, std::vector<double> scale, bool period_known)
      : name_(std::move(name)),
        dir_(std::move(dir)),
        domains_(std::move(domains)),
        files_(std::move(files)),
        scale_(std::move(scale)),
        period_known_(period_known) {}

  std::string name() const override { return name_; }
  std::string description() const override {
    return fmt::format("hwmon {} sensor(s), {}{}", domains_.size(), dir_,
                       period_known_ ? "" : " (update period not stated: 100 ms assumed)");
  }
  const std::vector<Domain>& domains() const override { return domains_; }
  double relative_accuracy() const override { return 0.10; }
  std::string accuracy_basis() const override {
    return "hwmon drivers do not state their sensors' accuracy (±10% taken)";
  }
  double min_interval_s() const override { return domains_.front().update_period_s / 2; }
  Reading Read() override {
    Reading r;
    r.t_ns = NowNs();
    for (size_t i = 0; i < files_.size(); ++i) r.values.push_back(files_[i].Read() * scale_[i]);
    return r;
  }

 private:
  std::string name_, dir_;
  std::vector<Domain> domains_;
  std::vector<sysfs::OpenNumber> files_;
  std::vector<double> scale_;
  bool period_known_;
};

bool NamesAWhole(const std::string& label) {
  std::string lower = label;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"socket", "package", "total"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

void DiscoverHwmon(const SourceOptions& options, Discovery& found) {
  std::map<std::string, int> seen;  // device name → how many so far
  const std::string root = options.root + "/sys/class/hwmon";
  const size_t before = found.sources.size();
  for (const auto& dir : sysfs::List(root, "hwmon")) {
    const std::string device = std::filesystem::path(dir).filename().string();
    const std::string chip = sysfs::ReadText(dir + "/name").value_or(device);
    // Sensor files, by kind: energyN_input first; power only without any energy counter.
    std::vector<std::string> energy, power;
    for (const auto& f : sysfs::List(dir, "energy")) {
      if (f.size() > 6 && f.compare(f.size() - 6, 6, "_input") == 0) energy.push_back(f);
    }
    for (const auto& f : sysfs::List(dir, "power")) {
      const bool input = f.size() > 6 && f.compare(f.size() - 6, 6, "_input") == 0;
      const bool average = f.size() > 8 && f.compare(f.size() - 8, 8, "_average") == 0;
      if (input || average) power.push_back(f);
    }
    const bool counters = !energy.empty();
    const std::vector<std::string>& files = counters ? energy : power;
    if (files.empty()) continue;  // a temperature or fan chip
    std::string name = "hwmon:" + chip;
    if (seen[chip]++ > 0) name += fmt::format("#{}", seen[chip]);
    const auto interval_ms = sysfs::ReadNumber(dir + "/update_interval");
    std::vector<Domain> domains;
    std::vector<sysfs::OpenNumber> opened;
    std::vector<double> scale;
    std::vector<std::string> labels;
    for (const auto& f : files) {
      const std::string base = std::filesystem::path(f).filename().string();
      const std::string stem = base.substr(0, base.rfind('_'));  // "power1"
      // power1_input and power1_average are one sensor: the first listed is kept.
      if (std::find(labels.begin(), labels.end(), stem) != labels.end()) continue;
      std::string why;
      sysfs::OpenNumber file(f, &why);
      if (!file.ok()) {
        found.unavailable.push_back({name + " " + base, fmt::format("{}: {}", f, why)});
        continue;
      }
      labels.push_back(stem);
      Domain d;
      d.name = sysfs::ReadText(dir + "/" + stem + "_label").value_or(stem);
      d.quantity = counters ? Quantity::kEnergy : Quantity::kPower;
      d.update_period_s = interval_ms ? *interval_ms / 1e3 : 0.1;
      domains.push_back(std::move(d));
      opened.push_back(std::move(file));
      scale.push_back(1e-6);  // µJ → J, µW → W
    }
    if (domains.empty()) continue;
    const bool wholes = std::any_of(domains.begin(), domains.end(),
                                    [](const Domain& d) { return NamesAWhole(d.name); });
    if (wholes) {
      for (auto& d : domains) d.in_total = NamesAWhole(d.name);
    }
    found.sources.push_back(std::make_unique<HwmonSource>(name, dir, std::move(domains),
                                                          std::move(opened), std::move(scale),
                                                          interval_ms.has_value()));
  }
  if (found.sources.size() == before) {
    found.unavailable.push_back({"hwmon", fmt::format("no power or energy sensor under {}", root)});
  }
}

}  // namespace plaster::power
