// NVIDIA GPUs through NVML, loaded at run time with dlopen: plaster builds and runs without the
// NVIDIA driver, and finds the GPUs where it is installed.
//
// Note [NVML]
// Only a handful of entry points are used, declared here with NVML's C ABI (nvml.h is not
// needed: its types are an int return code and an opaque device pointer). Per GPU, the total
// energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ since the driver loaded; Volta and
// newer) is read where it exists, since a counter integrates what sampling misses; otherwise
// the power usage (nvmlDeviceGetPowerUsage, mW) is sampled. NVIDIA documents the power reading
// as accurate to ±5% of the current draw. The counter's and the power figure's update period is
// not documented per board; 20 ms is assumed (and said) for the counter, 100 ms for power.
// --gpu N restricts the source to one GPU (the one a session runs on); by default every GPU is
// a domain and all are added. The library is found as libnvidia-ml.so.1 on the loader's path;
// SourceOptions::nvml_library overrides it (the tests load a replaying fake).

#include <dlfcn.h>
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/clock.h"
#include "core/error.h"
#include "power/source.h"

namespace plaster::power {
namespace {

using nvmlReturn = int;
using nvmlDevice = void*;
constexpr nvmlReturn kNvmlSuccess = 0;

struct NvmlApi {
  void* handle = nullptr;
  nvmlReturn (*init)() = nullptr;
  nvmlReturn (*shutdown)() = nullptr;
  nvmlReturn (*count)(unsigned int*) = nullptr;
  nvmlReturn (*by_index)(unsigned int, nvmlDevice*) = nullptr;
  nvmlReturn (*name)(nvmlDevice, char*, unsigned int) = nullptr;
  nvmlReturn (*energy)(nvmlDevice, unsigned long long*) = nullptr;  // mJ
  nvmlReturn (*power)(nvmlDevice, unsigned int*) = nullptr;         // mW
  const char* (*error_string)(nvmlReturn) = nullptr;

  std::string Error(nvmlReturn r) const {
    return error_string ? fmt::format("{} ({})", error_string(r), r) : fmt::format("error {}", r);
  }
};

template <typename F>
bool Bind(void* handle, const char* symbol, F& out) {
  out = reinterpret_cast<F>(dlsym(handle, symbol));
  return out != nullptr;
}

struct Gpu {
  unsigned int index;
  nvmlDevice device;
  bool counter;
};

class NvmlSource final : public PowerSource {
 public:
  NvmlSource(NvmlApi api, std::string library, std::vector<Gpu> gpus, std::vector<Domain> domains)
      : api_(api), library_(std::move(library)), gpus_(std::move(gpus)), domains_(std::move(domains)) {}
  ~NvmlSource() override {
    api_.shutdown();
    dlclose(api_.handle);
  }
  NvmlSource(const NvmlSource&) = delete;
  NvmlSource& operator=(const NvmlSource&) = delete;

  std::string name() const override {
    return gpus_.size() == 1 ? fmt::format("nvml:{}", gpus_[0].index) : "nvml";
  }
  std::string description() const override {
    int counters = 0;
    for (const auto& g : gpus_) counters += g.counter ? 1 : 0;
    return fmt::format("NVML ({}): {} GPU(s), {} by the total-energy counter, {} by power "
                       "sampling",
                       library_, gpus_.size(), counters,
                       static_cast<int>(gpus_.size()) - counters);
  }
  const std::vector<Domain>& domains() const override { return domains_; }
  double relative_accuracy() const override { return 0.05; }
  std::string accuracy_basis() const override {
    return "NVIDIA documents NVML's power reading as accurate to ±5% of the draw";
  }
  Reading Read() override {
    Reading r;
    r.t_ns = NowNs();
    for (const auto& g : gpus_) {
      double v = std::numeric_limits<double>::quiet_NaN();
      if (g.counter) {
        unsigned long long mj = 0;
        if (api_.energy(g.device, &mj) == kNvmlSuccess) v = static_cast<double>(mj) / 1e3;
      } else {
        unsigned int mw = 0;
        if (api_.power(g.device, &mw) == kNvmlSuccess) v = static_cast<double>(mw) / 1e3;
      }
      r.values.push_back(v);
    }
    return r;
  }

