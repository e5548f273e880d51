#include "model/builder.h"

#include <onnx/onnx_pb.h>

#include <cstring>

#include "core/error.h"

namespace plaster::model {
namespace {

onnx::AttributeProto* AddAttr(onnx::NodeProto* node, const std::string& name,
                              onnx::AttributeProto::AttributeType type) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

void SetShape(onnx::ValueInfoProto* v, int32_t dtype, const std::vector<Dim>& dims) {
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype);
  auto* shape = tt->mutable_shape();
  for (const auto& d : dims) {
    auto* dim = shape->add_dim();
    if (d.symbol.empty())
      dim->set_dim_value(d.value);
    else
      dim->set_dim_param(d.symbol);
  }
}

}  // namespace

NodeRef& NodeRef::Int(const std::string& name, int64_t value) {
  AddAttr(node_, name, onnx::AttributeProto::INT)->set_i(value);
  return *this;
}
NodeRef& NodeRef::Ints(const std::string& name, const std::vector<int64_t>& values) {
  auto* a = AddAttr(node_, name, onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
  return *this;
}
NodeRef& NodeRef::Float(const std::string& name, float value) {
  AddAttr(node_, name, onnx::AttributeProto::FLOAT)->set_f(value);
  return *this;
}
NodeRef& NodeRef::String(const std::string& name, const std::string& value) {
  AddAttr(node_, name, onnx::AttributeProto::STRING)->set_s(value);
  return *this;
}

ModelBuilder::ModelBuilder(const std::string& graph_name, int64_t opset)
    : proto_(new onnx::ModelProto()) {
  proto_->set_ir_version(8);
  proto_->set_producer_name("plaster");
  auto* op = proto_->add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  proto_->mutable_graph()->set_name(graph_name);
}

ModelBuilder::~ModelBuilder() { delete proto_; }

void ModelBuilder::Input(const std::string& name, int32_t dtype, const std::vector<Dim>& dims) {
  auto* v = proto_->mutable_graph()->add_input();
  v->set_name(name);
  SetShape(v, dtype, dims);
}

void ModelBuilder::Output(const std::string& name, int32_t dtype, const std::vector<Dim>& dims) {
  auto* v = proto_->mutable_graph()->add_output();
  v->set_name(name);
  SetShape(v, dtype, dims);
}

void ModelBuilder::Initializer(const std::string& name, const std::vector<int64_t>& dims,
                               const std::vector<float>& values) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  PLASTER_ASSERT(static_cast<int64_t>(values.size()) == n);
  auto* t = proto_->mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
}

void ModelBuilder::InitializerInt64(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<int64_t>& values) {
  auto* t = proto_->mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 8));
}

NodeRef ModelBuilder::Node(const std::string& op_type, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs, const std::string& name) {
  auto* node = proto_->mutable_graph()->add_node();
  node->set_op_type(op_type);
  node->set_name(name.empty() ? op_type + "_" + std::to_string(proto_->graph().node_size() - 1)
                              : name);
  for (const auto& in : inputs) node->add_input(in);
  for (const auto& out : outputs) node->add_output(out);
  return NodeRef(node);
}

std::string ModelBuilder::Serialize() const { return proto_->SerializeAsString(); }

}  // namespace plaster::model
