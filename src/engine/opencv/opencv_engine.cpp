// The opencv engine: OpenCV DNN's ONNX importer and layers behind plaster's Engine contract.
//
// Note [OpenCV import]: OpenCV has no per-node support query; its importer either takes the whole
// graph or throws at the first node it cannot take. Support() therefore imports the model (from
// memory: the bound ModelProto, serialized), and when that fails imports it again in OpenCV's
// diagnostic mode (cv::dnn::enableModelDiagnostics), where the importer logs every node it cannot
// take and goes on. That log (OpenCV's logger writes to stderr) names each failing node with
// OpenCV's reason; the nodes it does not name imported. The diagnostic import runs in a child
// process, as it can crash (Diagnose). A successful import is kept for the Compile that follows,
// so a cold start imports once. OpenCV's own logging is otherwise silenced: plaster reports the
// failures.

#include "engine/opencv/opencv_engine.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <sstream>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "core/error.h"
#include "core/forked.h"
#include "engine/opencv/import_error.h"
#include "model/dtype.h"

namespace plaster::engine {
namespace {

using opencv_engine::ImportFailure;
using plaster::ForkedOutcome;
using plaster::RunForked;

// The ONNX ops whose nodes carry a model's arithmetic (PrecisionReport::compute_nodes).
bool IsComputeOp(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "MatMul" || op == "Gemm" ||
         op == "LSTM" || op == "GRU" || op == "RNN";
}

// OpenCV's float layers that hold a model's arithmetic; after Net::quantize each becomes its
// "...Int8" form where OpenCV has one.
bool IsComputeLayer(const std::string& type) {
  return type == "Convolution" || type == "Deconvolution" || type == "InnerProduct" ||
         type == "MatMul" || type == "LSTM" || type == "GRU" || type == "RNN";
}

// "onnx_node!NAME" → NAME; other layer names as they are.
std::string NodeOfLayer(const std::string& layer) {
  const size_t bang = layer.find('!');
  return bang == std::string::npos ? layer : layer.substr(bang + 1);
}

// The plaster node a name from OpenCV means: a node's own name, or (for a node without one,
// which OpenCV calls after its first output) the node that writes that tensor.
const model::NodeInfo* FindNode(const model::Graph& g, const std::string& name) {
  for (const auto& node : g.nodes()) {
    if (node.name == name) return &node;
  }
  for (const auto& node : g.nodes()) {
    if (!node.outputs.empty() && node.outputs[0] >= 0 && g.tensor(node.outputs[0]).name == name) {
      return &node;
    }
  }
  return nullptr;
}

std::string ModelBytes(const model::Model& m) {
  std::string bytes;
  PLASTER_CHECK(m.proto().SerializeToString(&bytes), "{}: could not serialize the model for OpenCV",
                m.display_name());
  return bytes;
}

// What an import failure means for the user: the node in plaster's name for it.
std::string Describe(const model::Graph& g, const ImportFailure& f) {
  if (f.node.empty()) return "OpenCV's ONNX importer failed: " + f.reason;
  const model::NodeInfo* node = FindNode(g, f.node);
  return fmt::format("node '{}' ({}): {}", node ? node->name : f.node,
                     node ? node->op_type : f.op_type, f.reason);
}

// Imports through OpenCV's ONNX importer; plaster::Error "unsupported: node X (op Y): reason"
// when it fails (Note [OpenCV import]).
cv::dnn::Net Import(const model::Model& m, const std::string& bytes) {
  try {
    return cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  } catch (const cv::Exception& e) {
    Fail("unsupported: {} (OpenCV's ONNX importer)",
         Describe(m.graph(), opencv_engine::ParseImportError(e.what())));
  }
}

// The diagnostic import's failures (Note [OpenCV import]). It runs in a child process (Note
// [Forked calls] in core/forked.h): going on past a node it could not take, OpenCV 4.6's importer
// can read past the end of a later node's inputs and die (a protobuf CHECK, then SIGSEGV; seen on
// 8 of ONNX's 1072 backend cases). The child's stderr, where OpenCV logs each failing node as it
// meets it, is kept, so the nodes logged before such a crash still count; a child that hangs is
// killed after kDiagnoseTimeout.
constexpr std::chrono::seconds kDiagnoseTimeout{120};

std::vector<ImportFailure> Diagnose(const std::string& bytes) {
  const ForkedOutcome child = RunForked(
      [&] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
        cv::dnn::enableModelDiagnostics(true);
        try {
          cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
        } catch (...) {  // what it logged is what we want
        }
        std::cerr << std::flush;
        return std::string();
      },
      kDiagnoseTimeout);
  return opencv_engine::ParseDiagnosticLog(child.err);
}

// Why OpenCV cannot take a graph input or give a graph output of this dtype, or empty. Its blobs
// are float32: integers convert exactly up to 2^24; there is no float16, bfloat16 or string
// input, nor float16, bfloat16, string or 64-bit unsigned output.
std::string DtypeProblem(int32_t dtype, bool input) {
  switch (dtype) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      return "";
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
      if (!input) return "";
      break;
    default:
      break;
  }
  return fmt::format("OpenCV DNN computes in float32 and takes no {} {}", model::DtypeName(dtype),
                     input ? "inputs" : "outputs");
}

