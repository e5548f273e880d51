#include "cli/model_source.h"

#include "core/error.h"
#include "model/builtin_model.h"

namespace plaster::cli {

model::Model LoadModelSource(const std::string& source, const model::LoadOptions& options) {
  if (source.rfind("builtin:", 0) == 0) {
    PLASTER_CHECK(source == model::kBuiltinModelName, "unknown built-in model '{}' (there is {})",
                  source, model::kBuiltinModelName);
    return model::Model::FromBytes(model::BuiltinModelBytes(), source, options);
  }
  return model::Model::FromFile(source, options);
}

}  // namespace plaster::cli
