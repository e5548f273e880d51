#include "power/source.h"

namespace plaster::power {

Discovery DiscoverSources(const SourceOptions& options) {
  Discovery found;
  DiscoverPowercap(options, found);
  DiscoverHwmon(options, found);
  DiscoverNvml(options, found);
  DiscoverExternal(options, found);
  DiscoverEstimate(options, found);  // last: used only when nothing measures
  return found;
}

}  // namespace plaster::power