int ThreadCount(int threads) {
  return threads > 0 ? threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::vector<int> Dims(const std::vector<int64_t>& shape) {
  std::vector<int> dims;
  for (int64_t d : shape) dims.push_back(static_cast<int>(d));
  if (dims.empty()) dims.push_back(1);  // a scalar: OpenCV's blobs have at least one dim
  return dims;
}

// A float32 blob for an input: borrowed when it is float32 already, else converted (OpenCV DNN
// computes in float32; integers up to 2^24 convert exactly).
cv::Mat InputBlob(const HostTensor& t) {
  const std::vector<int> dims = Dims(t.shape());
  if (t.dtype() == onnx::TensorProto::FLOAT) {
    return cv::Mat(static_cast<int>(dims.size()), dims.data(), CV_32F, const_cast<char*>(t.data()));
  }
  cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F);
  auto* out = blob.ptr<float>();
  const int64_t n = t.NumElements();
  auto cast_from = [&](const auto* in) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
  };
  switch (t.dtype()) {
    case onnx::TensorProto::INT64: cast_from(t.data_as<int64_t>()); break;
    case onnx::TensorProto::INT32: cast_from(t.data_as<int32_t>()); break;
    case onnx::TensorProto::BOOL:
    case onnx::TensorProto::UINT8: cast_from(t.data_as<uint8_t>()); break;
    case onnx::TensorProto::INT8: cast_from(t.data_as<int8_t>()); break;
    case onnx::TensorProto::DOUBLE: cast_from(t.data_as<double>()); break;
    default:
      Fail("engine 'opencv' takes numeric inputs only; this one is {}", t.Describe());
  }
  return blob;
}

