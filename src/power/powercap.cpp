// RAPL through Linux's powercap tree (/sys/class/powercap/intel-rapl:*), Intel's and AMD's alike
// (AMD's Zen processors appear under the same intel-rapl control type).
//
// Note [RAPL domains]
// Each zone directory holds `name` (package-N, core, uncore, dram, psys), `energy_uj` (a counter
// in µJ, updated about every millisecond) and `max_energy_range_uj` (where it wraps: at 100 W a
// 2^32 µJ range wraps in 43 s, so a long window can wrap several times). Sub-zones
// (intel-rapl:0:0) are inside their package: core and uncore are counted in the package's energy
// and shown only; dram is not, and is added. psys, the whole platform where it exists,
// overlaps the packages and is shown only, unless it is all there is. Since Linux 5.10
// (CVE-2020-8694) energy_uj is readable by root only: such a zone is listed as unavailable with
// that reason, never read as zero.

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <map>

#include "core/clock.h"
#include "power/source.h"
#include "power/sysfs.h"

namespace plaster::power {
namespace {

class RaplSource final : public PowerSource {
 public:
  RaplSource(std::string dir, std::vector<Domain> domains, std::vector<sysfs::OpenNumber> files)
      : dir_(std::move(dir)), domains_(std::move(domains)), files_(std::move(files)) {}

  std::string name() const override { return "rapl"; }
  std::string description() const override {
    return fmt::format("RAPL energy counters, {}", dir_);
  }
  const std::vector<Domain>& domains() const override { return domains_; }
  double relative_accuracy() const override { return 0.05; }
  std::string accuracy_basis() const override {
    return "RAPL's counters are a model the processor keeps, not a meter; published checks "
           "against wall meters agree within a few percent (±5% taken)";
  }
  Reading Read() override {
    Reading r;
    r.t_ns = NowNs();
    r.values.reserve(files_.size());
    for (const auto& f : files_) r.values.push_back(f.Read() / 1e6);  // µJ → J
    return r;
  }

 private:
  std::string dir_;
  std::vector<Domain> domains_;
  std::vector<sysfs::OpenNumber> files_;
};

}  // namespace

void DiscoverPowercap(const SourceOptions& options, Discovery& found) {
  const std::string dir = options.root + "/sys/class/powercap";
  std::vector<Domain> domains;
  std::vector<sysfs::OpenNumber> files;
  bool has_package = false;
  size_t psys = SIZE_MAX;
  std::map<std::string, std::string> zone_names;  // "intel-rapl:0" → "package-0"
  for (const auto& path : sysfs::List(dir, "intel-rapl:")) {
    const std::string zone = std::filesystem::path(path).filename().string();
    std::string why;
    const auto name = sysfs::ReadText(path + "/name", &why);
    if (!name) {
      found.unavailable.push_back({"rapl " + zone, fmt::format("{}/name: {}", path, why)});
      continue;
    }
    zone_names[zone] = *name;
    Domain d;
    d.quantity = Quantity::kEnergy;
    d.update_period_s = 0.001;
    const size_t colon = zone.rfind(':');
    const bool sub = zone.find(':') != colon;  // intel-rapl:0:1
    if (sub) {
      const auto parent = zone_names.find(zone.substr(0, colon));
      d.name = (parent == zone_names.end() ? zone.substr(0, colon) : parent->second) + "/" + *name;
      d.in_total = *name == "dram";
    } else {
      d.name = *name;
      d.in_total = name->rfind("package", 0) == 0;
      has_package |= d.in_total;
    }
    sysfs::OpenNumber file(path + "/energy_uj", &why);
    if (!file.ok()) {
      found.unavailable.push_back(
          {"rapl " + d.name,
           fmt::format("{}/energy_uj: {}{}", path, why,
                       why.find("root") != std::string::npos
                           ? "; RAPL is root-only since Linux 5.10 (CVE-2020-8694): run as "
                             "root, or `sudo chmod a+r` the file"
                           : "")});
      continue;
    }
    if (const auto range = sysfs::ReadNumber(path + "/max_energy_range_uj")) {
      d.wrap_j = *range / 1e6;
    }
    if (*name == "psys") psys = domains.size();
    domains.push_back(std::move(d));
    files.push_back(std::move(file));
  }
  if (domains.empty()) {
    if (zone_names.empty()) {
      found.unavailable.push_back(
          {"rapl", fmt::format("no intel-rapl zone under {} (no RAPL driver: virtual machines and "
                               "containers usually hide it)",
                               dir)});
    }
    return;
  }
  if (psys != SIZE_MAX) domains[psys].in_total = !has_package;
  found.sources.push_back(std::make_unique<RaplSource>(dir, std::move(domains), std::move(files)));
}

}  // namespace plaster::power
