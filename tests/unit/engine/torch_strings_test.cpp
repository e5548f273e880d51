// String tensors through the torch engine (ops_strings.cpp): StringNormalizer drops stopwords
// and changes case with Unicode's simple case mapping; invalid UTF-8 is an error naming the node.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "core/error.h"
#include "engine/registry.h"
#include "model/builder.h"

namespace plaster::engine {
namespace {

model::Model Normalizer(const char* action, int sensitive) {
  model::ModelBuilder b("strnorm", 12);
  b.Input("x", onnx::TensorProto::STRING, {1, "c"});
  auto node = b.Node("StringNormalizer", {"x"}, {"y"}, "norm");
  node.String("case_change_action", action).Int("is_case_sensitive", sensitive);
  auto* attr = b.proto().mutable_graph()->mutable_node(0)->add_attribute();
  attr->set_name("stopwords");
  attr->set_type(onnx::AttributeProto::STRINGS);
  attr->add_strings("the");
  b.Output("y", onnx::TensorProto::STRING, {1, "d"});
  model::LoadOptions load;
  load.shapes.push_back({"x", {1, 4}, "test"});
  return model::Model::FromBytes(b.Serialize(), "strnorm.onnx", load);
}

std::vector<std::string> Normalize(const model::Model& m, std::vector<std::string> words) {
  auto session = FindEngine("torch").Compile(m, {});
  const auto out = session->Run({HostTensor::Strings({1, 4}, std::move(words))});
  EXPECT_EQ(out.at(0).shape(),
            (std::vector<int64_t>{1, static_cast<int64_t>(out[0].strings().size())}));
  return out.at(0).strings();
}

TEST(TorchStrings, StopwordsDropCaseInsensitivelyThenCaseChanges) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Normalize(Normalizer("UPPER", 0), {"The", "Straße", "ÉTÉ", "the"}),
            (V{"STRAßE", "ÉTÉ"}))
      << "simple case mapping keeps ß one letter: glibc maps it to itself";
}

TEST(TorchStrings, CaseSensitiveStopwordsKeepOtherSpellings) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Normalize(Normalizer("LOWER", 1), {"The", "ÉTÉ", "the", "x"}), (V{"the", "été", "x"}));
}

TEST(TorchStrings, AllDroppedLeavesOneEmptyString) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Normalize(Normalizer("NONE", 0), {"the", "THE", "The", "tHe"}), (V{""}));
}

TEST(TorchStrings, InvalidUtf8IsAnErrorNamingTheNode) {
  auto session = FindEngine("torch").Compile(Normalizer("LOWER", 0), {});
  try {
    session->Run({HostTensor::Strings({1, 4}, {"a", "b", "\xC3", "c"})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'norm' (StringNormalizer)"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("element 2 is not valid UTF-8"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace plaster::engine