// An output blob as the model's output: its dtype, and the model's shape when the element count
// agrees (OpenCV keeps at least two dims, and may add or drop ones of size 1).
HostTensor OutputTensor(const TensorSpec& spec, const cv::Mat& blob) {
  PLASTER_CHECK(blob.depth() == CV_32F, "output '{}': OpenCV returned a blob of type {}",
                spec.name, blob.type());
  const cv::Mat dense = blob.isContinuous() ? blob : blob.clone();
  std::vector<int64_t> shape;
  for (int d = 0; d < dense.dims; ++d) shape.push_back(dense.size[d]);
  const auto n = static_cast<int64_t>(dense.total());
  int64_t expected = 1;
  bool known = true;
  for (int64_t d : spec.shape) {
    known = known && d >= 0;
    expected *= d;
  }
  if (known) {
    PLASTER_CHECK(expected == n, "output '{}' came out with {} values; the model says {}",
                  spec.name, n, expected);
    shape = spec.shape;
  }
  HostTensor t(spec.dtype, shape);
  const auto* in = dense.ptr<float>();
  auto cast_into = [&](auto* out) {
    using T = std::remove_pointer_t<decltype(out)>;
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(in[i]);
  };
  switch (spec.dtype) {
    case onnx::TensorProto::FLOAT: cast_into(t.mutable_data_as<float>()); break;
    case onnx::TensorProto::DOUBLE: cast_into(t.mutable_data_as<double>()); break;
    case onnx::TensorProto::INT64: cast_into(t.mutable_data_as<int64_t>()); break;
    case onnx::TensorProto::INT32: cast_into(t.mutable_data_as<int32_t>()); break;
    case onnx::TensorProto::INT16: cast_into(t.mutable_data_as<int16_t>()); break;
    case onnx::TensorProto::UINT16: cast_into(t.mutable_data_as<uint16_t>()); break;
    case onnx::TensorProto::INT8: cast_into(t.mutable_data_as<int8_t>()); break;
    case onnx::TensorProto::UINT8: cast_into(t.mutable_data_as<uint8_t>()); break;
    case onnx::TensorProto::BOOL:
      for (int64_t i = 0; i < n; ++i) t.mutable_data_as<uint8_t>()[i] = in[i] != 0 ? 1 : 0;
      break;
    default:
      Fail("output '{}': engine 'opencv' cannot return {} tensors", spec.name, spec.dtype);
  }
  return t;
}

// Note [OpenCV int8]: OpenCV's post-training quantization (Net::quantize) runs one forward pass
// over the calibration data, handed to it as one blob per input, and takes each activation's
// min/max range from it; weights are quantized per output channel. Its only method is min/max,
// so --calibration-method does not apply (the description says so). The calibration batches are
// concatenated along the batch axis, up to kMaxCalibrationSamples samples, to bound memory.
// Inputs and outputs stay float32 (CV_32F), as a user of plaster's other engines expects.
constexpr int64_t kMaxCalibrationSamples = 128;

class OpenCvSession final : public Session {
 public:
  OpenCvSession(const model::Model& m, cv::dnn::Net net, const SessionOptions& options,
                cv::dnn::Backend backend, cv::dnn::Target target)
      : inputs_(InputSpecs(m)), outputs_(OutputSpecs(m)), net_(std::move(net)) {
    threads_ = ThreadCount(options.threads);
    cv::setNumThreads(threads_);
    for (const auto& spec : inputs_) {
      PLASTER_CHECK(spec.dtype != onnx::TensorProto::STRING,
                    "unsupported: input '{}' holds strings (engine 'opencv')", spec.name);
    }
    for (const auto& spec : outputs_) output_names_.push_back(spec.name);
    report_.requested = options.precision;
    for (const auto& node : m.graph().nodes()) {
      report_.compute_nodes += IsComputeOp(node.op_type);
      op_types_[node.name] = node.op_type;
    }
    if (options.precision == Precision::kInt8) {
      Quantize(m, options);
      // The quantized net ends each output in a Dequantize layer of its own, named after it.
      for (auto& name : output_names_) {
        if (net_.getLayerId("dequantize/" + name) >= 0) name = "dequantize/" + name;
      }
    }
    net_.setPreferableBackend(backend);
    net_.setPreferableTarget(target);
    // --no-optimize: OpenCV's own fusions (BatchNormalization, activations into the layer before)
    // off, every layer on its own.
    if (!options.optimize) net_.enableFusion(false);
  }

  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  PrecisionReport precision_report() const override { return report_; }

