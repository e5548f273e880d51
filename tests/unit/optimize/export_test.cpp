// optimize/export.h: an int8 recommendation from an engine that keeps its ranges to itself
// (opencv quantizes inside OpenCV) is refused, not written as a QDQ file without ranges.
#include "optimize/export.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "engine/tensor_file.h"
#include "support/fixtures.h"

namespace plaster::optimize {
namespace {

TEST(Export, RefusesAnInt8WhoseRangesTheEngineDidNotGive) {
  plaster::testing::TempDir dir;
  engine::HostTensor calibration(onnx::TensorProto::FLOAT, {4, 3, 32, 32});
  for (int64_t k = 0; k < calibration.NumElements(); ++k) {
    calibration.mutable_data_as<float>()[k] = static_cast<float>(k % 7) / 7.0f;
  }
  engine::WriteNpy(dir / "calib.npy", calibration);
  OptimizeOptions o;
  o.model = "builtin:resnet8";
  o.data.calibration = (dir / "calib.npy").string();
  o.jsonl_path = (dir / "r.jsonl").string();
  const std::string id = "opencv/cpu/int8/b1/t2";
  const nlohmann::ordered_json record = {
      {"recommendation", {{"case", id}, {"reason", "the most throughput"}}},
      {"cases",
       {{{"id", id}, {"engine", "opencv"}, {"device", "cpu"}, {"precision", "int8"}, {"batch", 1},
         {"threads", 2}, {"metrics", nlohmann::ordered_json::array()}}}}};
  const std::string path = (dir / "out.onnx").string();
  EXPECT_EQ(plaster::testing::ErrorOf([&] { ExportRecommended(o, record, path); }),
            "--export " + path +
                ": engine 'opencv' quantizes to int8 inside its own library and does not give "
                "plaster its activation ranges, so its int8 cannot be written as a QDQ file (the "
                "torch engine's can)");
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace plaster::optimize
