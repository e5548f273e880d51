// The torch engine: compiles a loaded ONNX model into a program of ATen kernels and runs it.
//
// The session (calibration included) and the engine; the program it runs is program.cpp.

#include "engine/torch/torch_engine.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <dlfcn.h>
#include <dnnl.h>
#include <onnx/onnx_pb.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>
#include <unordered_set>

#include "core/error.h"
#include "engine/torch/calibration.h"
#include "engine/torch/dnnl_util.h"
#include "engine/torch/host_allocator.h"
#include "engine/torch/kernel.h"
#include "engine/torch/program.h"

namespace plaster::engine {
namespace {

using torch_engine::Kernel;
using torch_engine::NodeView;
using torch_engine::Tensors;
using torch_engine::Unsupported;
using torch_engine::BuildProgram;
using torch_engine::FirstLine;
using torch_engine::Int8Plan;
using torch_engine::Program;
using torch_engine::Step;
using torch_engine::Bf16Hardware;
using torch_engine::Int8Hardware;

// Note [Threads]: `threads` is the OpenMP team size, the threads that run every oneDNN kernel
// (convolutions, matrix products) and ATen's parallel loops. Debian's LibTorch also calls
// OpenBLAS, which has a pthread pool of its own; on 2 cores the two pools fought: OpenBLAS's idle
// workers spin on sched_yield after each call, OpenMP's spin between parallel regions, and a
// oneDNN matmul ran at 3 ms or 6 ms by turns depending on who held the second core. With
// OpenMP's wait policy forced passive the fight stopped, but every parallel region then began
// by waking a sleeping thread: MobileNetV2 at batch 1 took 10.1 ms against 7.3 with OpenMP's
// default policy.
// Since every hot matrix product now runs through oneDNN (Note [Direct oneDNN matrix products]),
// OpenBLAS is kept to one thread (OPENBLAS_NUM_THREADS=1, set before it loads: Note [Engine
// plugins] in ../registry.cpp) and OpenMP keeps its default policy (spin a while, then sleep).
// Measured on a 2-core AVX-512 guest, BERT-like encoder at batch 1: 177 ms before, 129 after.
// Returns the count.
int SetThreads(int threads) {
  const int n =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return n;
}

class TorchSession final : public Session {
 public:
  TorchSession(const model::Model& m, const SessionOptions& options)
      : inputs_(InputSpecs(m)), outputs_(OutputSpecs(m)) {
    threads_ = SetThreads(options.threads);
    torch_engine::InstallCachingHostAllocator();  // Note [Reused activation memory]
    for (int id : m.graph().inputs()) input_ids_.push_back(id);
    for (int id : m.graph().outputs()) output_ids_.push_back(id);
    Int8Plan int8;
    std::string quantization;
    double calibration_seconds = 0;
    if (options.precision == Precision::kInt8) {
      int8.on = true;
      const auto start = std::chrono::steady_clock::now();
      bool calibrated = false;
      quantization = Calibrate(m, options, &int8, &calibrated);
      // The model's own ranges take precedence (Note [Models that arrive quantized]).
      if (const int from_model = options.optimize ? torch_engine::RangesFromQdq(m, &int8) : 0;
          from_model > 0) {
        const std::string given = fmt::format(
            "{} activation range(s) from the model's QuantizeLinear/DequantizeLinear pairs",
            from_model);
        quantization = options.quantization.calibration && options.optimize
                           ? quantization + "; " + given + " take precedence"
                           : "static: " + given +
                                 "; weights requantized symmetric per output channel; other "
                                 "products dynamic, other convolutions float32";
      }
      if (calibrated) {  // not when the ranges came from an earlier session or a cache
        calibration_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
    }
    SetProgram(BuildProgram(m, nullptr, options.optimize,
                            options.precision == Precision::kBf16   ? at::kBFloat16
                            : options.precision == Precision::kFp16 ? at::kHalf
                                                                    : at::kFloat,
                            int8));
    // Note [Int8 chains]: a tensor handed over quantized must reach int8 convolutions only;
    // where a reader fell back to another kernel, build again without that hand-over.
    for (bool again = int8.on; again;) {
      again = false;
      for (const Step& step : program_.steps) {
        if (step.quantized_output < 0) continue;
        // The tensor, and what skipped QDQ pairs pass it on as (Note [Models that arrive
        // quantized]).
        std::vector<int> tensors = {step.quantized_output};
        for (size_t i = 0; i < tensors.size(); ++i) {
          const int t = tensors[i];
          for (const Step& reader : program_.steps) {
            const auto& in = reader.inputs;
            if (std::find(in.begin(), in.end(), t) == in.end()) continue;
            if (reader.passes_through && in.size() == 1 && reader.outputs.size() == 1) {
              tensors.push_back(reader.outputs[0]);
            } else if (!reader.takes_quantized || in[0] != t ||
                       std::count(in.begin(), in.end(), t) != 1) {
              again = int8.unchained.insert(step.quantized_output).second || again;
            }
          }
        }
      }
      if (again) SetProgram(BuildProgram(m, nullptr, options.optimize, at::kFloat, int8));
    }
    if (options.precision == Precision::kBf16) program_.precision.hardware = Bf16Hardware();
    if (options.precision == Precision::kFp16) {
      program_.precision.hardware = torch_engine::Fp16Hardware();
    }
    if (int8.on) {
      program_.precision.hardware = Int8Hardware();
      program_.precision.quantization = quantization;
      program_.precision.calibration_seconds = calibration_seconds;
    }
  }

  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  PrecisionReport precision_report() const override { return program_.precision; }

  std::vector<HostTensor> Run(const std::vector<HostTensor>& inputs) override {
    return Execute(inputs, nullptr);
  }

 private:
  void SetProgram(Program p) {
    program_ = std::move(p);
    for (const auto* specs : {&inputs_, &outputs_}) {
      for (const auto& spec : *specs) {
        if (spec.dtype == onnx::TensorProto::STRING) program_.has_values = true;
      }
    }
  }

  // Note [Int8 sensitivity]: mixed precision by accuracy, on the float32 program that just
  // calibrated. For each fused convolution or product with a range, the first calibration
  // batches (at most kSensitivityBatches) run again with that one step's input quantized and
  // dequantized in its range (ATen's fake quantization: exactly the values its int8 kernel would
  // read), and the model's first output is compared with the float32 run: the relative L2 error
  // ‖y − ŷ‖ / ‖y‖, the largest over the batches. A step past the tolerance stays float32, with the
  // figure as the reason. Its weights' rounding is not included: per output channel it is the
  // smaller part, and running each step with int8 weights would need a program per step. Layers
  // are judged one at a time, as TensorRT's and Neural Compressor's sensitivity passes do, so the
  // errors of several int8 layers can still add up: the accuracy measurement judges the whole.
  // Cost: (steps × batches) float32 runs, once per command (the ranges are shared, and cached).
  static constexpr int64_t kSensitivityBatches = 2;

  // Returns how many steps it judged.
  int MeasureSensitivity(CalibrationData& data, double tolerance, const Int8Plan& int8,
                         std::map<std::string, std::string>* keep) {
    int judged = 0;
    const int64_t batches = std::min(data.batches(), kSensitivityBatches);
    std::vector<std::vector<HostTensor>> inputs;
    std::vector<at::Tensor> reference;
    auto first_output = [](const std::vector<HostTensor>& out) {
      PLASTER_CHECK(!out.empty() && out[0].dtype() == onnx::TensorProto::FLOAT,
                    "mixed precision by sensitivity needs a float32 first output");
      return at::from_blob(const_cast<char*>(out[0].data()), out[0].shape(), at::kFloat)
          .to(at::kDouble);
    };
    for (int64_t b = 0; b < batches; ++b) {
      inputs.push_back(data.Batch(b));
      reference.push_back(first_output(Execute(inputs.back(), nullptr)));
    }
    for (const Step& target : program_.steps) {
      if (!target.quantizable || target.inputs.empty() || target.nodes.empty()) continue;
      auto range = int8.ranges.find(target.inputs[0]);
      if (range == int8.ranges.end()) continue;
      const torch_engine::Int8Range r = range->second;
      ++judged;
      observer_ = [&](const Step& step, Tensors& args) {
        if (&step != &target || args.empty() || !args[0].defined()) return false;
        args[0] = at::fake_quantize_per_tensor_affine(args[0].to(at::kFloat), r.scale, 0,
                                                      r.is_unsigned ? 0 : -127,
                                                      r.is_unsigned ? 255 : 127);
        return true;
      };
      double worst = 0;
      for (int64_t b = 0; b < batches; ++b) {
        const at::Tensor y = first_output(Execute(inputs[static_cast<size_t>(b)], nullptr));
        const double norm = reference[static_cast<size_t>(b)].norm().item<double>();
        const double diff = (y - reference[static_cast<size_t>(b)]).norm().item<double>();
        worst = std::max(worst, norm > 0 ? diff / norm : diff);
      }
      observer_ = nullptr;
      if (worst > tolerance) {
        (*keep)[target.nodes.front()] = fmt::format(
            "mixed precision: quantizing its input alone moves the model's output by {:.3g}% "
            "(relative L2 error on {} calibration batch(es)), over the tolerance {:g}%",
            100 * worst, batches, 100 * tolerance);
      }
    }
    return judged;
  }

  // Static int8 calibration (Note [Int8 sessions]): runs the calibration data through the
  // float32 program and fills int8->ranges with the range chosen for every tensor a fused
  // convolution or matrix product reads. Returns how the session is quantized, for the report.
  std::string Calibrate(const model::Model& m, const SessionOptions& options, Int8Plan* int8,
                        bool* calibrated) {
    const QuantizationOptions& q = options.quantization;
    if (!options.optimize) {  // int8 runs only in the fused kernels: nothing to calibrate for
      return "none: graph optimizations are off (--no-optimize)";
    }
    if (!q.calibration) {
      return "dynamic: each MatMul/Gemm input quantized to u8 in its own range at every run; "
             "weights symmetric per output column; convolutions stay float32 without "
             "calibration data";
    }
    const model::Graph& g = m.graph();
    QuantizationOptions::Calibrated& done = *q.calibrated;
    const std::string model =
        fmt::format("{}: {} nodes, {} tensors", m.display_name(), g.nodes().size(), g.tensors().size());
    if (done.done && done.model == model) {  // an earlier session of this command calibrated
      for (size_t id = 0; id < g.tensors().size(); ++id) {
        auto it = done.ranges.find(g.tensor(static_cast<int>(id)).name);
        if (it == done.ranges.end()) continue;
        int8->ranges[static_cast<int>(id)] =
            torch_engine::MakeInt8Range(it->second.threshold, it->second.is_unsigned);
      }
      int8->keep_float = done.keep_float;
      return done.description;
    }
    CalibrationData& data = *q.calibration;
    PLASTER_CHECK(data.batches() > 0, "calibration data {}: no batches", data.Describe());
    SetProgram(BuildProgram(m, nullptr, true, at::kFloat));
    std::unordered_map<int, torch_engine::RangeStats> stats;
    for (const Step& step : program_.steps) {
      if (step.quantizable && !step.inputs.empty()) stats[step.inputs[0]];
    }
    // A tensor read by several products is observed once per batch.
    std::unordered_set<int> seen;
    const bool histograms = q.method != CalibrationMethod::kMinMax;
    for (int pass = 0; pass < (histograms ? 2 : 1); ++pass) {
      observer_ = [&](const Step& step, Tensors& args) {
        if (!step.quantizable || args.empty() || !args[0].defined()) return false;
        const int id = step.inputs[0];
        if (!seen.insert(id).second) return false;
        at::Tensor x = args[0].to(at::kFloat);
        if (pass == 0) {
          const auto [lo, hi] = at::aminmax(x);
          stats[id].ObserveRange(lo.item<float>(), hi.item<float>());
        } else {
          if (!x.is_non_overlapping_and_dense()) x = x.contiguous();
          stats[id].ObserveValues(x.data_ptr<float>(), x.numel());
        }
        return false;
      };
      for (int64_t b = 0; b < data.batches(); ++b) {
        seen.clear();
        std::vector<HostTensor> batch = data.Batch(b);
        try {
          Execute(batch, nullptr);
        } catch (const Error& e) {
          observer_ = nullptr;
          throw e.WithContext(fmt::format("calibration batch {} of {}", b + 1, data.Describe()));
        }
      }
    }
    observer_ = nullptr;
    done.ranges.clear();
    for (const auto& [id, st] : stats) {
      if (!st.seen()) continue;
      const torch_engine::Int8Range r = torch_engine::ChooseRange(st, q.method, q.percentile);
      int8->ranges[id] = r;
      done.ranges[g.tensor(id).name] = {r.threshold, r.is_unsigned};
    }
    std::string method = CalibrationMethodName(q.method);
    if (q.method == CalibrationMethod::kPercentile) method += fmt::format(" {:g}%", q.percentile);
    if (q.method == CalibrationMethod::kEntropy) method += " (KL divergence)";
    done.description = fmt::format(
        "static: activation ranges by {} on {}; weights symmetric per output channel", method,
        data.Describe());
    done.keep_float.clear();
    if (q.layer_tolerance) {
      const int judged = MeasureSensitivity(data, *q.layer_tolerance, *int8, &done.keep_float);
      int8->keep_float = done.keep_float;
      done.description += fmt::format(
          "; mixed precision: {} of {} convolutions and products kept in float32 (quantizing "
          "the input alone moved the output by more than {:g}%)",
          done.keep_float.size(), judged, 100 * *q.layer_tolerance);
    }
    done.done = true;
    done.model = model;
    *calibrated = true;
    return done.description;
  }

 public:

  std::vector<StepTime> Profile(const std::vector<HostTensor>& inputs) override {
    std::vector<StepTime> times;
    Execute(inputs, &times);
    return times;
  }

 private:
  // Runs the program; with `times`, records each step's wall time (the clock is read only then).
  std::vector<HostTensor> Execute(const std::vector<HostTensor>& inputs,
                                  std::vector<StepTime>* times) {
    CheckInputs(inputs_, inputs);
    // OpenMP's thread count is per calling thread: a session run from another thread than the
    // one that compiled it (a load generator's worker) sets it again.
    if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> env(program_.constants.size());
    for (size_t id = 0; id < env.size(); ++id) {
      if (program_.constants[id]) env[id] = *program_.constants[id];
    }
    // Sequences and strings (Note [Sequences]) beside the tensors, by tensor id; only when the
    // program has any.
    std::vector<torch_engine::Value> side(program_.has_values ? env.size() : 0);
    for (size_t k = 0; k < inputs.size(); ++k) {
      const auto id = static_cast<size_t>(input_ids_[k]);
      if (inputs[k].is_string()) {
        side[id].strings = std::make_shared<const torch_engine::StringTensor>(
            torch_engine::StringTensor{inputs[k].shape(), inputs[k].strings()});
        continue;
      }
      // Borrowed, not copied: kernels never write to their inputs.
      env[id] =
          at::from_blob(const_cast<char*>(inputs[k].data()), inputs[k].shape(),
                        at::TensorOptions().dtype(torch_engine::ScalarTypeOf(inputs[k].dtype())));
      if (program_.round_to_half) env[id] = torch_engine::RoundToHalf(env[id]);
    }
    Tensors args;
    torch_engine::Values values;
    for (const Step& step : program_.steps) {
      args.clear();
      values.clear();
      at::Tensor substitute;  // Note [Int8 sensitivity]: the step's first input, replaced
      if (observer_) {
        // Calibration reads the step's inputs before it runs (Note [Int8 sessions]).
        for (int id : step.inputs) {
          args.push_back(id < 0 || step.value_kernel ? at::Tensor() : env[static_cast<size_t>(id)]);
        }
        if (observer_(step, args)) substitute = args[0];
        args.clear();
      }
      for (int id : step.inputs) {
        if (step.value_kernel) {
          if (id < 0) {
            values.emplace_back();
          } else {
            const auto& v = side[static_cast<size_t>(id)];
            values.push_back({env[static_cast<size_t>(id)], v.sequence, v.strings});
          }
        } else if (id < 0) {
          args.emplace_back();
        } else if (step.strided_inputs) {
          args.push_back(env[static_cast<size_t>(id)]);
        } else {
          args.push_back(env[static_cast<size_t>(id)].contiguous());  // Note [Layouts]
        }
        if (step.float_inputs && args.back().defined() &&
            args.back().scalar_type() == at::kBFloat16) {
          args.back() = args.back().to(at::kFloat);  // Note [BF16 sessions]
        }
      }
      if (substitute.defined()) args[0] = substitute;
      Tensors outs;
      torch_engine::Values value_outs;
      const auto start =
          times ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      torch_engine::RunNamingTheNode(step, [&] {
        if (step.value_kernel) {
          value_outs = step.value_kernel(values);
        } else {
          outs = step.kernel(args);
        }
      });
      for (size_t k = 0; k < step.outputs.size() && k < outs.size(); ++k) {
        if (step.outputs[k] < 0) continue;
        env[static_cast<size_t>(step.outputs[k])] =
            program_.round_to_half ? torch_engine::RoundToHalf(outs[k]) : std::move(outs[k]);
      }
      for (size_t k = 0; k < step.outputs.size() && k < value_outs.size(); ++k) {
        const int id = step.outputs[k];
        if (id < 0) continue;
        env[static_cast<size_t>(id)] = std::move(value_outs[k].tensor);
        side[static_cast<size_t>(id)] = std::move(value_outs[k]);
      }
      if (times) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - start);
        times->push_back({step.label, step.nodes, ns.count(), step.fused, step.kernel_name});
      }
      for (int id : step.release) {
        env[static_cast<size_t>(id)].reset();
        if (!side.empty()) side[static_cast<size_t>(id)] = {};
      }
    }
    std::vector<HostTensor> results;
    for (size_t k = 0; k < output_ids_.size(); ++k) {
      const TensorSpec& spec = outputs_[k];
      const auto id = static_cast<size_t>(output_ids_[k]);
      auto check_shape = [&](const std::vector<int64_t>& shape) {
        bool fits = shape.size() == spec.shape.size();
        for (size_t d = 0; fits && d < shape.size(); ++d) {
          fits = spec.shape[d] < 0 || spec.shape[d] == shape[d];  // -1: set by the data
        }
        PLASTER_CHECK(fits, "output '{}' came out with shape {}; the model says {}", spec.name,
                      model::Shape::Of(shape).ToString(), model::Shape::Of(spec.shape).ToString());
      };
      if (spec.dtype == onnx::TensorProto::STRING) {
        PLASTER_CHECK(!side.empty() && side[id].strings, "output '{}' was not produced", spec.name);
        check_shape(side[id].strings->shape);
        results.push_back(HostTensor::Strings(side[id].strings->shape, side[id].strings->values));
        continue;
      }
      at::Tensor t = env[id];
      PLASTER_CHECK(t.defined(), "output '{}' was not produced", spec.name);
      t = t.to(torch_engine::ScalarTypeOf(spec.dtype)).contiguous();
      const std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
      check_shape(shape);
      results.emplace_back(spec.dtype, shape,
                           std::string(static_cast<const char*>(t.data_ptr()), t.nbytes()));
    }
    return results;
  }

  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  std::vector<int> input_ids_;
  std::vector<int> output_ids_;
  int threads_ = 1;
  Program program_;
  // While calibrating: sees each step's inputs before it runs; returns true when it replaced the
  // first (Note [Int8 sensitivity]).
  std::function<bool(const Step&, Tensors&)> observer_;
};

class TorchEngine final : public Engine {
 public:
  std::string name() const override { return "torch"; }
  std::string description() const override {
    return fmt::format("ONNX on LibTorch ATen {}.{}.{} (CPU)", TORCH_VERSION_MAJOR,
                       TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
  }
  std::vector<std::pair<std::string, std::string>> Libraries() const override {
    std::vector<std::pair<std::string, std::string>> libs;
    libs.emplace_back("LibTorch", fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,
                                              TORCH_VERSION_PATCH));
    const dnnl_version_t* v = dnnl_version();
    libs.emplace_back("oneDNN", fmt::format("{}.{}.{}", v->major, v->minor, v->patch));
    // OpenBLAS comes in through LibTorch; its build string names the version and the kernel set
    // it picked ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64").
    using ConfigFn = char* (*)();
    if (auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
      std::string text = config();
      if (text.rfind("OpenBLAS ", 0) == 0) text = text.substr(9);
      libs.emplace_back("OpenBLAS", text);
    } else {
      libs.emplace_back("OpenBLAS", "not loaded");
    }
    return libs;
  }
  std::vector<Device> devices() const override { return {Device::kCpu}; }
  std::vector<Precision> precisions(Device device) const override {
    if (device != Device::kCpu) return {};
    std::vector<Precision> offered = {Precision::kFp32};
    if (!Bf16Hardware().empty()) offered.push_back(Precision::kBf16);
    offered.push_back(Precision::kFp16);  // emulated (Note [FP16 on CPU])
    if (!Int8Hardware().empty()) offered.push_back(Precision::kInt8);
    return offered;
  }
  bool Emulates(Device device, Precision precision) const override {
    return device == Device::kCpu && precision == Precision::kFp16;
  }
  SupportReport Support(const model::Model& m) const override {
    SupportReport report;
    BuildProgram(m, &report, false);
    return report;
  }
  std::unique_ptr<Session> Compile(const model::Model& m,
                                   const SessionOptions& options) const override {
    PLASTER_CHECK(options.device == Device::kCpu, "engine 'torch' runs on cpu only in this build");
    const auto offered = precisions(options.device);
    if (std::find(offered.begin(), offered.end(), options.precision) == offered.end()) {
      std::vector<std::string> names;
      for (Precision p : offered) names.emplace_back(PrecisionName(p));
      Fail("engine 'torch' does not offer {} on this CPU (it offers {}){}",
           PrecisionName(options.precision), fmt::join(names, ", "),
           options.precision == Precision::kBf16
               ? ": oneDNN has only reference bf16 kernels without AVX-512"
           : options.precision == Precision::kInt8
               ? ": oneDNN's int8 kernels need VNNI or AMX instructions to compute exactly"
               : "");
    }
    return std::make_unique<TorchSession>(m, options);
  }
  std::unique_ptr<Trainer> Train(const model::Model& m,
                                 const TrainingOptions& options) const override {
    return torch_engine::MakeTorchTrainer(m, options);
  }
};

}  // namespace

std::unique_ptr<Engine> MakeTorchEngine() { return std::make_unique<TorchEngine>(); }

}  // namespace plaster::engine

// The plugin's only exported symbol (registry.cpp loads it; the rest stays private).
extern "C" __attribute__((visibility("default"))) plaster::engine::Engine* plaster_torch_engine() {
  return plaster::engine::MakeTorchEngine().release();
}
