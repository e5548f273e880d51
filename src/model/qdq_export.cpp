// Note [QDQ export]: an int8 model to deploy is written the way ONNX Runtime's quantization tool
// writes one, so that every runtime that reads QDQ models (ONNX Runtime, TensorRT, OpenVINO) can
// run it with int8 kernels and plaster can run it again:
//
//   x ─ QuantizeLinear(s_x, 0) ─ DequantizeLinear(s_x, 0) ─┐
//   W_int8 ──────────────────── DequantizeLinear(s_w, 0, axis) ─ Conv/MatMul/Gemm ─ (bias float32)
//
// The arithmetic is the engine's own (engine/torch/calibration.h, dnnl_util.h): an activation in
// [0, T] is u8 with scale T/255, one in [−T, T] s8 with T/127, zero point 0; a weight is s8,
// symmetric per output channel (Conv: axis 0; Gemm: axis 0 with transB, else 1; MatMul: the last
// axis of a 2-D weight) with scale max|w|/127 (1 for an all-zero channel), values clamped to
// ±127. A BatchNormalization whose input is a convolution read by nothing else is folded into it
// first, as the engine folds it before quantizing, so the weights that get rounded are the same.
// A tensor read by several quantized nodes gets one QuantizeLinear/DequantizeLinear pair, so a
// convolution whose output feeds the next one reads Conv → Relu → Q → DQ → Conv: the group a
// runtime fuses into an int8 chain, as the engine chains its int8 convolutions (Note [Int8
// chains]). Biases stay float32, as the engine adds them in real units.

#include "model/qdq_export.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "model/initial_weights.h"

namespace plaster::model {
namespace {

using Bytes = std::string;

std::vector<float> Floats(const Model& m, const onnx::TensorProto& t) {
  const Bytes bytes = m.ReadTensorData(t);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

int64_t Elements(const onnx::TensorProto& t) {
  int64_t n = 1;
  for (int64_t d : t.dims()) n *= d;
  return n;
}

void SetFloats(onnx::TensorProto* t, const std::string& name, const std::vector<int64_t>& dims,
               const std::vector<float>& v) {
  t->Clear();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
}

// Graph-level maps over a GraphProto being rewritten.
struct Index {
  std::map<std::string, int> initializer;           // name → position
  std::map<std::string, std::vector<int>> readers;  // tensor → nodes reading it
  std::set<std::string> graph_outputs;

  explicit Index(const onnx::GraphProto& g) {
    for (int i = 0; i < g.initializer_size(); ++i) initializer[g.initializer(i).name()] = i;
    for (int n = 0; n < g.node_size(); ++n) {
      for (const auto& in : g.node(n).input()) {
        if (!in.empty()) readers[in].push_back(n);
      }
    }
    for (const auto& o : g.output()) graph_outputs.insert(o.name());
  }
  const onnx::TensorProto* Float(const onnx::GraphProto& g, const std::string& name) const {
    auto it = initializer.find(name);
    if (it == initializer.end()) return nullptr;
    const auto& t = g.initializer(it->second);
    return t.data_type() == onnx::TensorProto::FLOAT ? &t : nullptr;
  }
};

float FloatAttribute(const onnx::NodeProto& n, const std::string& name, float fallback) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name) return a.f();
  }
  return fallback;
}

int64_t IntAttribute(const onnx::NodeProto& n, const std::string& name, int64_t fallback) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

