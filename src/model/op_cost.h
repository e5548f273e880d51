#pragma once
/// The arithmetic cost of one ONNX node, from its shapes and attributes: multiply-accumulates
/// (MACs) and the other floating-point operations. One declarative table (op_cost.cpp) maps each
/// op type to its formula; docs/metrics.md states every formula. 1 MAC = 2 FLOPs everywhere.

#include <cstdint>
#include <string>
#include <vector>

#include "model/graph.h"

namespace plaster::model {

/// How a node's cost was decided.
enum class CostRule {
  kUncounted,     ///< no formula, or a shape it needs is unknown: see reason
  kContraction,   ///< Conv, Gemm, MatMul, Einsum, RNNs: MACs (+ bias and the like)
  kArithmetic,    ///< elementwise, activations, pooling, normalisation, reductions, softmax
  kDataMovement,  ///< reshapes, copies, gathers, casts: 0 FLOPs by definition
};

struct OpCost {
  CostRule rule = CostRule::kUncounted;
  int64_t macs = 0;         ///< multiply-accumulates
  int64_t other_flops = 0;  ///< FLOPs that are not part of a MAC (adds, compares, exp, ...)
  std::string reason;       ///< for kUncounted: why ("no cost formula for op type 'Foo'")

  bool counted() const { return rule != CostRule::kUncounted; }
  /// 2 × MACs + other FLOPs.
  int64_t flops() const { return 2 * macs + other_flops; }
};

/// The cost of node in graph. Never throws for a node it cannot count: it says why instead.
OpCost CostOfNode(const Graph& graph, const NodeInfo& node);

/// Every op type (default ONNX domain) that has a cost formula, sorted.
std::vector<std::string> CountedOpTypes();

/// "contraction", "arithmetic", "data movement", "uncounted".
const char* CostRuleName(CostRule rule);

}  // namespace plaster::model
