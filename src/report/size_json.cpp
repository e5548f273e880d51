#include <algorithm>
#include <string>

#include "plaster/version.h"
#include "report/size_report.h"

namespace plaster::report {
namespace {

using Json = nlohmann::ordered_json;

Json ShapeJson(const model::Shape& s) {
  if (!s.rank_known) return nullptr;
  Json dims = Json::array();
  for (size_t k = 0; k < s.rank(); ++k) {
    if (s.dims[k] >= 0)
      dims.push_back(s.dims[k]);
    else if (!s.symbols[k].empty())
      dims.push_back(s.symbols[k]);
    else
      dims.push_back(nullptr);
  }
  return dims;
}

Json Tensors(const std::vector<model::TensorSummary>& list) {
  Json out = Json::array();
  for (const auto& t : list) {
    out.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", ShapeJson(t.shape)}});
  }
  return out;
}

template <typename T>
Json OrNull(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

// JSON text is UTF-8, but names and reasons come from the model (protobuf does not check that
// proto2 strings are UTF-8) and from the file name, and dump() throws on an invalid byte. Invalid
// bytes become U+FFFD, exactly as nlohmann's error_handler_t::replace writes them.
std::string ValidUtf8(const std::string& s) {
  if (std::all_of(s.begin(), s.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return s;
  }
  return Json::parse(Json(s).dump(-1, ' ', false, Json::error_handler_t::replace))
      .get<std::string>();
}

void ReplaceInvalidUtf8(Json* j) {
  if (j->is_string()) {
    *j = ValidUtf8(j->get_ref<const std::string&>());
  } else if (j->is_array()) {
    for (auto& element : *j) ReplaceInvalidUtf8(&element);
  } else if (j->is_object()) {
    Json fixed = Json::object();
    for (auto& item : j->items()) {
      ReplaceInvalidUtf8(&item.value());
      fixed[ValidUtf8(item.key())] = std::move(item.value());
    }
    *j = std::move(fixed);
  }
}

}  // namespace

Json SizeJson(const model::SizeReport& r) {
  Json j;
  j["schema"] = "plaster.size";
  j["schema_version"] = kSizeSchemaVersion;
  j["plaster_version"] = kVersion;
  j["flop_convention"] = "1 MAC = 2 FLOPs";
  j["model"] = {{"name", r.model_name},
                {"file_bytes", OrNull(r.file_bytes)},
                {"external_data_bytes", r.external_data_bytes},
                {"ir_version", r.ir_version},
                {"opset", r.opset},
                {"producer", r.producer},
                {"inputs", Tensors(r.inputs)},
                {"outputs", Tensors(r.outputs)}};
  j["notes"] = r.notes;

  Json by_dtype = Json::array();
  for (const auto& d : r.parameters_by_dtype) {
    by_dtype.push_back(
        {{"dtype", d.dtype}, {"tensors", d.tensors}, {"count", d.elements}, {"bytes", d.bytes}});
  }
  Json folded = nullptr;
  if (r.folded_batchnorm) {
    folded = {{"conv_nodes", r.folded_batchnorm->conv_nodes},
              {"channels", r.folded_batchnorm->channels}};
  }
  j["parameters"] = {{"count", r.parameters},
                     {"bytes", r.parameter_bytes},
                     {"by_dtype", by_dtype},
                     {"constants", {{"count", r.constant_elements}, {"bytes", r.constant_bytes}}},
                     {"folded_batchnorm", folded}};

  Json uncounted = Json::array();
  for (int index : r.uncounted) {
    const auto& n = r.nodes[static_cast<size_t>(index)];
    uncounted.push_back({{"node", n.name}, {"op_type", n.op_type}, {"reason", n.cost.reason}});
  }
  j["compute"] = {{"macs", r.macs},
                  {"flops", r.flops},
                  {"other_flops", r.other_flops},
                  {"counted_nodes", r.counted_nodes},
                  {"uncounted", uncounted}};
  j["memory"] = {{"weight_bytes", r.weight_bytes},
                 {"activation_bytes", r.activation_bytes},
                 {"peak_activation_bytes", r.peak_activation_bytes},
                 {"peak_node", r.peak_node},
                 {"unknown_size_tensors", r.unknown_size_tensors},
                 {"bytes_moved", OrNull(r.bytes_moved)}};
  j["arithmetic_intensity"] = OrNull(r.intensity());

  Json histogram = Json::object();
  for (const auto& op : r.op_types) histogram[op.op_type] = op.nodes;
  j["structure"] = {{"nodes", r.node_count}, {"depth", r.depth}, {"op_histogram", histogram}};

  Json op_types = Json::array();
  for (const auto& op : r.op_types) {
    op_types.push_back({{"op_type", op.op_type},
                        {"nodes", op.nodes},
                        {"uncounted_nodes", op.uncounted_nodes},
                        {"macs", op.macs},
                        {"flops", op.flops}});
  }
  j["op_types"] = op_types;

  Json nodes = Json::array();
  for (const auto& n : r.nodes) {
    Json node = {{"index", n.index},
                 {"name", n.name},
                 {"op_type", n.op_type},
                 {"rule", model::CostRuleName(n.cost.rule)},
                 {"macs", n.cost.counted() ? Json(n.cost.macs) : Json(nullptr)},
                 {"flops", n.cost.counted() ? Json(n.cost.flops()) : Json(nullptr)},
                 {"output_shape", n.output_shape},
                 {"weight_elements", n.weight_elements},
                 {"bytes_moved", OrNull(n.bytes_moved)},
                 {"arithmetic_intensity", OrNull(n.intensity())}};
    if (!n.cost.counted()) node["reason"] = n.cost.reason;
    nodes.push_back(std::move(node));
  }
  j["nodes"] = nodes;
  ReplaceInvalidUtf8(&j);
  return j;
}

}  // namespace plaster::report
