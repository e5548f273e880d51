// Note [Initial weights]: `plaster learn MODEL --init TRAINED` re-learns from TRAINED's weights
// with MODEL's graph (the "retrain several times a day" case: TRAINED is yesterday's --save).
// Initializers match by name, and must agree in type and shape. A model that `--save` wrote
// holds, as initializers of their own, the copies that MODEL makes with Identity nodes (Note
// [Training]), so such an initializer replaces its Identity node. Initializers of MODEL that the
// file lacks keep MODEL's values (the report counts what was taken); the file's initializers
// that MODEL lacks are listed. The result is serialized and loaded again, so it is checked as any
// model is.

#include "model/initial_weights.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "model/dtype.h"

namespace plaster::model {
namespace {

std::string Describe(const onnx::TensorProto& t) {
  std::string dims;
  for (int k = 0; k < t.dims_size(); ++k) dims += (k ? "x" : "") + std::to_string(t.dims(k));
  return fmt::format("{} [{}]", DtypeName(t.data_type()), dims);
}

bool SameDims(const onnx::TensorProto& a, const onnx::TensorProto& b) {
  if (a.dims_size() != b.dims_size()) return false;
  for (int k = 0; k < a.dims_size(); ++k) {
    if (a.dims(k) != b.dims(k)) return false;
  }
  return true;
}

}  // namespace

void EmbedExternalData(const Model& m, onnx::GraphProto* g) {
  for (auto& t : *g->mutable_initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
    const std::string bytes = m.ReadTensorData(t);
    t.clear_external_data();
    t.set_data_location(onnx::TensorProto::DEFAULT);
    t.set_raw_data(bytes);
  }
}

Model WithInitialWeights(const Model& m, const std::string& init, const LoadOptions& options,
                         InitialWeights* report) {
  const Model source = Model::FromFile(init);
  onnx::ModelProto proto = m.DeclaredCopy();
  onnx::GraphProto* g = proto.mutable_graph();
  EmbedExternalData(m, g);
  std::map<std::string, onnx::TensorProto*> own;
  for (auto& t : *g->mutable_initializer()) own[t.name()] = &t;
  std::map<std::string, int> copies;  // output of an Identity of an initializer → node index
  for (int k = 0; k < g->node_size(); ++k) {
    const onnx::NodeProto& n = g->node(k);
    if (n.op_type() == "Identity" && n.domain().empty() && n.input_size() == 1 &&
        n.output_size() == 1 && own.count(n.input(0))) {
      copies[n.output(0)] = k;
    }
  }
  InitialWeights r;
  r.file = init;
  std::vector<int> replaced_nodes;
  std::vector<onnx::TensorProto> added;
  for (const onnx::TensorProto& t : source.proto().graph().initializer()) {
    const onnx::TensorProto* like = nullptr;
    auto it = own.find(t.name());
    auto copy = copies.find(t.name());
    if (it != own.end()) {
      like = it->second;
    } else if (copy != copies.end()) {
      like = own.at(g->node(copy->second).input(0));
    } else {
      r.unused.push_back(t.name());
      continue;
    }
    PLASTER_CHECK(t.data_type() == like->data_type() && SameDims(t, *like),
                  "--init {}: initializer '{}' has {} there and {} in {}", init, t.name(),
                  Describe(t), Describe(*like), m.display_name());
    onnx::TensorProto value;
    value.set_name(t.name());
    value.set_data_type(t.data_type());
    *value.mutable_dims() = t.dims();
    value.set_raw_data(source.ReadTensorData(t));
    int64_t elements = 1;
    for (int64_t d : t.dims()) elements *= d;
    ++r.tensors;
    r.values += elements;
    if (it != own.end()) {
      *it->second = std::move(value);
    } else {
      added.push_back(std::move(value));
      replaced_nodes.push_back(copy->second);
    }
  }
  PLASTER_CHECK(r.tensors > 0, "--init {}: none of its {} initializers is one of {}'s", init,
                source.proto().graph().initializer_size(), m.display_name());
  std::sort(replaced_nodes.rbegin(), replaced_nodes.rend());
  for (int k : replaced_nodes) g->mutable_node()->DeleteSubrange(k, 1);
  for (auto& t : added) *g->add_initializer() = std::move(t);
  if (report != nullptr) *report = std::move(r);
  return Model::FromBytes(proto.SerializeAsString(), m.display_name(), options);
}

}  // namespace plaster::model
