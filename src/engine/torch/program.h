#pragma once
/// The program a torch session runs (program.cpp): the graph compiled for the bound shapes and a
/// precision into steps, each an ATen kernel or a fused oneDNN one; what the CPU offers in bf16
/// and int8.

#include <ATen/ATen.h>

#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "engine/engine.h"
#include "engine/trainer.h"
#include "engine/torch/calibration.h"
#include "engine/torch/kernel.h"
#include "model/model.h"

namespace plaster::engine::torch_engine {

struct Int8Plan {
  bool on = false;
  std::unordered_map<int, Int8Range> ranges;  // by tensor id (static)
  // Note [Int8 chains] in dnnl_conv.cpp: tensors not to hand over quantized, because a step
  // that reads them turned out not to be an int8 convolution.
  std::unordered_set<int> unchained;
  // Mixed precision (Note [Int8 sensitivity] in torch_engine.cpp): node name → why it stays
  // float32.
  std::map<std::string, std::string> keep_float;
  // Note [Models that arrive quantized]: QDQ pairs that do not run. The QuantizeLinear node is
  // skipped, and the DequantizeLinear node (by index) passes the pair's input (tensor id) on.
  std::unordered_set<size_t> qdq_skip;
  std::unordered_map<size_t, int> qdq_alias;
  // The same pairs by tensor: the pair's input → its output (Note [Int8 chains] looks through).
  std::unordered_map<int, int> qdq_through;
};

struct Step {
  Kernel kernel;
  ValueKernel value_kernel;  // instead of kernel, for an op on sequences/strings
  std::vector<int> inputs;                 // tensor ids, -1 omitted
  std::vector<int> outputs;                // tensor ids, -1 omitted
  std::vector<int> release;                // slots to free after this step
  std::string label;
  std::vector<std::string> nodes;    // the nodes this step runs (more than one when fused)
  std::string fused;                 // what a fused step computes ("GELU")
  bool strided_inputs = false;       // the kernel takes channels-last inputs (Note [Layouts])
  std::string kernel_name = "ATen";  // the library kernel that runs it (plaster profile shows it)
  bool float_inputs = false;  // bf16 session: convert bf16 inputs to float32 (Note [BF16 sessions])
  bool quantizable = false;   // a fused Conv or MatMul chain: calibration observes inputs[0]
  bool takes_quantized = false;  // an int8 convolution: inputs[0] may come quantized
  int quantized_output = -1;     // the output it writes quantized (Note [Int8 chains])
  bool passes_through = false;   // a skipped QDQ pair: its output is its input, quantized or not
};

struct Program {
  std::vector<std::optional<at::Tensor>> constants;  // by tensor id
  std::vector<Step> steps;
  PrecisionReport precision;
  bool has_values = false;  // some step takes or makes sequences or strings (Note [Sequences])
  bool round_to_half = false;  // Note [FP16 on CPU]: every float tensor between steps
};

// Builds the program. With `support`, records per node whether it is supported instead of
// throwing, and keeps going. `optimize` allows fusion (Note [Fusion] in fusion.cpp); `compute`
// is the fused kernels' type (Note [BF16 sessions]; at::kHalf: Note [FP16 on CPU]); `int8`
// quantizes them (Note [Int8 sessions]).
/// Note [Models that arrive quantized] in program.cpp: the ranges a QDQ model gives its
/// activations (each QuantizeLinear → DequantizeLinear pair's output), added to int8->ranges;
/// returns how many.
int RangesFromQdq(const model::Model& m, Int8Plan* int8);

/// `trainable` (Note [Training] in trainer.cpp): initializers that train, so no node reading
/// them is folded into a constant.
Program BuildProgram(const model::Model& m, SupportReport* support, bool optimize,
                     at::ScalarType compute = at::kFloat, const Int8Plan& int8 = {},
                     const std::unordered_set<int>* trainable = nullptr);

/// Note [FP16 on CPU]: a float32 tensor's values rounded to the nearest IEEE half (overflow to
/// ±inf), still float32; other tensors as they are.
at::Tensor RoundToHalf(const at::Tensor& t);
/// What the fp16 emulation is, for the precision report.
std::string Fp16Hardware();

/// How this CPU computes bf16 in oneDNN ("native (AVX512-BF16)"); empty when it cannot.
std::string Bf16Hardware();
/// The int8 instructions oneDNN runs on this CPU ("native (AVX512-VNNI)"); empty when none.
std::string Int8Hardware();

/// Note [Training] in trainer.cpp: a trainer for `m`, which must outlive it.
std::unique_ptr<Trainer> MakeTorchTrainer(const model::Model& m, const TrainingOptions& options);

/// The first line of an exception's message (c10's without its backtrace).
std::string FirstLine(const std::exception& e);

/// Calls `run` (a step's kernel); whatever it throws becomes a plaster::Error naming the step's
/// node.
template <typename F>
void RunNamingTheNode(const Step& step, F&& run) {
  try {
    run();
  } catch (const Unsupported& u) {
    Fail("node {}: unsupported: {}", step.label, u.reason);
  } catch (const Error& e) {
    throw e.WithContext("node " + step.label);
  } catch (const std::exception& e) {
    Fail("node {}: {}", step.label, FirstLine(e));
  }
}

}  // namespace plaster::engine::torch_engine