 private:
  NvmlApi api_;
  std::string library_;
  std::vector<Gpu> gpus_;
  std::vector<Domain> domains_;
};

}  // namespace

void DiscoverNvml(const SourceOptions& options, Discovery& found) {
  NvmlApi api;
  api.handle = dlopen(options.nvml_library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (api.handle == nullptr) {
    // No NVIDIA driver: the usual case on a CPU machine, listed so a user with a GPU sees why.
    const char* why = dlerror();
    found.unavailable.push_back(
        {"nvml", fmt::format("no NVIDIA driver ({})", why ? why : options.nvml_library + " not found")});
    if (options.gpu) Fail("--gpu {}: NVML ({}) cannot be loaded", *options.gpu, options.nvml_library);
    return;
  }
  const bool bound = Bind(api.handle, "nvmlInit_v2", api.init) &&
                     Bind(api.handle, "nvmlShutdown", api.shutdown) &&
                     Bind(api.handle, "nvmlDeviceGetCount_v2", api.count) &&
                     Bind(api.handle, "nvmlDeviceGetHandleByIndex_v2", api.by_index) &&
                     Bind(api.handle, "nvmlDeviceGetName", api.name) &&
                     Bind(api.handle, "nvmlDeviceGetTotalEnergyConsumption", api.energy) &&
                     Bind(api.handle, "nvmlDeviceGetPowerUsage", api.power);
  Bind(api.handle, "nvmlErrorString", api.error_string);
  if (!bound) {
    found.unavailable.push_back(
        {"nvml", fmt::format("{} lacks an entry point plaster needs (a driver older than 2017?)",
                             options.nvml_library)});
    dlclose(api.handle);
    return;
  }
  if (const nvmlReturn r = api.init(); r != kNvmlSuccess) {
    found.unavailable.push_back({"nvml", "nvmlInit: " + api.Error(r)});
    dlclose(api.handle);
    return;
  }
  unsigned int count = 0;
  if (const nvmlReturn r = api.count(&count); r != kNvmlSuccess) count = 0;
  std::vector<Gpu> gpus;
  std::vector<Domain> domains;
  for (unsigned int i = 0; i < count; ++i) {
    if (options.gpu && static_cast<unsigned int>(*options.gpu) != i) continue;
    Gpu g{i, nullptr, false};
    if (const nvmlReturn r = api.by_index(i, &g.device); r != kNvmlSuccess) {
      found.unavailable.push_back({fmt::format("nvml:{}", i), "nvmlDeviceGetHandleByIndex: " + api.Error(r)});
      continue;
    }
    char name[96] = {};
    if (api.name(g.device, name, sizeof name) != kNvmlSuccess) name[0] = '\0';
    unsigned long long mj = 0;
    unsigned int mw = 0;
    g.counter = api.energy(g.device, &mj) == kNvmlSuccess;
    if (!g.counter && api.power(g.device, &mw) != kNvmlSuccess) {
      found.unavailable.push_back({fmt::format("nvml:{}", i),
                                   "neither the energy counter nor the power reading is "
                                   "supported by this GPU"});
      continue;
    }
    Domain d;
    d.name = fmt::format("GPU {} ({})", i, name[0] ? name : "unnamed");
    d.quantity = g.counter ? Quantity::kEnergy : Quantity::kPower;
    d.update_period_s = g.counter ? 0.02 : 0.1;
    domains.push_back(std::move(d));
    gpus.push_back(g);
  }
  if (options.gpu && gpus.empty()) {
    api.shutdown();
    dlclose(api.handle);
    if (*options.gpu < 0 || static_cast<unsigned int>(*options.gpu) >= count) {
      Fail("--gpu {}: NVML shows {} GPU(s)", *options.gpu, count);
    }
    Fail("--gpu {}: its power cannot be read (see plaster power --list)", *options.gpu);
  }
  if (gpus.empty()) {
    api.shutdown();
    dlclose(api.handle);
    return;
  }
  found.sources.push_back(std::make_unique<NvmlSource>(api, options.nvml_library,
                                                       std::move(gpus), std::move(domains)));
}

}  // namespace plaster::power
