#pragma once
/// The torch engine: ONNX graphs executed on LibTorch's ATen (oneDNN, OpenBLAS, AVX-512/AMX
/// kernels). This header is torch-free on purpose: only src/engine/torch/*.cpp include torch.

#include <memory>

#include "engine/engine.h"

namespace plaster::engine {

std::unique_ptr<Engine> MakeTorchEngine();

/// The plugin's entry point: `extern "C" Engine* plaster_torch_engine()`, returning a new engine
/// the caller owns. libplaster_engine_torch.so exports it.
inline constexpr const char* kTorchEngineEntryPoint = "plaster_torch_engine";

}  // namespace plaster::engine
