#pragma once
/// The engine contract. An Engine is a runtime (torch, opencv, ...): it says which devices and
/// precisions it offers, reports per node whether it can run a model (this feeds the P letter),
/// and compiles a model into Sessions.
///
/// Threading: an Engine is immutable after registration and may be used from any thread. A
/// Session serves one request at a time (Run is not reentrant); concurrency comes from several
/// Sessions or from batching. Inputs are staged as HostTensors before any clock starts, so Run
/// measures the engine, not the caller's data preparation.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/host_tensor.h"
#include "model/model.h"

namespace plaster::engine {

enum class Device { kCpu, kCuda };
enum class Precision { kFp32, kBf16, kFp16, kInt8 };

const char* DeviceName(Device device);
const char* PrecisionName(Precision precision);
/// "fp32", "bf16", "fp16", "int8" → Precision; plaster::Error naming --precision otherwise.
Precision ParsePrecision(const std::string& name);

/// What a session's input or output looks like; dims the model leaves symbolic are bound at
/// compile time (batch, --shape), so an input's shape is fully known. An output dim that depends
/// on the input *values* (NonZero, Unique, a sequence's concatenation) is -1; the tensors Run
/// returns have their actual shapes.
struct TensorSpec {
  std::string name;
  int32_t dtype = 0;
  std::vector<int64_t> shape;
};

/// How static int8 quantization picks each activation's range from the calibration data.
enum class CalibrationMethod {
  kMinMax,      ///< the largest magnitude seen
  kPercentile,  ///< the magnitude below which a set share of the values fall
  kEntropy,     ///< the clipping threshold that loses least information (KL divergence), as
                ///< TensorRT's entropy calibrator
};
/// "minmax", "percentile", "entropy".
const char* CalibrationMethodName(CalibrationMethod method);
/// The reverse; plaster::Error naming --calibration-method otherwise.
CalibrationMethod ParseCalibrationMethod(const std::string& name);

/// Representative inputs for static int8 quantization, handed out one batch at a time at the
/// session's input shapes so that memory stays bounded; an engine may read them more than once.
class CalibrationData {
 public:
  virtual ~CalibrationData() = default;
  virtual int64_t batches() const = 0;
  /// Batch `index` (0 ≤ index < batches()), matching the session's inputs.
  virtual std::vector<HostTensor> Batch(int64_t index) = 0;
  /// For the record: "cnn_calib.npz: 512 samples in 8 batches".
  virtual std::string Describe() const = 0;
};

/// An int8 session's quantization. With calibration data it is static: every convolution and
/// matrix product with constant weights gets its input's range from the data. Without, only
/// matrix products are quantized, dynamically (their input's range measured at each run).
struct QuantizationOptions {
  /// What a calibration chose, by tensor name: one activation's int8 clipping threshold and
  /// whether it stays non-negative. The sessions of one command (several sessions, the batch
  /// sizes of a search) share it through copies of these options and calibrate once.
  struct Range {
    float threshold = 0;
    bool is_unsigned = false;
  };
  struct Calibrated {
    bool done = false;
    std::string model;  ///< which model the ranges are for (its name and size): another recalibrates
    std::map<std::string, Range> ranges;
    /// Mixed precision: the products kept in float32 for their sensitivity, by node name, each
    /// with the reason.
    std::map<std::string, std::string> keep_float;
    std::string description;  ///< PrecisionReport::quantization
  };
  std::shared_ptr<CalibrationData> calibration;
  std::shared_ptr<Calibrated> calibrated = std::make_shared<Calibrated>();
  CalibrationMethod method = CalibrationMethod::kEntropy;
  double percentile = 99.99;  ///< kPercentile: the share of |x| kept unclipped, in percent
  /// Mixed precision (static only; the torch engine's Note [Int8 sensitivity]): with a value,
  /// every convolution and product whose input, quantized alone, moves the model's first output
  /// by more than this (relative L2 error on the calibration data) stays float32.
  std::optional<double> layer_tolerance;
};

struct SessionOptions {
  Device device = Device::kCpu;
  Precision precision = Precision::kFp32;
  int threads = 0;  ///< 0: the engine's default (all cores)
  /// The engine's graph optimizations (fusion, layouts); false runs every node by its own
  /// kernel, for checking an optimization or measuring what it gains.
  bool optimize = true;
  QuantizationOptions quantization;  ///< int8 sessions only
};

/// Whether an engine can run one node, and why not.
struct NodeSupport {
  std::string node;
  std::string op_type;
  bool supported = false;
  std::string reason;  ///< when not supported
};

struct SupportReport {
  std::vector<NodeSupport> nodes;  ///< in the model's topological order
  int SupportedCount() const;
  bool AllSupported() const { return SupportedCount() == static_cast<int>(nodes.size()); }
};

/// The time of one part of a run: a node, or a group the engine fused (named after its first
/// node, with every node it covers).
struct StepTime {
  std::string label;               ///< "'Conv_3' (Conv)"
  std::vector<std::string> nodes;  ///< node names covered; empty for "the whole model"
  int64_t duration_ns = 0;
  std::string fused;  ///< for a fused group, what it computes ("GELU"); else empty
  /// The library kernel that ran it, as the engine names it ("oneDNN brgconv_1x1:avx512_core",
  /// "ATen"); empty when the engine does not say.
  std::string kernel;
};

/// Which precision a session really computes in: the one requested for the compute-heavy nodes
/// (Conv, ConvTranspose, MatMul, Gemm, LSTM, GRU, RNN), and each such node kept in a higher
/// precision and why (`supported` unused). An engine that runs every node in the requested
/// precision keeps none.
struct PrecisionReport {
  Precision requested = Precision::kFp32;
  int compute_nodes = 0;          ///< Conv/ConvTranspose/MatMul/Gemm nodes the session runs
  std::vector<NodeSupport> kept;  ///< those computed in float32 instead, with the reason
  /// How the CPU computes the requested precision: "native (AVX512-BF16)", "emulated (AVX-512
  /// without BF16 instructions: correct, not faster)"; empty for fp32.
  std::string hardware;
  /// int8: how it was quantized ("static: activation ranges by entropy (KL) on cnn_calib.npz:
  /// 512 samples in 8 batches; weights symmetric per output channel"); empty otherwise.
  std::string quantization;
  /// int8: the calibration pass's wall time, part of compiling; 0 when the session took its
  /// ranges from an earlier session or a calibration cache.
  double calibration_seconds = 0;
  /// "bf16: 53 of 53 compute nodes" or "bf16: 50 of 53 compute nodes (3 kept in fp32)".
  std::string Summary() const;
};

class Session {
 public:
  virtual ~Session() = default;
  virtual const std::vector<TensorSpec>& inputs() const = 0;
  virtual const std::vector<TensorSpec>& outputs() const = 0;
  /// Runs one inference. inputs must match inputs() in order, dtype and shape (plaster::Error
  /// otherwise, naming the input). Throws plaster::Error naming the node when the engine fails.
  virtual std::vector<HostTensor> Run(const std::vector<HostTensor>& inputs) = 0;
  /// Runs one inference like Run and says how long each part took, in execution order. An
  /// engine that cannot see inside its run reports one part for the whole model (the default).
  virtual std::vector<StepTime> Profile(const std::vector<HostTensor>& inputs);
  /// What precision the session computes in, node by node where it differs from the request.
  /// The default suits an engine that runs fp32 only.
  virtual PrecisionReport precision_report() const { return {}; }
};

struct TrainingOptions;
class Trainer;

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  /// One line: what the engine is and what it runs on ("LibTorch 1.13.1, oneDNN 2.6.3").
  virtual std::string description() const = 0;
  virtual std::vector<Device> devices() const = 0;
  virtual std::vector<Precision> precisions(Device device) const = 0;
  /// Whether an offered precision is emulated on device: computed so that its accuracy is the
  /// precision's but its speed is not (the torch engine's fp16 on CPU). `plaster optimize`
  /// leaves such precisions out unless asked.
  virtual bool Emulates(Device /*device*/, Precision /*precision*/) const { return false; }
  /// The libraries it runs on and their versions ({"LibTorch", "1.13.1"}), for the record's
  /// context; none by default.
  virtual std::vector<std::pair<std::string, std::string>> Libraries() const { return {}; }
  virtual SupportReport Support(const model::Model& model) const = 0;
  /// Compiles model for options. Throws plaster::Error for an unsupported node (named), device
  /// or precision.
  virtual std::unique_ptr<Session> Compile(const model::Model& model,
                                           const SessionOptions& options) const = 0;
  /// Prepares `model` for training (trainer.h). plaster::Error by default: the engine cannot
  /// train.
  virtual std::unique_ptr<Trainer> Train(const model::Model& model,
                                         const TrainingOptions& options) const;
};

/// A generated input for spec: floats from a seeded normal distribution (per input name, so
/// adding an input does not change the others), integers and bools zero (safe as indices and
/// token ids).
HostTensor GenerateInput(const TensorSpec& spec, uint64_t seed);

/// Checks inputs against specs: count, dtype and shape, each mismatch named.
void CheckInputs(const std::vector<TensorSpec>& specs, const std::vector<HostTensor>& inputs);

/// The bound input and output specs of a loaded model (its graph inputs and outputs). Throws
/// plaster::Error when a shape is not fully known.
std::vector<TensorSpec> InputSpecs(const model::Model& model);
std::vector<TensorSpec> OutputSpecs(const model::Model& model);

}  // namespace plaster::engine
