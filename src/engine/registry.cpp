#include "engine/registry.h"

#include <memory>

#include "core/error.h"
#include "engine/null/null_engine.h"
#include "engine/torch/torch_engine.h"

namespace plaster::engine {

const std::vector<const Engine*>& Engines() {
  // Built once, never destroyed: engines may be used until the process exits.
  static const auto* engines = [] {
    auto* list = new std::vector<const Engine*>();
    list->push_back(new NullEngine());
    list->push_back(MakeTorchEngine().release());
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
  for (const Engine* e : Engines()) {
    if (e->name() == name) return *e;
  }
  Fail("unknown engine '{}' (this build has: {})", name, EngineNames());
}

}  // namespace plaster::engine
