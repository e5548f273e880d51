#include "model/model_source.h"

#include "core/error.h"
#include "model/builtin_model.h"

namespace plaster::model {

Model LoadModelSource(const std::string& source, const LoadOptions& options) {
  if (source.rfind("builtin:", 0) == 0) {
    PLASTER_CHECK(source == kBuiltinModelName, "unknown built-in model '{}' (there is {})",
                  source, kBuiltinModelName);
    return Model::FromBytes(BuiltinModelBytes(), source, options);
  }
  return Model::FromFile(source, options);
}

}  // namespace plaster::model
