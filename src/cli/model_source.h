#pragma once
/// Where a command's model comes from: a file path, or the built-in model by name.

#include <string>

#include "model/model.h"

namespace plaster::cli {

/// Loads "builtin:resnet8" from memory, anything else as a file.
model::Model LoadModelSource(const std::string& source, const model::LoadOptions& options);

}  // namespace plaster::cli
