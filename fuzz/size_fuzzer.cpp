// libFuzzer target: the ONNX loader, the Size analysis and both of its renderings.
// Any input must end in a report or a plaster::Error; every other outcome (another exception,
// a crash, a sanitizer report, an abort from PLASTER_ASSERT) is a finding. See docs/fuzzing.md.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "core/error.h"
#include "model/model.h"
#include "model/size_analysis.h"
#include "report/size_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const plaster::model::Model model = plaster::model::Model::FromBytes(bytes, "fuzz");
    const plaster::model::SizeReport report = plaster::model::AnalyzeSize(model);
    const std::string json = plaster::report::SizeJson(report).dump();
    std::ostringstream text;
    plaster::report::PrintSizeText(report, plaster::report::SizeTextOptions{}, text);
  } catch (const plaster::Error&) {
    // Bad input, reported as such: the expected outcome for most inputs.
  }
  return 0;
}