  std::vector<HostTensor> Run(const std::vector<HostTensor>& inputs) override {
    CheckInputs(inputs_, inputs);
    // OpenCV's thread count is process-wide: another session may have changed it.
    if (cv::getNumThreads() != threads_) cv::setNumThreads(threads_);
    std::vector<cv::Mat> outs;
    try {
      for (size_t k = 0; k < inputs.size(); ++k) net_.setInput(InputBlob(inputs[k]), inputs_[k].name);
      net_.forward(outs, output_names_);
    } catch (const cv::Exception& e) {
      Fail("engine 'opencv' failed to run the model: {}", opencv_engine::ShortenReason(e.what()));
    }
    PLASTER_CHECK(outs.size() == outputs_.size(), "engine 'opencv' returned {} outputs; the model has {}",
                  outs.size(), outputs_.size());
    std::vector<HostTensor> results;
    for (size_t k = 0; k < outs.size(); ++k) results.push_back(OutputTensor(outputs_[k], outs[k]));
    return results;
  }

  // OpenCV's profiler (Net::getPerfProfile): the time of each layer in the last forward pass. A
  // layer OpenCV fused into the one before it (a ReLU, a BatchNormalization into a convolution)
  // reports no time; it is counted in that layer's step.
  std::vector<StepTime> Profile(const std::vector<HostTensor>& inputs) override {
    Run(inputs);
    std::vector<double> ticks;
    net_.getPerfProfile(ticks);
    const std::vector<cv::String> names = net_.getLayerNames();
    const double ns_per_tick = 1e9 / cv::getTickFrequency();
    std::vector<StepTime> steps;
    for (size_t i = 0; i < ticks.size() && i < names.size(); ++i) {
      const std::string node = NodeOfLayer(names[i]);
      if (ticks[i] <= 0 && !steps.empty()) {  // fused into the step before: "Conv+Relu"
        steps.back().nodes.push_back(node);
        steps.back().fused.clear();
        for (const auto& n : steps.back().nodes) {
          auto op = op_types_.find(n);
          steps.back().fused += (steps.back().fused.empty() ? "" : "+") +
                                (op == op_types_.end() ? std::string("?") : op->second);
        }
        continue;
      }
      const cv::Ptr<cv::dnn::Layer> layer = net_.getLayer(static_cast<int>(i) + 1);
      StepTime step;
      const auto op = op_types_.find(node);
      step.label = fmt::format("'{}' ({})", node,
                               op != op_types_.end() ? op->second : layer ? layer->type : "?");
      step.nodes = {node};
      step.duration_ns = static_cast<int64_t>(ticks[i] * ns_per_tick);
      step.kernel = layer ? "OpenCV " + layer->type : "";
      steps.push_back(std::move(step));
    }
    return steps;
  }

