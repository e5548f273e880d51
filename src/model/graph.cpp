#include "model/graph.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_set>

#include "core/error.h"
#include "core/units.h"
#include "model/dtype.h"

namespace plaster::model {
namespace {

Shape ShapeOf(const onnx::TypeProto& type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return Shape::Unknown();
  Shape shape;
  shape.rank_known = true;
  for (const auto& dim : type.tensor_type().shape().dim()) {
    if (dim.has_dim_value() && dim.dim_value() >= 0) {
      shape.dims.push_back(dim.dim_value());
      shape.symbols.emplace_back();
    } else {
      shape.dims.push_back(Shape::kUnknownDim);
      shape.symbols.push_back(dim.has_dim_param() ? dim.dim_param() : "");
    }
  }
  return shape;
}

// Names a subgraph reads from enclosing scopes: used but defined neither inside it (inputs,
// initializers, node outputs) nor in a subgraph nested deeper.
void CollectOuterReads(const onnx::GraphProto& graph, std::unordered_set<std::string>* reads) {
  std::unordered_set<std::string> defined;
  for (const auto& v : graph.input()) defined.insert(v.name());
  for (const auto& t : graph.initializer()) defined.insert(t.name());
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) defined.insert(out);
  }
  auto use = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name)) reads->insert(name);
  };
  for (const auto& node : graph.node()) {
    for (const auto& in : node.input()) use(in);
    for (const auto& attr : node.attribute()) {
      std::unordered_set<std::string> inner;
      if (attr.has_g()) CollectOuterReads(attr.g(), &inner);
      for (const auto& g : attr.graphs()) CollectOuterReads(g, &inner);
      for (const auto& name : inner) use(name);
    }
  }
  for (const auto& out : graph.output()) use(out.name());
}

}  // namespace

std::optional<int64_t> TensorInfo::Bytes() const {
  auto n = shape.NumElements();
  int64_t size = DtypeSize(dtype);
  if (!n || size == 0) return std::nullopt;
  int64_t bytes = 0;
  if (!CheckedMul(*n, size, &bytes)) return std::nullopt;
  return bytes;
}

std::string NodeInfo::Label() const { return "'" + name + "' (" + op_type + ")"; }

const TensorInfo& Graph::tensor(int id) const {
  PLASTER_ASSERT(id >= 0 && static_cast<size_t>(id) < tensors_.size());
  return tensors_[static_cast<size_t>(id)];
}

