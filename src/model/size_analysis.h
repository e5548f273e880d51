#pragma once
/// The S letter: everything about a model's size that can be known without running it —
/// parameters, MACs/FLOPs per node and per op type, activation memory and its peak over the
/// execution order, structure, and arithmetic intensity. Pure function of a loaded Model.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/op_cost.h"

namespace plaster::model {

struct TensorSummary {
  std::string name;
  std::string dtype;  ///< DtypeName
  Shape shape;
};

struct DtypeTotal {
  std::string dtype;
  int64_t tensors = 0;
  int64_t elements = 0;
  int64_t bytes = 0;
};

struct NodeSize {
  int index = 0;  ///< position in the topological order
  std::string name;
  std::string op_type;
  OpCost cost;
  std::string output_shape;            ///< of the first output
  int64_t weight_elements = 0;         ///< elements of the initializers it reads
  std::optional<int64_t> bytes_moved;  ///< inputs (weights included) + outputs, once each
  /// FLOPs per byte moved, when both are known and bytes_moved > 0.
  std::optional<double> intensity() const;
};

struct OpTypeSize {
  std::string op_type;
  int nodes = 0;
  int uncounted_nodes = 0;
  int64_t macs = 0;
  int64_t flops = 0;
};

/// Conv nodes that carry BatchNorm folded in at export (see FoldedBatchNorm in the .cpp).
struct FoldedBatchNorm {
  int conv_nodes = 0;
  int64_t channels = 0;  ///< PyTorch counts this many more parameters (2 per channel vs 1 bias)
};

struct SizeReport {
  // The model.
  std::string model_name;
  std::optional<uint64_t> file_bytes;
  uint64_t external_data_bytes = 0;
  int64_t ir_version = 0;
  int64_t opset = 0;
  std::string producer;  ///< "pytorch 1.13.1"
  std::vector<TensorSummary> inputs;
  std::vector<TensorSummary> outputs;
  std::vector<std::string> notes;

  // Parameters: floating-point and 8-bit initializers (the trainable or quantized weights).
  int64_t parameters = 0;
  int64_t parameter_bytes = 0;
  std::vector<DtypeTotal> parameters_by_dtype;
  // Constants: integer/bool initializers and Constant nodes (shapes, indices, scalars).
  int64_t constant_elements = 0;
  int64_t constant_bytes = 0;
  std::optional<FoldedBatchNorm> folded_batchnorm;

  // Compute, for the bound input shapes.
  int64_t macs = 0;
  int64_t other_flops = 0;
  int64_t flops = 0;  ///< 2 × macs + other_flops
  int counted_nodes = 0;
  std::vector<int> uncounted;  ///< indices into nodes of the nodes not counted

  // Memory.
  int64_t weight_bytes = 0;      ///< all initializers
  int64_t activation_bytes = 0;  ///< every graph input and node output, summed
  int64_t peak_activation_bytes = 0;
  std::string peak_node;               ///< the node during which the peak is reached
  int unknown_size_tensors = 0;        ///< >0: the activation figures are lower bounds
  std::optional<int64_t> bytes_moved;  ///< sum over nodes; nullopt if any is unknown

  // Structure.
  int node_count = 0;
  int depth = 0;
  std::vector<NodeSize> nodes;       ///< topological order
  std::vector<OpTypeSize> op_types;  ///< by FLOPs, then node count, descending

  /// Total FLOPs per byte moved.
  std::optional<double> intensity() const;
};

/// Analyses model. Never throws for an op it cannot count: the node is listed in `uncounted`.
SizeReport AnalyzeSize(const Model& model);

}  // namespace plaster::model