 private:
  void Quantize(const model::Model& m, const SessionOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    const QuantizationOptions& q = options.quantization;
    std::vector<std::vector<cv::Mat>> per_input(inputs_.size());
    int64_t samples = 0;
    std::string source;
    if (q.calibration && q.calibration->batches() > 0) {
      for (int64_t b = 0; b < q.calibration->batches() && samples < kMaxCalibrationSamples; ++b) {
        std::vector<HostTensor> batch = q.calibration->Batch(b);
        PLASTER_CHECK(batch.size() == inputs_.size(), "calibration data {}: {} inputs; the model has {}",
                      q.calibration->Describe(), batch.size(), inputs_.size());
        for (size_t k = 0; k < batch.size(); ++k) per_input[k].push_back(InputBlob(batch[k]).clone());
        samples += batch[0].shape().empty() ? 1 : batch[0].shape()[0];
      }
      source = q.calibration->Describe();
    } else {
      for (size_t k = 0; k < inputs_.size(); ++k) {
        per_input[k].push_back(InputBlob(GenerateInput(inputs_[k], 1)).clone());
      }
      samples = inputs_[0].shape.empty() ? 1 : inputs_[0].shape[0];
      source = "generated inputs (normal noise; no calibration data was given, so the ranges do not "
               "represent real data)";
    }
    std::vector<cv::Mat> calibration;
    for (auto& blobs : per_input) {
      cv::Mat joined;
      if (blobs.size() == 1) {
        joined = blobs[0];
      } else {  // along the batch axis: the blobs as rows of one 2-D view, then the shape back
        std::vector<cv::Mat> rows;
        int batch_total = 0;
        for (auto& b : blobs) {
          rows.push_back(b.reshape(1, b.size[0]));
          batch_total += b.size[0];
        }
        cv::vconcat(rows, joined);
        std::vector<int> dims(blobs[0].size.p, blobs[0].size.p + blobs[0].dims);
        dims[0] = batch_total;
        joined = joined.reshape(1, dims);
      }
      calibration.push_back(joined);
    }
    try {
      net_ = net_.quantize(calibration, CV_32F, CV_32F);
    } catch (const cv::Exception& e) {
      Fail("engine 'opencv' could not quantize the model to int8: {}",
           opencv_engine::ShortenReason(e.what()));
    }
    // Which compute layers stayed float32: OpenCV has no int8 form for them.
    std::vector<cv::String> names = net_.getLayerNames();
    for (size_t i = 0; i < names.size(); ++i) {
      const cv::Ptr<cv::dnn::Layer> layer = net_.getLayer(static_cast<int>(i) + 1);
      if (!layer || !IsComputeLayer(layer->type)) continue;
      const std::string node = NodeOfLayer(names[i]);
      const model::NodeInfo* info = FindNode(m.graph(), node);
      report_.kept.push_back({info ? info->name : node, info ? info->op_type : layer->type, false,
                              "OpenCV 4.6 has no int8 " + layer->type + " layer"});
    }
    report_.hardware = "OpenCV's own int8 layers";
    report_.quantization = fmt::format(
        "static: OpenCV Net::quantize, activation ranges by min/max on {} sample(s) of {}; weights "
        "per output channel{}",
        samples, source,
        q.method == CalibrationMethod::kMinMax ? ""
                                               : fmt::format(" (--calibration-method {} does not "
                                                             "apply: OpenCV has min/max only)",
                                                             CalibrationMethodName(q.method)));
    report_.calibration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  std::vector<cv::String> output_names_;
  std::unordered_map<std::string, std::string> op_types_;  // node name → op type, for Profile
  cv::dnn::Net net_;
  int threads_ = 1;
  PrecisionReport report_;
};

class OpenCvEngine final : public Engine {
 public:
  OpenCvEngine() { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); }

  std::string name() const override { return "opencv"; }
  std::string description() const override {
    std::string parallel = "unknown";
    std::istringstream info(cv::getBuildInformation());
    for (std::string line; std::getline(info, line);) {
      if (const size_t at = line.find("Parallel framework:"); at != std::string::npos) {
        parallel = line.substr(line.find_first_not_of(' ', at + 19));
      }
    }
    return fmt::format("ONNX on OpenCV DNN {} (its own importer and layers; {}; parallel: {})",
                       CV_VERSION, HasCuda() ? "CPU and CUDA" : "CPU", parallel);
  }
  std::vector<std::pair<std::string, std::string>> Libraries() const override {
    return {{"OpenCV", CV_VERSION}};
  }
  std::vector<Device> devices() const override {
    std::vector<Device> out = {Device::kCpu};
    if (HasCuda()) out.push_back(Device::kCuda);
    return out;
  }
  std::vector<Precision> precisions(Device device) const override {
    if (device == Device::kCpu) return {Precision::kFp32, Precision::kInt8};
    if (device == Device::kCuda && HasCuda()) return {Precision::kFp32, Precision::kFp16};
    return {};
  }