// Folds Conv → BatchNormalization pairs (Note [QDQ export]); returns how many.
int FoldBatchNorms(const Model& m, onnx::GraphProto* g) {
  int folded = 0;
  std::set<int> removed;
  Index index(*g);
  std::map<std::string, int> producer;
  for (int n = 0; n < g->node_size(); ++n) {
    for (const auto& out : g->node(n).output()) producer[out] = n;
  }
  for (int b = 0; b < g->node_size(); ++b) {
    const onnx::NodeProto& bn = g->node(b);
    if (bn.op_type() != "BatchNormalization" || bn.input_size() != 5 || bn.output_size() != 1) {
      continue;
    }
    auto p = producer.find(bn.input(0));
    if (p == producer.end()) continue;
    onnx::NodeProto* conv = g->mutable_node(p->second);
    if (conv->op_type() != "Conv" || conv->input_size() < 2 || conv->output_size() != 1 ||
        index.readers[conv->output(0)].size() != 1 || index.graph_outputs.count(conv->output(0))) {
      continue;
    }
    const onnx::TensorProto* w = index.Float(*g, conv->input(1));
    const onnx::TensorProto* bias =
        conv->input_size() > 2 && !conv->input(2).empty() ? index.Float(*g, conv->input(2)) : nullptr;
    const onnx::TensorProto* params[4];
    bool constant = w != nullptr && (conv->input_size() <= 2 || conv->input(2).empty() || bias);
    for (int k = 0; k < 4 && constant; ++k) {
      params[k] = index.Float(*g, bn.input(k + 1));
      constant = params[k] != nullptr;
    }
    if (!constant || w->dims_size() < 1) continue;
    const int64_t out_channels = w->dims(0);
    const std::vector<float> scale = Floats(m, *params[0]), shift = Floats(m, *params[1]),
                             mean = Floats(m, *params[2]), var = Floats(m, *params[3]);
    if (static_cast<int64_t>(scale.size()) != out_channels || shift.size() != scale.size() ||
        mean.size() != scale.size() || var.size() != scale.size()) {
      continue;
    }
    std::vector<float> weights = Floats(m, *w);
    std::vector<float> folded_bias =
        bias ? Floats(m, *bias) : std::vector<float>(scale.size(), 0.0f);
    const float eps = FloatAttribute(bn, "epsilon", 1e-5f);
    const int64_t per_channel = Elements(*w) / std::max<int64_t>(out_channels, 1);
    for (int64_t o = 0; o < out_channels; ++o) {
      const float k = scale[o] / std::sqrt(var[o] + eps);
      for (int64_t i = 0; i < per_channel; ++i) weights[o * per_channel + i] *= k;
      folded_bias[o] = (folded_bias[o] - mean[o]) * k + shift[o];
    }
    // New initializers: the originals may be shared with other nodes.
    const std::string wname = conv->input(1) + "_bn_folded";
    const std::string bname = bn.name().empty() ? conv->output(0) + "_bias_bn_folded"
                                                : bn.name() + "_bias_folded";
    std::vector<int64_t> wdims(w->dims().begin(), w->dims().end());
    SetFloats(g->add_initializer(), wname, wdims, weights);
    SetFloats(g->add_initializer(), bname, {out_channels}, folded_bias);
    conv->set_input(1, wname);
    if (conv->input_size() > 2) {
      conv->set_input(2, bname);
    } else {
      conv->add_input(bname);
    }
    conv->set_output(0, bn.output(0));
    removed.insert(b);
    ++folded;
    index = Index(*g);  // the initializer positions moved
  }
  if (!removed.empty()) {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (int n = 0; n < g->node_size(); ++n) {
      if (!removed.count(n)) kept.Add()->Swap(g->mutable_node(n));
    }
    g->mutable_node()->Swap(&kept);
  }
  return folded;
}

// Drops initializers nothing reads any more (the weights replaced by folded or int8 ones).
void DropUnread(onnx::GraphProto* g) {
  std::set<std::string> read;
  for (const auto& n : g->node()) {
    for (const auto& in : n.input()) read.insert(in);
  }
  for (const auto& o : g->output()) read.insert(o.name());
  google::protobuf::RepeatedPtrField<onnx::TensorProto> kept;
  for (auto& t : *g->mutable_initializer()) {
    if (read.count(t.name())) kept.Add()->Swap(&t);
  }
  g->mutable_initializer()->Swap(&kept);
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
  std::set<std::string> inits;
  for (const auto& t : g->initializer()) inits.insert(t.name());
  for (auto& v : *g->mutable_input()) {
    // A graph input that only named a dropped initializer goes with it.
    if (read.count(v.name()) || !inits.count(v.name())) inputs.Add()->CopyFrom(v);
  }
  g->mutable_input()->Swap(&inputs);
}

onnx::NodeProto MakeNode(const std::string& op, const std::string& name,
                         std::vector<std::string> inputs, const std::string& output) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (auto& in : inputs) n.add_input(in);
  n.add_output(output);
  return n;
}

void Write(onnx::ModelProto& proto, const std::map<std::string, std::string>& metadata,
           const std::string& path) {
  for (const auto& [key, value] : metadata) {
    onnx::StringStringEntryProto* entry = nullptr;
    for (auto& e : *proto.mutable_metadata_props()) {
      if (e.key() == key) entry = &e;
    }
    if (!entry) entry = proto.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  PLASTER_CHECK(proto.ByteSizeLong() < (size_t{1} << 31),
                "{}: the model is over protobuf's 2 GB limit once its external data is embedded",
                path);
  std::ofstream out(path, std::ios::binary);
  PLASTER_CHECK(out.good() && proto.SerializeToOstream(&out) && out.flush().good(),
                "{}: cannot write the model", path);
}

}  // namespace

void ExportModel(const Model& m, const std::map<std::string, std::string>& metadata,
                 const std::string& path) {
  onnx::ModelProto proto = m.DeclaredCopy();
  EmbedExternalData(m, proto.mutable_graph());
  Write(proto, metadata, path);
}

