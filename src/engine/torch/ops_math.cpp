#include "engine/torch/kernel.h"

namespace plaster::engine::torch_engine {

// The ops of this group arrive in the next commits.
void AddMathOps(std::vector<OpEntry>*) {}

}  // namespace plaster::engine::torch_engine
