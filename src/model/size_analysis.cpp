#include "model/size_analysis.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "core/error.h"
#include "model/dtype.h"

namespace plaster::model {
namespace {

bool IsParameterDtype(int32_t dtype) {
  return IsFloatingDtype(dtype) || IsQuantizedWeightDtype(dtype);
}

// Note [Folded BatchNorm]: exporting a PyTorch model in eval mode folds each BatchNorm into the
// Conv before it: the BN's weight and bias (2 parameters per channel; its running statistics are
// buffers, not parameters) become the Conv's bias (1 per channel). The ONNX file then holds fewer
// parameters than PyTorch reports, by the folded channel count. The exporter renames the folded
// Conv's weight to "onnx::Conv_<n>", which is how we recognise it; we report the channel count so
// the two figures can be reconciled rather than silently disagree.
std::optional<FoldedBatchNorm> DetectFoldedBatchNorm(const Model& model) {
  const Graph& g = model.graph();
  FoldedBatchNorm folded;
  for (const auto& node : g.nodes()) {
    if (node.op_type != "Conv" || node.inputs.size() < 3 || node.inputs[2] < 0) continue;
    if (node.inputs[1] < 0) continue;
    const auto& weight = g.tensor(node.inputs[1]);
    const auto& bias = g.tensor(node.inputs[2]);
    if (weight.kind != TensorKind::kInitializer || bias.kind != TensorKind::kInitializer) continue;
    if (weight.name.rfind("onnx::Conv_", 0) != 0) continue;
    if (!bias.shape.IsFullyKnown() || bias.shape.rank() != 1) continue;
    ++folded.conv_nodes;
    folded.channels += bias.shape.dims[0];
  }
  if (folded.conv_nodes == 0) return std::nullopt;
  return folded;
}

std::string ProducerOf(const onnx::ModelProto& m) {
  std::string producer = m.producer_name();
  if (!m.producer_version().empty())
    producer += (producer.empty() ? "" : " ") + m.producer_version();
  return producer;
}

}  // namespace

std::optional<double> NodeSize::intensity() const {
  if (!cost.counted() || !bytes_moved || *bytes_moved <= 0) return std::nullopt;
  return static_cast<double>(cost.flops()) / static_cast<double>(*bytes_moved);
}

std::optional<double> SizeReport::intensity() const {
  if (!bytes_moved || *bytes_moved <= 0) return std::nullopt;
  return static_cast<double>(flops) / static_cast<double>(*bytes_moved);
}

SizeReport AnalyzeSize(const Model& model) {
  const Graph& g = model.graph();
  const auto& proto = model.proto();
  SizeReport r;
  r.model_name = model.display_name();
  r.file_bytes = model.file_bytes();
  r.external_data_bytes = model.external_data_bytes();
  r.ir_version = proto.ir_version();
  r.opset = model.opset();
  r.producer = ProducerOf(proto);
  r.notes = model.notes();
  for (int id : g.inputs()) {
    const auto& t = g.tensor(id);
    r.inputs.push_back({t.name, DtypeName(t.dtype), t.shape});
  }
  for (int id : g.outputs()) {
    const auto& t = g.tensor(id);
    r.outputs.push_back({t.name, DtypeName(t.dtype), t.shape});
  }

  // Parameters and constants. Initializers are unique by name, so a weight shared by several
  // nodes counts once.
  std::map<std::string, DtypeTotal> by_dtype;
  for (int id : g.initializers()) {
    const auto& t = g.tensor(id);
    const int64_t n = t.shape.NumElements().value_or(0);  // validated at load: dims are known
    const int64_t bytes = n * DtypeSize(t.dtype);
    r.weight_bytes += bytes;
    if (IsParameterDtype(t.dtype)) {
      auto& total = by_dtype[DtypeName(t.dtype)];
      total.dtype = DtypeName(t.dtype);
      total.tensors += 1;
      total.elements += n;
      total.bytes += bytes;
      r.parameters += n;
      r.parameter_bytes += bytes;
    } else {
      r.constant_elements += n;
      r.constant_bytes += bytes;
    }
  }
  for (auto& [name, total] : by_dtype) r.parameters_by_dtype.push_back(total);
  std::sort(r.parameters_by_dtype.begin(), r.parameters_by_dtype.end(),
            [](const DtypeTotal& a, const DtypeTotal& b) { return a.elements > b.elements; });
  r.folded_batchnorm = DetectFoldedBatchNorm(model);

  // Per node: cost, weights read, bytes moved.
  std::map<std::string, OpTypeSize> by_op;
  bool all_bytes_known = true;
  int64_t bytes_total = 0;
  r.nodes.reserve(g.nodes().size());
  for (size_t k = 0; k < g.nodes().size(); ++k) {
    const auto& node = g.nodes()[k];
    NodeSize ns;
    ns.index = static_cast<int>(k);
    ns.name = node.name;
    ns.op_type = node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
    ns.cost = CostOfNode(g, node);
    if (node.op_type == "Constant") {
      // A Constant's value is a constant of the model, not an activation it computes.
      for (const auto& attr : node.proto->attribute()) {
        if (!attr.has_t()) continue;
        int64_t n = 1;
        for (int64_t d : attr.t().dims()) n *= d;
        r.constant_elements += n;
        r.constant_bytes += n * DtypeSize(attr.t().data_type());
      }
    }
    if (!node.outputs.empty() && node.outputs[0] >= 0) {
      ns.output_shape = g.tensor(node.outputs[0]).shape.ToString();
    }
    std::unordered_set<int> seen;
    int64_t moved = 0;
    bool known = true;
    auto touch = [&](int id) {
      if (id < 0 || !seen.insert(id).second) return;
      const auto& t = g.tensor(id);
      if (t.kind == TensorKind::kInitializer)
        ns.weight_elements += t.shape.NumElements().value_or(0);
      auto bytes = t.Bytes();
      if (bytes)
        moved += *bytes;
      else
        known = false;
    };
    for (int id : node.inputs) touch(id);
    for (int id : node.outputs) touch(id);
    if (known) ns.bytes_moved = moved;
    all_bytes_known = all_bytes_known && known;
    bytes_total += moved;

    auto& op = by_op[ns.op_type];
    op.op_type = ns.op_type;
    op.nodes += 1;
    if (ns.cost.counted()) {
      r.counted_nodes += 1;
      r.macs += ns.cost.macs;
      r.other_flops += ns.cost.other_flops;
      op.macs += ns.cost.macs;
      op.flops += ns.cost.flops();
    } else {
      op.uncounted_nodes += 1;
    }
    r.nodes.push_back(std::move(ns));
  }
  for (const auto& ns : r.nodes) {
    if (!ns.cost.counted()) r.uncounted.push_back(ns.index);
  }
  r.flops = 2 * r.macs + r.other_flops;
  if (all_bytes_known) r.bytes_moved = bytes_total;
  for (auto& [name, op] : by_op) r.op_types.push_back(op);
  std::sort(r.op_types.begin(), r.op_types.end(), [](const OpTypeSize& a, const OpTypeSize& b) {
    if (a.flops != b.flops) return a.flops > b.flops;
    if (a.nodes != b.nodes) return a.nodes > b.nodes;
    return a.op_type < b.op_type;
  });

  // Note [Peak activation memory]: execute the nodes in topological order; a node's outputs are
  // allocated when it starts and live with its inputs while it runs; a tensor is freed after its
  // last consumer finishes (graph outputs never are; an output nobody reads is freed at once).
  // Graph inputs are live from the start. Initializers are weights, counted apart. A tensor whose
  // size is unknown counts as 0, and unknown_size_tensors says the figures are then lower bounds.
  auto activation_bytes = [&](int id) -> int64_t {
    const auto& t = g.tensor(id);
    auto bytes = t.Bytes();
    return bytes.value_or(0);
  };
  int64_t live = 0;
  for (int id : g.inputs()) {
    live += activation_bytes(id);
    r.activation_bytes += activation_bytes(id);
    if (!g.tensor(id).Bytes()) ++r.unknown_size_tensors;
  }
  r.peak_activation_bytes = live;
  r.peak_node = g.nodes().empty() ? "" : "(graph inputs)";
  for (size_t k = 0; k < g.nodes().size(); ++k) {
    const auto& node = g.nodes()[k];
    for (int id : node.outputs) {
      if (id < 0) continue;
      live += activation_bytes(id);
      r.activation_bytes += activation_bytes(id);
      if (!g.tensor(id).Bytes()) ++r.unknown_size_tensors;
    }
    if (live > r.peak_activation_bytes) {
      r.peak_activation_bytes = live;
      r.peak_node = node.name;
    }
    auto release = [&](int id) {
      if (id < 0) return;
      const auto& t = g.tensor(id);
      if (t.kind == TensorKind::kInitializer || t.is_graph_output) return;
      if (t.consumers.empty() ? t.producer == static_cast<int>(k)
                              : t.consumers.back() == static_cast<int>(k)) {
        live -= activation_bytes(id);
      }
    };
    std::unordered_set<int> released;
    for (int id : node.inputs) {
      if (released.insert(id).second) release(id);
    }
    for (int id : node.implicit_inputs) {
      if (released.insert(id).second) release(id);
    }
    for (int id : node.outputs) {
      if (released.insert(id).second) release(id);
    }
  }
  PLASTER_ASSERT(live >= 0);

  r.node_count = static_cast<int>(g.nodes().size());
  r.depth = g.Depth();
  return r;
}

}  // namespace plaster::model