  SupportReport Support(const model::Model& m) const override {
    SupportReport report;
    const model::Graph& g = m.graph();
    const std::string bytes = ModelBytes(m);
    std::vector<ImportFailure> failures;
    try {
      cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
      std::lock_guard<std::mutex> lock(mutex_);
      cached_ = {&m, m.display_name(), g.nodes().size(), net};
    } catch (const cv::Exception& e) {
      failures = Diagnose(bytes);
      if (failures.empty()) failures.push_back(opencv_engine::ParseImportError(e.what()));
    }
    // Inputs and outputs of a dtype OpenCV has no blobs for: the nodes that read or write them.
    std::vector<ImportFailure> dtype_failures;
    for (const bool input : {true, false}) {
      for (int id : input ? g.inputs() : g.outputs()) {
        const model::TensorInfo& t = g.tensor(id);
        const std::string problem = DtypeProblem(t.dtype, input);
        if (problem.empty()) continue;
        for (const auto& node : g.nodes()) {
          const auto& ids = input ? node.inputs : node.outputs;
          if (std::find(ids.begin(), ids.end(), id) == ids.end()) continue;
          dtype_failures.push_back({node.name, node.op_type,
                                    fmt::format("{} '{}': {}", input ? "input" : "output", t.name, problem)});
        }
      }
    }
    failures.insert(failures.begin(), dtype_failures.begin(), dtype_failures.end());
    std::unordered_map<const model::NodeInfo*, const ImportFailure*> failed;
    std::string unplaced;  // a failure that names no node of the graph
    for (const auto& f : failures) {
      if (const model::NodeInfo* node = FindNode(g, f.node)) {
        failed.emplace(node, &f);
      } else if (unplaced.empty()) {
        unplaced = Describe(g, f);
      }
    }
    for (const auto& node : g.nodes()) {
      NodeSupport s{node.name, node.op_type, true, ""};
      if (auto it = failed.find(&node); it != failed.end()) {
        s.supported = false;
        s.reason = it->second->reason;
      } else if (!unplaced.empty() && failed.empty()) {
        // OpenCV failed somewhere it does not say: no node can be called supported.
        s.supported = false;
        s.reason = "the model did not import: " + unplaced;
      }
      report.nodes.push_back(std::move(s));
    }
    return report;
  }

  std::unique_ptr<Session> Compile(const model::Model& m,
                                   const SessionOptions& options) const override {
    const auto offered = precisions(options.device);
    PLASTER_CHECK(!offered.empty(), "engine 'opencv' has no {} backend in this OpenCV build",
                  DeviceName(options.device));
    if (std::find(offered.begin(), offered.end(), options.precision) == offered.end()) {
      std::vector<std::string> names;
      for (Precision p : offered) names.emplace_back(PrecisionName(p));
      Fail("engine 'opencv' does not offer {} on {} (it offers {})", PrecisionName(options.precision),
           DeviceName(options.device), fmt::join(names, ", "));
    }
    cv::dnn::Net net;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_.model == &m && cached_.name == m.display_name() &&
          cached_.nodes == m.graph().nodes().size()) {
        net = cached_.net;
      }
      cached_ = {};
    }
    if (net.empty()) net = Import(m, ModelBytes(m));
    const bool cuda = options.device == Device::kCuda;
    return std::make_unique<OpenCvSession>(
        m, std::move(net), options, cuda ? cv::dnn::DNN_BACKEND_CUDA : cv::dnn::DNN_BACKEND_OPENCV,
        !cuda                                      ? cv::dnn::DNN_TARGET_CPU
        : options.precision == Precision::kFp16 ? cv::dnn::DNN_TARGET_CUDA_FP16
                                                   : cv::dnn::DNN_TARGET_CUDA);
  }

 private:
  static bool HasCuda() {
    static const bool has = !cv::dnn::getAvailableTargets(cv::dnn::DNN_BACKEND_CUDA).empty();
    return has;
  }

  // The last model Support imported whole, for the Compile that follows (Note [OpenCV import]).
  struct Cached {
    const model::Model* model = nullptr;
    std::string name;
    size_t nodes = 0;
    cv::dnn::Net net;
  };
  mutable std::mutex mutex_;
  mutable Cached cached_;
};

}  // namespace

std::unique_ptr<Engine> MakeOpenCvEngine() { return std::make_unique<OpenCvEngine>(); }

}  // namespace plaster::engine

// The plugin's only exported symbol (registry.cpp loads it; the rest stays private).
extern "C" __attribute__((visibility("default"))) plaster::engine::Engine* plaster_opencv_engine() {
  return plaster::engine::MakeOpenCvEngine().release();
}
