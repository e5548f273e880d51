#pragma once
/// The null engine: returns zero-filled outputs of the right dtypes and shapes, at once. It runs
/// every node of every model, and exists to measure plaster's own harness overhead (as LoadGen's
/// null SUT does): whatever time a null session takes is plaster's, not an engine's.

#include "engine/engine.h"

namespace plaster::engine {

class NullEngine final : public Engine {
 public:
  std::string name() const override { return "null"; }
  std::string description() const override {
    return "does nothing; zero outputs; measures plaster's own overhead";
  }
  std::vector<Device> devices() const override { return {Device::kCpu}; }
  std::vector<Precision> precisions(Device device) const override;
  SupportReport Support(const model::Model& model) const override;
  std::unique_ptr<Session> Compile(const model::Model& model,
                                   const SessionOptions& options) const override;
};

}  // namespace plaster::engine