QdqExport ExportQdq(const Model& m, const std::map<std::string, ActivationRange>& ranges,
                    const std::set<std::string>& keep_float,
                    const std::map<std::string, std::string>& metadata, const std::string& path) {
  PLASTER_CHECK(m.opset() >= 13,
                "{}: an int8 export needs opset 13 or later (per-channel DequantizeLinear); the "
                "model is opset {}",
                m.display_name(), m.opset());
  QdqExport result;
  onnx::ModelProto proto = m.DeclaredCopy();
  onnx::GraphProto* g = proto.mutable_graph();
  EmbedExternalData(m, g);
  result.folded_batchnorms = FoldBatchNorms(m, g);

  Index index(*g);
  std::map<std::string, std::string> dequantized;  // activation → its DequantizeLinear output
  std::vector<onnx::NodeProto> nodes;              // the new node list, in order
  std::vector<onnx::TensorProto> added;            // new initializers
  auto scalar = [&](const std::string& name, int type, float value) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(type);
    if (type == onnx::TensorProto::FLOAT) {
      t.add_float_data(value);
    } else {
      t.add_int32_data(0);  // zero points: u8 and s8 values are stored in int32_data
    }
    added.push_back(t);
  };
  for (int n = 0; n < g->node_size(); ++n) {
    onnx::NodeProto node = g->node(n);
    const std::string& op = node.op_type();
    const bool candidate = (op == "Conv" || op == "MatMul" || op == "Gemm") && node.input_size() >= 2;
    if (!candidate) {
      nodes.push_back(node);
      continue;
    }
    const std::string label = fmt::format("'{}' ({})", node.name(), op);
    auto keep = [&](const std::string& why) {
      result.kept_float.push_back(label + ": " + why);
      nodes.push_back(node);
    };
    if (keep_float.count(node.name())) {
      keep("the engine computed it in float32");
      continue;
    }
    auto range = ranges.find(node.input(0));
    if (range == ranges.end()) {
      keep("its input has no calibrated range");
      continue;
    }
    const onnx::TensorProto* w = index.Float(*g, node.input(1));
    if (!w) {
      keep("its weight is not a float32 initializer");
      continue;
    }
    int64_t axis = 0;
    if (op == "Gemm") {
      if (IntAttribute(node, "transA", 0) != 0) {
        keep("Gemm with transA");
        continue;
      }
      axis = IntAttribute(node, "transB", 0) != 0 ? 0 : 1;
    } else if (op == "MatMul") {
      if (w->dims_size() != 2) {
        keep("a MatMul weight that is not 2-D");
        continue;
      }
      axis = 1;
    }
    if (w->dims_size() < 1 || axis >= w->dims_size()) {
      keep("a weight without an output-channel axis");
      continue;
    }
    // The activation's pair, once per tensor.
    const std::string& x = node.input(0);
    if (!dequantized.count(x)) {
      const ActivationRange& r = range->second;
      const float s = r.threshold > 0 ? r.threshold / (r.is_unsigned ? 255.0f : 127.0f) : 1.0f;
      const std::string sname = x + "_scale", zname = x + "_zero_point";
      scalar(sname, onnx::TensorProto::FLOAT, s);
      scalar(zname, r.is_unsigned ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8, 0);
      nodes.push_back(MakeNode("QuantizeLinear", x + "_QuantizeLinear", {x, sname, zname},
                               x + "_quantized"));
      nodes.push_back(MakeNode("DequantizeLinear", x + "_DequantizeLinear",
                               {x + "_quantized", sname, zname}, x + "_dequantized"));
      dequantized[x] = x + "_dequantized";
    }
    // The weight: s8, symmetric per output channel.
    const std::vector<float> wf = Floats(m, *w);
    std::vector<int64_t> dims(w->dims().begin(), w->dims().end());
    const int64_t channels = dims[static_cast<size_t>(axis)];
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d) inner *= dims[d];
    std::vector<float> scales(static_cast<size_t>(channels), 0.0f);
    for (size_t i = 0; i < wf.size(); ++i) {
      const auto c = static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
      scales[c] = std::max(scales[c], std::fabs(wf[i]));
    }
    for (float& s : scales) s = s > 0 ? s / 127.0f : 1.0f;
    std::string values(wf.size(), '\0');
    for (size_t i = 0; i < wf.size(); ++i) {
      const auto c = static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
      const float q = std::clamp(std::nearbyint(wf[i] / scales[c]), -127.0f, 127.0f);
      values[i] = static_cast<char>(static_cast<int8_t>(q));
    }
    const std::string base = node.name().empty() ? node.input(1) : node.name() + "_" + node.input(1);
    onnx::TensorProto wq;
    wq.set_name(base + "_int8");
    wq.set_data_type(onnx::TensorProto::INT8);
    for (int64_t d : dims) wq.add_dims(d);
    wq.set_raw_data(values);
    added.push_back(wq);
    onnx::TensorProto ws;
    SetFloats(&ws, base + "_scale", {channels}, scales);
    added.push_back(ws);
    onnx::TensorProto wz;
    wz.set_name(base + "_zero_point");
    wz.set_data_type(onnx::TensorProto::INT8);
    wz.add_dims(channels);
    wz.set_raw_data(std::string(static_cast<size_t>(channels), '\0'));
    added.push_back(wz);
    onnx::NodeProto dq = MakeNode("DequantizeLinear", base + "_DequantizeLinear",
                                  {wq.name(), ws.name(), wz.name()}, base + "_dequantized");
    auto* a = dq.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
    nodes.push_back(dq);
    node.set_input(0, dequantized[x]);
    node.set_input(1, dq.output(0));
    nodes.push_back(node);
    ++result.quantized;
  }
  g->clear_node();
  for (auto& n : nodes) g->add_node()->Swap(&n);
  for (auto& t : added) g->add_initializer()->Swap(&t);
  DropUnread(g);
  Write(proto, metadata, path);
  return result;
}

}  // namespace plaster::model