std::optional<int> Graph::FindTensor(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<int> Graph::FileOrder() const {
  std::vector<int> order;
  order.reserve(nodes_.size());
  for (const auto& node : nodes_) order.push_back(node.file_position);
  return order;
}

Graph Graph::Build(const onnx::GraphProto& proto) {
  Graph g;
  auto add_tensor = [&](const std::string& name, TensorKind kind) -> int {
    int id = static_cast<int>(g.tensors_.size());
    TensorInfo info;
    info.name = name;
    info.kind = kind;
    g.tensors_.push_back(std::move(info));
    g.by_name_.emplace(name, id);
    return id;
  };

  for (const auto& init : proto.initializer()) {
    PLASTER_CHECK(!g.by_name_.count(init.name()), "initializer '{}' is defined twice", init.name());
    int id = add_tensor(init.name(), TensorKind::kInitializer);
    auto& t = g.tensors_[static_cast<size_t>(id)];
    t.initializer = &init;
    t.dtype = init.data_type();
    t.shape = Shape::Of({init.dims().begin(), init.dims().end()});
    g.initializers_.push_back(id);
  }
  for (const auto& input : proto.input()) {
    auto it = g.by_name_.find(input.name());
    if (it != g.by_name_.end()) {
      // IR < 4 lists initializers among the inputs too (as defaults); they stay initializers.
      PLASTER_CHECK(g.tensors_[static_cast<size_t>(it->second)].kind == TensorKind::kInitializer,
                    "graph input '{}' is declared twice", input.name());
      continue;
    }
    int id = add_tensor(input.name(), TensorKind::kGraphInput);
    auto& t = g.tensors_[static_cast<size_t>(id)];
    t.dtype = input.type().tensor_type().elem_type();
    t.shape = ShapeOf(input.type());
    g.inputs_.push_back(id);
  }

  // Node outputs: each tensor has exactly one producer (static single assignment).
  const int node_count = proto.node_size();
  std::vector<NodeInfo> by_file(static_cast<size_t>(node_count));
  for (int i = 0; i < node_count; ++i) {
    const auto& node = proto.node(i);
    auto& info = by_file[static_cast<size_t>(i)];
    info.proto = &node;
    info.op_type = node.op_type();
    info.domain = node.domain() == "ai.onnx" ? "" : node.domain();
    info.name = node.name().empty() ? node.op_type() + "#" + std::to_string(i) : node.name();
    info.file_position = i;
    for (const auto& out : node.output()) {
      if (out.empty()) {
        info.outputs.push_back(-1);
        continue;
      }
      auto it = g.by_name_.find(out);
      if (it != g.by_name_.end()) {
        const auto& existing = g.tensors_[static_cast<size_t>(it->second)];
        Fail("node {}: output '{}' is already {}", info.Label(), out,
             existing.kind == TensorKind::kNodeOutput    ? "produced by another node"
             : existing.kind == TensorKind::kInitializer ? "an initializer"
                                                         : "a graph input");
      }
      int id = add_tensor(out, TensorKind::kNodeOutput);
      g.tensors_[static_cast<size_t>(id)].producer = i;  // file position for now
      info.outputs.push_back(id);
    }
  }
  for (auto& info : by_file) {
    for (const auto& in : info.proto->input()) {
      if (in.empty()) {
        info.inputs.push_back(-1);
        continue;
      }
      auto it = g.by_name_.find(in);
      PLASTER_CHECK(it != g.by_name_.end(),
                    "node {}: input '{}' is not produced by any node, initializer or graph input",
                    info.Label(), in);
      info.inputs.push_back(it->second);
    }
    std::unordered_set<std::string> outer;
    for (const auto& attr : info.proto->attribute()) {
      if (attr.has_g()) CollectOuterReads(attr.g(), &outer);
      for (const auto& sub : attr.graphs()) CollectOuterReads(sub, &outer);
    }
    std::vector<std::string> sorted(outer.begin(), outer.end());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& name : sorted) {
      auto it = g.by_name_.find(name);
      PLASTER_CHECK(it != g.by_name_.end(),
                    "node {}: its subgraph reads '{}', which is defined nowhere", info.Label(),
                    name);
      info.implicit_inputs.push_back(it->second);
    }
  }

  // Kahn's algorithm, always taking the ready node that comes first in the file, so a graph that
  // is already sorted keeps its order.
  std::vector<int> pending(static_cast<size_t>(node_count), 0);
  std::vector<std::vector<int>> successors(static_cast<size_t>(node_count));
  for (const auto& info : by_file) {
    std::unordered_set<int> preds;
    auto depend = [&](int tensor_id) {
      if (tensor_id < 0) return;
      int producer = g.tensors_[static_cast<size_t>(tensor_id)].producer;
      if (producer >= 0 && preds.insert(producer).second) {
        successors[static_cast<size_t>(producer)].push_back(info.file_position);
      }
    };
    for (int id : info.inputs) depend(id);
    for (int id : info.implicit_inputs) depend(id);
    pending[static_cast<size_t>(info.file_position)] = static_cast<int>(preds.size());
  }
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int i = 0; i < node_count; ++i) {
    if (pending[static_cast<size_t>(i)] == 0) ready.push(i);
  }
  std::vector<int> order;
  order.reserve(static_cast<size_t>(node_count));
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int s : successors[static_cast<size_t>(i)]) {
      if (--pending[static_cast<size_t>(s)] == 0) ready.push(s);
    }
  }
  if (static_cast<int>(order.size()) != node_count) {
    // Walk back from a stuck node through stuck producers until a node repeats: that is a cycle.
    int start = 0;
    while (pending[static_cast<size_t>(start)] == 0) ++start;
    std::vector<int> path;
    std::vector<int> seen_at(static_cast<size_t>(node_count), -1);
    int current = start;
    while (seen_at[static_cast<size_t>(current)] < 0) {
      seen_at[static_cast<size_t>(current)] = static_cast<int>(path.size());
      path.push_back(current);
      int next = -1;
      const auto& info = by_file[static_cast<size_t>(current)];
      std::vector<int> reads = info.inputs;
      reads.insert(reads.end(), info.implicit_inputs.begin(), info.implicit_inputs.end());
      for (int id : reads) {
        if (id < 0) continue;
        int p = g.tensors_[static_cast<size_t>(id)].producer;
        if (p >= 0 && pending[static_cast<size_t>(p)] > 0) {
          next = p;
          break;
        }
      }
      PLASTER_ASSERT(next >= 0);
      current = next;
    }
    // path walks against the data flow; reverse it, and start at the node first in the file.
    std::vector<int> cycle_nodes(path.begin() + seen_at[static_cast<size_t>(current)], path.end());
    std::reverse(cycle_nodes.begin(), cycle_nodes.end());
    std::rotate(cycle_nodes.begin(), std::min_element(cycle_nodes.begin(), cycle_nodes.end()),
                cycle_nodes.end());
    std::string cycle;
    for (int n : cycle_nodes) cycle += "'" + by_file[static_cast<size_t>(n)].name + "' -> ";
    cycle += "'" + by_file[static_cast<size_t>(cycle_nodes.front())].name + "'";
    Fail("the graph has a cycle: {}", cycle);
  }

  std::vector<int> topo_index(static_cast<size_t>(node_count));
  for (size_t k = 0; k < order.size(); ++k)
    topo_index[static_cast<size_t>(order[k])] = static_cast<int>(k);
  g.nodes_.reserve(order.size());
  for (int file_pos : order) g.nodes_.push_back(std::move(by_file[static_cast<size_t>(file_pos)]));
  for (auto& t : g.tensors_) {
    if (t.producer >= 0) t.producer = topo_index[static_cast<size_t>(t.producer)];
  }
  for (size_t k = 0; k < g.nodes_.size(); ++k) {
    auto consume = [&](int id) {
      if (id < 0) return;
      auto& consumers = g.tensors_[static_cast<size_t>(id)].consumers;
      if (consumers.empty() || consumers.back() != static_cast<int>(k))
        consumers.push_back(static_cast<int>(k));
    };
    for (int id : g.nodes_[k].inputs) consume(id);
    for (int id : g.nodes_[k].implicit_inputs) consume(id);
  }

  // Types and shapes of the rest from value_info and the declared outputs.
  auto annotate = [&](const onnx::ValueInfoProto& v) {
    auto it = g.by_name_.find(v.name());
    if (it == g.by_name_.end()) return;
    auto& t = g.tensors_[static_cast<size_t>(it->second)];
    if (t.kind == TensorKind::kNodeOutput) {
      if (v.type().tensor_type().elem_type() != 0) t.dtype = v.type().tensor_type().elem_type();
      Shape s = ShapeOf(v.type());
      if (s.rank_known) t.shape = std::move(s);
    }
  };
  for (const auto& v : proto.value_info()) annotate(v);
  for (const auto& out : proto.output()) {
    auto it = g.by_name_.find(out.name());
    PLASTER_CHECK(it != g.by_name_.end(),
                  "graph output '{}' is not produced by any node, initializer or graph input",
                  out.name());
    annotate(out);
    g.tensors_[static_cast<size_t>(it->second)].is_graph_output = true;
    g.outputs_.push_back(it->second);
  }
  return g;
}

int Graph::Depth() const {
  std::vector<int> depth(nodes_.size(), 0);
  int best = 0;
  for (size_t k = 0; k < nodes_.size(); ++k) {
    int d = 0;
    auto from = [&](int id) {
      if (id < 0) return;
      int p = tensors_[static_cast<size_t>(id)].producer;
      if (p >= 0) d = std::max(d, depth[static_cast<size_t>(p)]);
    };
    for (int id : nodes_[k].inputs) from(id);
    for (int id : nodes_[k].implicit_inputs) from(id);
    depth[k] = d + 1;
    best = std::max(best, depth[k]);
  }
  return best;
}

}  // namespace plaster::model
