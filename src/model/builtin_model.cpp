#include "model/builtin_model.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "model/builder.h"

namespace plaster::model {
namespace {

// Weights come from SplitMix64 and Box-Muller written out here, not std::normal_distribution,
// whose output differs between standard libraries: the model must be bit-identical everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  double Uniform() {  // [0, 1)
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

class Resnet8 {
 public:
  Resnet8() : b_("resnet8"), rng_(20181) {}

  std::string Build() {
    b_.Input("image", onnx::TensorProto::FLOAT, {"batch", 3, 32, 32});
    std::string x = ConvBnRelu("stem", "image", 3, 16, 1);
    x = Block("stage1", x, 16, 16, 1);
    x = Block("stage2", x, 16, 32, 2);
    x = Block("stage3", x, 32, 64, 2);
    b_.Node("GlobalAveragePool", {x}, {"pool"}, "pool");
    b_.Node("Flatten", {"pool"}, {"features"}, "flatten").Int("axis", 1);
    Weights("fc.weight", {10, 64}, std::sqrt(1.0 / 64));
    Uniform("fc.bias", {10}, -0.05, 0.05);
    b_.Node("Gemm", {"features", "fc.weight", "fc.bias"}, {"logits"}, "fc").Int("transB", 1);
    b_.Output("logits", onnx::TensorProto::FLOAT, {"batch", 10});
    return b_.Serialize();
  }

 private:
  void Weights(const std::string& name, const std::vector<int64_t>& dims, double stddev) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<float>(rng_.Normal() * stddev);
    b_.Initializer(name, dims, v);
  }
  void Uniform(const std::string& name, const std::vector<int64_t>& dims, double lo, double hi) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<float>(rng_.Uniform(lo, hi));
    b_.Initializer(name, dims, v);
  }

  // Conv (He-initialised, no bias) + BatchNormalization (+ Relu).
  std::string ConvBn(const std::string& name, const std::string& in, int64_t cin, int64_t cout,
                     int64_t kernel, int64_t stride) {
    Weights(name + ".weight", {cout, cin, kernel, kernel},
            std::sqrt(2.0 / static_cast<double>(cin * kernel * kernel)));
    const int64_t pad = kernel / 2;
    b_.Node("Conv", {in, name + ".weight"}, {name + ".conv"}, name)
        .Ints("kernel_shape", {kernel, kernel})
        .Ints("strides", {stride, stride})
        .Ints("pads", {pad, pad, pad, pad});
    Uniform(name + ".bn.scale", {cout}, 0.5, 1.0);
    Uniform(name + ".bn.bias", {cout}, -0.1, 0.1);
    Uniform(name + ".bn.mean", {cout}, -0.1, 0.1);
    Uniform(name + ".bn.var", {cout}, 0.5, 1.5);
    b_.Node("BatchNormalization",
            {name + ".conv", name + ".bn.scale", name + ".bn.bias", name + ".bn.mean",
             name + ".bn.var"},
            {name + ".bn"}, name + ".bn")
        .Float("epsilon", 1e-5f);
    return name + ".bn";
  }
  std::string ConvBnRelu(const std::string& name, const std::string& in, int64_t cin, int64_t cout,
                         int64_t stride) {
    std::string y = ConvBn(name, in, cin, cout, 3, stride);
    b_.Node("Relu", {y}, {name + ".relu"}, name + ".relu");
    return name + ".relu";
  }
  // A basic residual block: two 3×3 convolutions, and a 1×1 projection when the shape changes.
  std::string Block(const std::string& name, const std::string& in, int64_t cin, int64_t cout,
                    int64_t stride) {
    std::string y = ConvBnRelu(name + ".conv1", in, cin, cout, stride);
    y = ConvBn(name + ".conv2", y, cout, cout, 3, 1);
    std::string shortcut = in;
    if (stride != 1 || cin != cout) shortcut = ConvBn(name + ".proj", in, cin, cout, 1, stride);
    b_.Node("Add", {y, shortcut}, {name + ".add"}, name + ".add");
    b_.Node("Relu", {name + ".add"}, {name + ".out"}, name + ".out");
    return name + ".out";
  }

  ModelBuilder b_;
  Rng rng_;
};

}  // namespace

const std::string& BuiltinModelBytes() {
  static const std::string* bytes = new std::string(Resnet8().Build());
  return *bytes;
}

}  // namespace plaster::model
