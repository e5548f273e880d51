// make_fuzz_seeds DIR: writes the seed corpus for size_fuzzer into DIR (created if needed): the
// built-in model and a few small models that reach the loader's and the analysis's main paths.

#include <onnx/onnx_pb.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/builder.h"
#include "model/builtin_model.h"

namespace {

using onnx::TensorProto;
using plaster::model::ModelBuilder;

std::vector<float> Filled(size_t n, float value) { return std::vector<float>(n, value); }

// x[2,8] · W[8,4] + b[4] -> Softmax.
std::string MatMulAddSoftmax() {
  ModelBuilder b("mlp");
  b.Input("x", TensorProto::FLOAT, {"batch", 8});
  b.Initializer("W", {8, 4}, Filled(32, 0.5f));
  b.Initializer("b", {4}, Filled(4, 0.1f));
  b.Node("MatMul", {"x", "W"}, {"xw"});
  b.Node("Add", {"xw", "b"}, {"logits"});
  b.Node("Softmax", {"logits"}, {"probs"}).Int("axis", -1);
  b.Output("probs", TensorProto::FLOAT, {"batch", 4});
  return b.Serialize();
}

// A one-layer LSTM over x[seq=5, batch=1, input=3], hidden 4.
std::string Lstm() {
  ModelBuilder b("lstm");
  b.Input("x", TensorProto::FLOAT, {5, 1, 3});
  b.Initializer("W", {1, 16, 3}, Filled(48, 0.1f));
  b.Initializer("R", {1, 16, 4}, Filled(64, 0.1f));
  b.Initializer("B", {1, 32}, Filled(32, 0.0f));
  b.Node("LSTM", {"x", "W", "R", "B"}, {"Y", "Y_h"}).Int("hidden_size", 4);
  b.Output("Y", TensorProto::FLOAT, {5, 1, 1, 4});
  b.Output("Y_h", TensorProto::FLOAT, {1, 1, 4});
  return b.Serialize();
}

// Flatten the last two axes the way exporters do: Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape, which only has a static shape once shape folding has run.
std::string ReshapeFromShape() {
  ModelBuilder b("reshape");
  b.Input("x", TensorProto::FLOAT, {2, 3, 4});
  b.InitializerInt64("i0", {}, {0});
  b.InitializerInt64("minus1", {1}, {-1});
  b.Node("Shape", {"x"}, {"shape"});
  b.Node("Gather", {"shape", "i0"}, {"d0"}).Int("axis", 0);
  b.InitializerInt64("axes0", {1}, {0});
  b.Node("Unsqueeze", {"d0", "axes0"}, {"d0_1d"});
  b.Node("Concat", {"d0_1d", "minus1"}, {"target"}).Int("axis", 0);
  b.Node("Reshape", {"x", "target"}, {"flat"});
  b.Node("Relu", {"flat"}, {"y"});
  b.Output("y", TensorProto::FLOAT, {2, 12});
  return b.Serialize();
}

// Conv + MaxPool + Gemm with an exporter-style folded-BatchNorm weight name.
std::string ConvPoolGemm() {
  ModelBuilder b("cnn", 13);
  b.Input("image", TensorProto::FLOAT, {1, 1, 8, 8});
  b.Initializer("onnx::Conv_1", {2, 1, 3, 3}, Filled(18, 0.2f));
  b.Initializer("conv.bias", {2}, Filled(2, 0.0f));
  b.Node("Conv", {"image", "onnx::Conv_1", "conv.bias"}, {"c"})
      .Ints("kernel_shape", {3, 3})
      .Ints("pads", {1, 1, 1, 1});
  b.Node("MaxPool", {"c"}, {"p"}).Ints("kernel_shape", {2, 2}).Ints("strides", {2, 2});
  b.Node("Flatten", {"p"}, {"f"}).Int("axis", 1);
  b.Initializer("fc.w", {3, 32}, Filled(96, 0.01f));
  b.Node("Gemm", {"f", "fc.w"}, {"out"}).Int("transB", 1);
  b.Output("out", TensorProto::FLOAT, {1, 3});
  return b.Serialize();
}

// A residual block with BatchNorm, small enough to survive -max_len=65536 (the built-in model,
// ~320 KB, is truncated to max_len when libFuzzer loads it), its nodes deliberately out of
// topological order (the loader sorts them), and a Shape -> Slice (Range-made starts) -> Reshape
// chain for the shape folding.
std::string TinyResidual() {
  ModelBuilder b("tiny_residual", 11);
  b.Input("x", TensorProto::FLOAT, {1, 2, 4, 4});
  b.Initializer("w", {2, 2, 3, 3}, Filled(36, 0.1f));
  for (const char* p : {"bn.scale", "bn.bias", "bn.mean", "bn.var"}) {
    b.Initializer(p, {2}, Filled(2, 1.0f));
  }
  b.Node("Add", {"bn", "x"}, {"sum"}, "add");  // before its producer: out of order on purpose
  b.Node("Conv", {"x", "w"}, {"conv"}, "conv")
      .Ints("kernel_shape", {3, 3})
      .Ints("pads", {1, 1, 1, 1});
  b.Node("BatchNormalization", {"conv", "bn.scale", "bn.bias", "bn.mean", "bn.var"}, {"bn"}, "bn")
      .Float("epsilon", 1e-5f);
  b.Node("Relu", {"sum"}, {"act"});
  b.Node("GlobalAveragePool", {"act"}, {"pool"});
  b.Node("Shape", {"pool"}, {"pool_shape"});
  b.InitializerInt64("zero", {}, {0});
  b.InitializerInt64("one", {}, {1});
  b.InitializerInt64("ends", {1}, {2});
  b.Node("Range", {"zero", "one", "one"}, {"starts"});  // [0]
  b.Node("Slice", {"pool_shape", "starts", "ends"}, {"head"});
  b.Node("Reshape", {"pool", "head"}, {"y"});
  b.Output("y", TensorProto::FLOAT, {1, 2});
  return b.Serialize();
}

bool Write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return out.good();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::vector<std::pair<const char*, std::string>> seeds = {
      {"builtin_resnet8.onnx", plaster::model::BuiltinModelBytes()},
      {"matmul_add_softmax.onnx", MatMulAddSoftmax()},
      {"lstm.onnx", Lstm()},
      {"reshape_shape_gather_concat.onnx", ReshapeFromShape()},
      {"conv_pool_gemm.onnx", ConvPoolGemm()},
      {"tiny_residual_unsorted.onnx", TinyResidual()},
  };
  for (const auto& [name, bytes] : seeds) {
    if (!Write(dir / name, bytes)) {
      std::fprintf(stderr, "%s: cannot write %s\n", argv[0], (dir / name).c_str());
      return 1;
    }
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
  return 0;
}
