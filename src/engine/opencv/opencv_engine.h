#pragma once
/// The opencv engine: ONNX models imported by OpenCV DNN's own importer and run on its layers
/// (Debian's OpenCV 4.6; CPU, and CUDA where the installed build has that backend). This header
/// is OpenCV-free on purpose: only src/engine/opencv/*.cpp include OpenCV DNN.

#include <memory>

#include "engine/engine.h"

namespace plaster::engine {

std::unique_ptr<Engine> MakeOpenCvEngine();

/// The plugin's entry point: `extern "C" Engine* plaster_opencv_engine()`, returning a new engine
/// the caller owns. libplaster_engine_opencv.so exports it.
inline constexpr const char* kOpenCvEngineEntryPoint = "plaster_opencv_engine";

}  // namespace plaster::engine
