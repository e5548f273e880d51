#pragma once
/// The built-in default model: a small ResNet for 32×32 RGB images (CIFAR-10 sized, 10 classes),
/// built in code with seeded random weights, so `plaster` with no arguments has a real CNN to
/// analyse and run without any file.

#include <string>

namespace plaster::model {

/// The name `plaster` shows for it.
inline constexpr const char* kBuiltinModelName = "builtin:resnet8";

/// The serialized ModelProto (the same bytes on every call and every machine).
const std::string& BuiltinModelBytes();

}  // namespace plaster::model
