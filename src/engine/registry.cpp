#include "engine/registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "core/error.h"
#include "engine/null/null_engine.h"
#include "engine/opencv/opencv_engine.h"
#include "engine/torch/torch_engine.h"

namespace plaster::engine {
namespace {

namespace fs = std::filesystem;

// Note [Engine plugins]: the torch and opencv engines are shared modules
// (libplaster_engine_torch.so, libplaster_engine_opencv.so) loaded on first use, not linked into
// plaster. That keeps LibTorch's half-second load out of commands that run no engine (plaster
// size), lets a build or a machine lack one engine without losing the others (FindEngine then
// says why it is missing), and lets us set, before LibTorch's libraries initialise,
// the settings they only read at load time (Note [Threads] in torch/torch_engine.cpp says why):
//  - OPENBLAS_NUM_THREADS=1: OpenBLAS, which Debian's LibTorch calls for the float matrix
//    products plaster does not run through oneDNN, keeps no thread pool of its own. Its idle
//    workers spin on sched_yield after every call and take the cores from OpenMP's, which run
//    every oneDNN kernel and ATen's parallel loops;
//  - OPENBLAS_CORETYPE from the CPU's features: OpenBLAS 0.3.21 takes this machine's AVX-512/AMX
//    CPU (a KVM guest) for a generic "Prescott" and runs SGEMM at ~50 GFLOP/s instead of ~240.
// OpenMP keeps its own default wait policy (spin a while, then sleep). A value the user has set
// is kept. EngineSettings() reports what was used.
std::string g_settings;

const char* CoreTypeForThisCpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512bf16")) return "Cooperlake";
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
  return nullptr;
}

void SetDefault(const char* name, const char* value) {
  const char* current = std::getenv(name);
  if (current == nullptr && value != nullptr) {
    ::setenv(name, value, 0);
    g_settings +=
        fmt::format("{}{}={} (plaster's default)", g_settings.empty() ? "" : ", ", name, value);
  } else if (current != nullptr) {
    g_settings += fmt::format("{}{}={} (from the environment)", g_settings.empty() ? "" : ", ",
                              name, current);
  }
}

// Next to the executable first (an installed or built plaster), then the build tree.
std::vector<fs::path> PluginCandidates(const char* file) {
  std::vector<fs::path> out;
  if (const char* dir = std::getenv("PLASTER_ENGINE_DIR")) out.push_back(fs::path(dir) / file);
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back(self.parent_path() / file);
  out.push_back(fs::path(PLASTER_ENGINE_BUILD_DIR) / file);
  return out;
}

// The plugins plaster knows, in the order Engines() lists them.
struct Plugin {
  const char* engine;
  const char* file;
  const char* entry_point;
};
constexpr Plugin kPlugins[] = {
    {"torch", "libplaster_engine_torch.so", kTorchEngineEntryPoint},
    {"opencv", "libplaster_engine_opencv.so", kOpenCvEngineEntryPoint},
};
std::map<std::string, std::string> g_plugin_errors;  // engine → why its plugin did not load

const Engine* LoadPlugin(const Plugin& plugin) {
  std::string errors;
  for (const fs::path& path : PluginCandidates(plugin.file)) {
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      errors += std::string(errors.empty() ? "" : "; ") + ::dlerror();
      continue;
    }
    auto* create = reinterpret_cast<Engine* (*)()>(::dlsym(handle, plugin.entry_point));
    if (create == nullptr) {
      errors += fmt::format("{}{}: no entry point {}", errors.empty() ? "" : "; ", path.string(),
                            plugin.entry_point);
      continue;
    }
    return create();  // never unloaded: the engine lives until the process exits
  }
  g_plugin_errors[plugin.engine] =
      errors.empty() ? fmt::format("{} not found next to plaster", plugin.file) : errors;
  return nullptr;
}

// The built-in engines need no plugin: finding one of them does not load LibTorch (about a
// second of dynamic loading, which a null-engine measurement of the harness should not pay).
const NullEngine& Null() {
  static const auto* null = new NullEngine();  // never destroyed, like every engine
  return *null;
}

}  // namespace

const std::vector<const Engine*>& Engines() {
  // Built once, never destroyed: engines may be used until the process exits.
  static const auto* engines = [] {
    auto* list = new std::vector<const Engine*>();
    list->push_back(&Null());
    // Before any plugin loads its libraries: they read these settings at load time.
    SetDefault("OPENBLAS_NUM_THREADS", "1");
    SetDefault("OPENBLAS_CORETYPE", CoreTypeForThisCpu());
    for (const Plugin& plugin : kPlugins) {
      if (const Engine* engine = LoadPlugin(plugin)) list->push_back(engine);
    }
    return list;
  }();
  return *engines;
}

std::string EngineNames() {
  std::string names;
  for (const Engine* e : Engines()) names += (names.empty() ? "" : ", ") + e->name();
  return names;
}

const Engine& FindEngine(const std::string& name) {
  if (name == Null().name()) return Null();
  for (const Engine* e : Engines()) {
    if (e->name() == name) return *e;
  }
  if (auto it = g_plugin_errors.find(name); it != g_plugin_errors.end()) {
    Fail("engine '{}' could not be loaded: {}", name, it->second);
  }
  Fail("unknown engine '{}' (this build has: {})", name, EngineNames());
}

std::string EngineSettings() {
  Engines();
  return g_settings;
}

}  // namespace plaster::engine
