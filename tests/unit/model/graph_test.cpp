#include "model/graph.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "model/builder.h"
#include "support/fixtures.h"

namespace plaster::model {
namespace {

// x -> a=Neg(x) -> b=Relu(a) ---------> d=Add(b, c)
//        \-> c=Abs(a) --------------/
onnx::GraphProto Diamond() {
  ModelBuilder b("diamond");
  b.Input("x", onnx::TensorProto::FLOAT, {4});
  b.Node("Neg", {"x"}, {"a"}, "neg");
  b.Node("Relu", {"a"}, {"b"}, "relu");
  b.Node("Abs", {"a"}, {"c"}, "abs");
  b.Node("Add", {"b", "c"}, {"d"}, "add");
  b.Output("d", onnx::TensorProto::FLOAT, {4});
  return b.proto().graph();
}

TEST(Graph, ResolvesProducersAndConsumers) {
  const onnx::GraphProto proto = Diamond();
  const Graph g = Graph::Build(proto);
  ASSERT_EQ(g.nodes().size(), 4u);
  const TensorInfo& a = g.tensor(*g.FindTensor("a"));
  EXPECT_EQ(a.kind, TensorKind::kNodeOutput);
  EXPECT_EQ(g.nodes()[static_cast<size_t>(a.producer)].name, "neg");
  ASSERT_EQ(a.consumers.size(), 2u);
  EXPECT_EQ(g.nodes()[static_cast<size_t>(a.consumers[0])].name, "relu");
  EXPECT_EQ(g.nodes()[static_cast<size_t>(a.consumers[1])].name, "abs");
  EXPECT_TRUE(g.tensor(*g.FindTensor("d")).is_graph_output);
  EXPECT_EQ(g.inputs().size(), 1u);
  EXPECT_FALSE(g.FindTensor("nope").has_value());
}

TEST(Graph, DepthIsTheLongestChain) {
  const onnx::GraphProto proto = Diamond();
  EXPECT_EQ(Graph::Build(proto).Depth(), 3);  // neg -> relu -> add
  onnx::GraphProto empty;
  EXPECT_EQ(Graph::Build(empty).Depth(), 0);
}

TEST(Graph, SortsStablyByFilePosition) {
  onnx::GraphProto proto = Diamond();
  // Move "add" to the front: it must still come last, the rest keep their file order.
  std::rotate(proto.mutable_node()->begin(), proto.mutable_node()->begin() + 3,
              proto.mutable_node()->end());
  const Graph g = Graph::Build(proto);
  std::vector<std::string> names;
  for (const auto& n : g.nodes()) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"neg", "relu", "abs", "add"}));
  EXPECT_EQ(g.FileOrder(), (std::vector<int>{1, 2, 3, 0}));
}

TEST(Graph, UnnamedNodesGetAPositionalName) {
  onnx::GraphProto proto = Diamond();
  proto.mutable_node(2)->clear_name();
  const Graph g = Graph::Build(proto);
  EXPECT_EQ(g.nodes()[2].name, "Abs#2");
  EXPECT_EQ(g.nodes()[2].Label(), "'Abs#2' (Abs)");
}

TEST(Graph, DuplicateOutputIsAnError) {
  onnx::GraphProto proto = Diamond();
  proto.mutable_node(2)->set_output(0, "b");
  EXPECT_EQ(testing::ErrorOf([&] { Graph::Build(proto); }),
            "node 'abs' (Abs): output 'b' is already produced by another node");
}

TEST(Graph, SubgraphReadsFromOuterScopeAreDependencies) {
  // If's branches read "a" from the enclosing graph: If must come after Neg.
  ModelBuilder b("if");
  b.Input("x", onnx::TensorProto::FLOAT, {4});
  b.Input("cond", onnx::TensorProto::BOOL, {});
  onnx::GraphProto branch;
  branch.set_name("branch");
  auto* n = branch.add_node();
  n->set_op_type("Relu");
  n->add_input("a");
  n->add_output("r");
  auto* out = branch.add_output();
  out->set_name("r");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* if_node = b.proto().mutable_graph()->add_node();
  if_node->set_op_type("If");
  if_node->set_name("if");
  if_node->add_input("cond");
  if_node->add_output("y");
  for (const char* name : {"then_branch", "else_branch"}) {
    auto* attr = if_node->add_attribute();
    attr->set_name(name);
    attr->set_type(onnx::AttributeProto::GRAPH);
    *attr->mutable_g() = branch;
  }
  b.Node("Neg", {"x"}, {"a"}, "neg");
  const Graph g = Graph::Build(b.proto().graph());
  ASSERT_EQ(g.nodes().size(), 2u);
  EXPECT_EQ(g.nodes()[0].name, "neg");
  EXPECT_EQ(g.nodes()[1].name, "if");
  ASSERT_EQ(g.nodes()[1].implicit_inputs.size(), 1u);
  EXPECT_EQ(g.tensor(g.nodes()[1].implicit_inputs[0]).name, "a");
}

}  // namespace
}  // namespace plaster::model
