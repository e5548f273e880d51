#pragma once
/// A read-only view of an ONNX graph for analysis: tensors resolved by name, nodes in a
/// topological order, producers and consumers. It points into the GraphProto it was built from,
/// which must outlive it.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/shape.h"

namespace onnx {
class GraphProto;
class NodeProto;
class TensorProto;
}  // namespace onnx

namespace plaster::model {

enum class TensorKind { kGraphInput, kInitializer, kNodeOutput };

struct TensorInfo {
  std::string name;
  TensorKind kind = TensorKind::kNodeOutput;
  int32_t dtype = 0;  ///< onnx::TensorProto::DataType; 0 when not known
  Shape shape;
  int producer = -1;           ///< node index (in nodes()) for kNodeOutput
  std::vector<int> consumers;  ///< node indices, each once, ascending
  bool is_graph_output = false;
  const onnx::TensorProto* initializer = nullptr;  ///< for kInitializer

  /// Element count × element size, when both are known.
  std::optional<int64_t> Bytes() const;
};

struct NodeInfo {
  const onnx::NodeProto* proto = nullptr;
  std::string name;  ///< the node's name, or "<op_type>#<position in file>" when it has none
  std::string op_type;
  std::string domain;                ///< "" for the default ONNX domain
  std::vector<int> inputs;           ///< tensor ids; -1 for an omitted optional input
  std::vector<int> outputs;          ///< tensor ids; -1 for an omitted optional output
  std::vector<int> implicit_inputs;  ///< outer-scope tensors its subgraphs (If/Loop/Scan) read
  int file_position = 0;             ///< where the node stands in the file

  /// "'Conv_3' (Conv)": how messages name a node.
  std::string Label() const;
};

class Graph {
 public:
  /// Resolves every name and orders the nodes topologically (file order where the data allows).
  /// Shapes and dtypes come from the graph's inputs, outputs, value_info and initializers.
  /// Throws plaster::Error when a tensor is produced twice, when a node reads a tensor that no
  /// node, initializer or graph input provides, or when the nodes form a cycle.
  static Graph Build(const onnx::GraphProto& graph);

  const std::vector<NodeInfo>& nodes() const { return nodes_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo& tensor(int id) const;
  std::optional<int> FindTensor(std::string_view name) const;

  /// Graph inputs that are not initializers (the data a caller feeds), in declared order.
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }
  const std::vector<int>& initializers() const { return initializers_; }

  /// For each node in nodes(), its position in the file; nodes()[i] came from file position
  /// order()[i].
  std::vector<int> FileOrder() const;

  /// The longest chain of nodes from a source to a sink (0 for a graph without nodes).
  int Depth() const;

 private:
  std::vector<NodeInfo> nodes_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, int> by_name_;
  std::vector<int> inputs_;
  std::vector<int> outputs_;
  std::vector<int> initializers_;
};

}  // namespace plaster::model
