#pragma once
/// Engines by name. Built-in engines, and the torch and opencv plugins (Note [Engine plugins] in
/// registry.cpp), are registered on first use of Engines(); the list is then immutable, so
/// lookups are thread-safe.

#include <string>
#include <vector>

#include "engine/engine.h"

namespace plaster::engine {

/// Every engine built into this binary, in a stable order.
const std::vector<const Engine*>& Engines();

/// The engine called name. Throws plaster::Error listing the available ones otherwise.
const Engine& FindEngine(const std::string& name);

/// "null, torch, opencv".
std::string EngineNames();

/// The library settings plaster chose or found before loading engines
/// ("OPENBLAS_NUM_THREADS=1 (plaster's default), OPENBLAS_CORETYPE=Cooperlake (...)").
std::string EngineSettings();

}  // namespace plaster::engine
