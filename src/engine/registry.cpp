#include "engine/registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "engine/null/null_engine.h"
#include "engine/torch/torch_engine.h"

namespace plaster::engine {
namespace {

namespace fs = std::filesystem;

// Note [Engine plugins]: the torch engine is a shared module (libplaster_engine_torch.so) loaded
// on first use, not linked into plaster. That keeps LibTorch's half-second load out of commands
// that run no engine (plaster size), and lets us set, before LibTorch's libraries initialise,
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
std::string g_torch_error;

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

const Engine* LoadTorch() {
  SetDefault("OPENBLAS_NUM_THREADS", "1");
  SetDefault("OPENBLAS_CORETYPE", CoreTypeForThisCpu());
  std::string errors;
  for (const fs::path& path : PluginCandidates("libplaster_engine_torch.so")) {
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      errors += std::string(errors.empty() ? "" : "; ") + ::dlerror();
      continue;
    }
    auto* create = reinterpret_cast<Engine* (*)()>(::dlsym(handle, kTorchEngineEntryPoint));
    if (create == nullptr) {
      errors += fmt::format("{}{}: no entry point {}", errors.empty() ? "" : "; ", path.string(),
                            kTorchEngineEntryPoint);
      continue;
    }
    return create();  // never unloaded: the engine lives until the process exits
  }
  g_torch_error = errors.empty() ? "libplaster_engine_torch.so not found next to plaster" : errors;
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
    if (const Engine* torch = LoadTorch()) list->push_back(torch);
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
  PLASTER_CHECK(!(name == "torch" && !g_torch_error.empty()),
                "engine 'torch' could not be loaded: {}", g_torch_error);
  Fail("unknown engine '{}' (this build has: {})", name, EngineNames());
}

std::string EngineSettings() {
  Engines();
  return g_settings;
}

}  // namespace plaster::engine
