#include "evaluate/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.h"

namespace plaster::evaluate {

std::string CaseId(const CaseConfig& c) {
  return fmt::format("{}/{}/{}/b{}/t{}", c.engine, engine::DeviceName(c.device),
                     engine::PrecisionName(c.precision), c.batch, c.threads);
}

engine::Device ParseDevice(const std::string& name) {
  for (auto d : {engine::Device::kCpu, engine::Device::kCuda}) {
    if (name == engine::DeviceName(d)) return d;
  }
  Fail("--device '{}': not a device (cpu, cuda)", name);
}

std::vector<std::string> SplitList(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
    PLASTER_CHECK(!item.empty(), "{} '{}': an empty item in the list", what, text);
    out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {

template <typename T>
void CheckList(const std::vector<T>& list, const char* what) {
  PLASTER_CHECK(!list.empty(), "{}: the list is empty", what);
  std::set<T> seen;
  for (const auto& v : list) {
    PLASTER_CHECK(seen.insert(v).second, "{}: '{}' is listed twice", what, fmt::format("{}", v));
  }
}

}  // namespace

std::vector<CaseConfig> ExpandSweep(const SweepOptions& o, int usable_cores) {
  CheckList(o.engines, "--engine");
  CheckList(o.devices, "--device");
  CheckList(o.precisions, "--precision");
  CheckList(o.batches, "--batch");
  CheckList(o.threads, "--threads");
  std::vector<int> threads;
  for (int t : o.threads) {
    PLASTER_CHECK(t >= 0 && t <= 1024, "--threads {}: must be 0 (every core) to 1024", t);
    const int resolved = t == 0 ? usable_cores : t;
    PLASTER_CHECK(std::find(threads.begin(), threads.end(), resolved) == threads.end(),
                  "--threads: {} and 0 (= {} usable cores) are the same case", resolved,
                  usable_cores);
    threads.push_back(resolved);
  }
  for (int64_t b : o.batches) {
    PLASTER_CHECK(b >= 1 && b <= 4096, "--batch {}: must be 1 to 4096", b);
  }
  std::vector<CaseConfig> cases;
  for (const auto& e : o.engines) {
    for (const auto& d : o.devices) {
      const engine::Device device = ParseDevice(d);
      for (const auto& p : o.precisions) {
        const engine::Precision precision = ParsePrecision(p);
        for (int64_t b : o.batches) {
          for (int t : threads) cases.push_back({e, device, precision, b, t});
        }
      }
    }
  }
  return cases;
}

}  // namespace plaster::evaluate
