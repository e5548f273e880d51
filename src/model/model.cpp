#include "model/model.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/common.h>
#include <onnx/checker.h>
#include <onnx/common/version.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <system_error>
#include <unordered_map>

#include "core/error.h"
#include "core/units.h"
#include "model/dtype.h"
#include "model/shape_folding.h"
#include "model/tensor_data.h"

namespace plaster::model {
namespace {

namespace fs = std::filesystem;

// Oldest IR plaster reads: IR 3 introduced opset_import, which every later step relies on.
constexpr int64_t kMinIrVersion = 3;

void CheckVersions(const onnx::ModelProto& m) {
  PLASTER_CHECK(m.ir_version() >= kMinIrVersion && m.ir_version() <= onnx::IR_VERSION,
                "IR version {} is not supported (this build's ONNX {} reads IR {} to {})",
                m.ir_version(), onnx::LAST_RELEASE_VERSION, kMinIrVersion,
                static_cast<int>(onnx::IR_VERSION));
  PLASTER_CHECK(m.opset_import_size() > 0, "declares no opset_import");
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  for (const auto& opset : m.opset_import()) {
    const std::string domain = opset.domain() == "ai.onnx" ? "" : opset.domain();
    auto it = ranges.find(domain);
    if (it == ranges.end()) continue;  // a custom domain: its nodes are reported per node
    PLASTER_CHECK(opset.version() >= it->second.first && opset.version() <= it->second.second,
                  "opset {} of domain '{}' is not supported (this build's ONNX {} knows {} to {})",
                  opset.version(), domain.empty() ? "ai.onnx" : domain, onnx::LAST_RELEASE_VERSION,
                  it->second.first, it->second.second);
  }
}

void CheckValueInfo(const onnx::ValueInfoProto& v, const char* what) {
  if (!v.type().has_tensor_type()) return;  // sequences, maps: not analysed, not refused here
  const auto& tt = v.type().tensor_type();
  PLASTER_CHECK(IsKnownDtype(tt.elem_type()), "{} '{}' has an unknown data type {}", what, v.name(),
                tt.elem_type());
  if (!tt.has_shape()) return;
  int64_t n = 1;
  bool known = true;
  for (const auto& dim : tt.shape().dim()) {
    if (!dim.has_dim_value()) {
      known = false;
      continue;
    }
    PLASTER_CHECK(dim.dim_value() >= 0, "{} '{}' has a negative dimension {}", what, v.name(),
                  dim.dim_value());
    PLASTER_CHECK(dim.dim_value() <= kMaxDim, "{} '{}' has an absurd dimension {} (limit {})", what,
                  v.name(), dim.dim_value(), kMaxDim);
    if (known && !(CheckedMul(n, dim.dim_value(), &n) && n <= kMaxElements)) {
      Fail("{} '{}' has more than {} elements; refusing it", what, v.name(),
           FormatCount(kMaxElements));
    }
  }
}

// Tensors inside a graph and its subgraphs: initializers and Constant values.
void ValidateTensors(const onnx::GraphProto& g, const std::optional<fs::path>& folder,
                     uint64_t* external_bytes) {
  for (const auto& t : g.initializer()) {
    if (auto ext = ValidateTensor(t, folder)) *external_bytes += ext->length;
  }
  for (const auto& v : g.input()) CheckValueInfo(v, "input");
  for (const auto& v : g.output()) CheckValueInfo(v, "output");
  for (const auto& v : g.value_info()) CheckValueInfo(v, "value");
  for (const auto& node : g.node()) {
    for (const auto& attr : node.attribute()) {
      try {
        if (attr.has_t()) ValidateTensor(attr.t(), folder);
        for (const auto& t : attr.tensors()) ValidateTensor(t, folder);
        if (attr.has_g()) ValidateTensors(attr.g(), folder, external_bytes);
        for (const auto& sub : attr.graphs()) ValidateTensors(sub, folder, external_bytes);
      } catch (const Error& e) {
        throw e.WithContext(
            fmt::format("node '{}' ({}) attribute '{}'", node.name(), node.op_type(), attr.name()));
      }
    }
  }
}

// onnx::checker::check_model(ModelProto) resolves external data against the current directory;
// this does what it does (ONNX 1.12's checker.cc), with the model's folder instead.
void RunChecker(const onnx::ModelProto& m, const std::optional<fs::path>& folder) {
  try {
    onnx::checker::CheckerContext ctx;
    ctx.set_ir_version(static_cast<int>(m.ir_version()));
    std::unordered_map<std::string, int> opsets;
    for (const auto& opset : m.opset_import()) {
      opsets[opset.domain()] = static_cast<int>(opset.version());
    }
    ctx.set_opset_imports(opsets);
    if (folder) ctx.set_model_dir(folder->string());
    std::set<std::string> keys;
    for (const auto& prop : m.metadata_props()) {
      PLASTER_CHECK(keys.insert(prop.key()).second, "metadata_props has the key '{}' twice",
                    prop.key());
    }
    onnx::checker::LexicalScopeContext lexical;
    onnx::checker::check_graph(m.graph(), ctx, lexical);
    if (m.ir_version() >= 8) onnx::checker::check_model_local_functions(m, ctx, lexical);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    Fail("fails the ONNX checker: {}", e.what());
  }
}

// ONNX's own shape inference trusts some attribute values that its checker does not look at, and
// crashes the process on them; those are refused here, before it runs. ONNX 1.12 divides by each
// of "strides" (convPoolShapeInference: Conv, MaxPool, AveragePool, LpPool...): 0 is a SIGFPE.
// Inference also runs inside subgraphs and model-local functions, so they are checked alike.
void CheckNodesForOnnxInference(const google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes) {
  for (const auto& node : nodes) {
    const bool onnx_domain = node.domain().empty() || node.domain() == "ai.onnx";
    for (const auto& attr : node.attribute()) {
      if (onnx_domain && attr.name() == "strides") {
        for (int64_t stride : attr.ints()) {
          PLASTER_CHECK(stride >= 1, "node '{}' ({}): attribute 'strides' has {}, not positive",
                        node.name(), node.op_type(), stride);
        }
      }
      if (attr.has_g()) CheckNodesForOnnxInference(attr.g().node());
      for (const auto& g : attr.graphs()) CheckNodesForOnnxInference(g.node());
    }
  }
}

void CheckForOnnxInference(const onnx::ModelProto& m) {
  CheckNodesForOnnxInference(m.graph().node());
  for (const auto& f : m.functions()) CheckNodesForOnnxInference(f.node());
}

bool ParseModel(google::protobuf::io::ZeroCopyInputStream* input, uint64_t size,
                onnx::ModelProto* m) {
  if (size == 0) return false;
  google::protobuf::io::CodedInputStream stream(input);
  stream.SetTotalBytesLimit(std::numeric_limits<int>::max());
  return m->ParseFromCodedStream(&stream) && stream.ConsumedEntireMessage();
}

onnx::TensorShapeProto* InputShape(onnx::ValueInfoProto* v) {
  return v->mutable_type()->mutable_tensor_type()->mutable_shape();
}

// Binds --shape and --batch to the graph inputs, and every dimension left symbolic to 1 (said in
// notes). A symbol bound on one input binds the same symbol on the others.
void BindInputShapes(onnx::GraphProto* g, const LoadOptions& options,
                     std::vector<std::string>* notes) {
  std::map<std::string, onnx::ValueInfoProto*> inputs;
  std::string names;
  {
    std::set<std::string> inits;
    for (const auto& t : g->initializer()) inits.insert(t.name());
    for (auto& v : *g->mutable_input()) {
      if (inits.count(v.name()) || !v.type().has_tensor_type()) continue;
      inputs[v.name()] = &v;
      names += (names.empty() ? "" : ", ") + v.name();
    }
  }
  std::map<std::string, int64_t> symbols;
  for (const auto& o : options.shapes) {
    auto it = inputs.find(o.input);
    PLASTER_CHECK(it != inputs.end(),
                  "{} names '{}', which is not an input of the model (inputs: {})", o.origin,
                  o.input, names.empty() ? "none" : names);
    auto* shape = InputShape(it->second);
    if (it->second->type().tensor_type().has_shape()) {
      PLASTER_CHECK(shape->dim_size() == static_cast<int>(o.dims.size()),
                    "{} gives input '{}' {} dimensions; the model declares {}", o.origin, o.input,
                    o.dims.size(), shape->dim_size());
    } else {
      for (size_t k = 0; k < o.dims.size(); ++k) shape->add_dim();
    }
    for (int k = 0; k < shape->dim_size(); ++k) {
      auto* dim = shape->mutable_dim(k);
      const int64_t want = o.dims[static_cast<size_t>(k)];
      if (dim->has_dim_value()) {
        PLASTER_CHECK(dim->dim_value() == want,
                      "{} asks {} for dimension {} of input '{}', which the model fixes at {}",
                      o.origin, want, k, o.input, dim->dim_value());
        continue;
      }
      if (dim->has_dim_param() && !dim->dim_param().empty())
        symbols.emplace(dim->dim_param(), want);
      dim->set_dim_value(want);
    }
  }
  if (options.batch) {
    for (auto& [name, v] : inputs) {
      auto* shape = InputShape(v);
      if (shape->dim_size() == 0) continue;
      auto* dim = shape->mutable_dim(0);
      if (dim->has_dim_value()) {
        PLASTER_CHECK(dim->dim_value() == *options.batch,
                      "--batch {}: input '{}' has a fixed first dimension of {}", *options.batch,
                      name, dim->dim_value());
        continue;
      }
      if (dim->has_dim_param() && !dim->dim_param().empty())
        symbols.emplace(dim->dim_param(), *options.batch);
      dim->set_dim_value(*options.batch);
    }
  }
  for (auto& [name, v] : inputs) {
    PLASTER_CHECK(v->type().tensor_type().has_shape(),
                  "input '{}' declares no shape; give one with --shape {}:DxDx...", name, name);
    auto* shape = InputShape(v);
    for (int k = 0; k < shape->dim_size(); ++k) {
      auto* dim = shape->mutable_dim(k);
      if (dim->has_dim_value()) continue;
      const std::string symbol = dim->has_dim_param() ? dim->dim_param() : "";
      auto it = symbol.empty() ? symbols.end() : symbols.find(symbol);
      if (it != symbols.end()) {
        dim->set_dim_value(it->second);
        continue;
      }
      notes->push_back(fmt::format(
          "input '{}': dimension {}{} is not set; using 1 (set it with --shape or --batch)", name,
          k, symbol.empty() ? "" : " ('" + symbol + "')"));
      if (!symbol.empty()) symbols.emplace(symbol, 1);
      dim->set_dim_value(1);
    }
  }
}

}  // namespace

ShapeOverride ParseShapeOverride(std::string_view text) {
  const size_t colon = text.rfind(':');
  PLASTER_CHECK(colon != std::string_view::npos && colon > 0 && colon + 1 < text.size(),
                "--shape '{}': expected NAME:DIMS, e.g. input:1x3x224x224", text);
  ShapeOverride o{std::string(text.substr(0, colon)), {}};
  std::string_view dims = text.substr(colon + 1);
  while (!dims.empty()) {
    const size_t x = dims.find_first_of("x,");
    std::string_view part = dims.substr(0, x);
    PLASTER_CHECK(!part.empty() && part.size() <= 15 &&
                      part.find_first_not_of("0123456789") == std::string_view::npos,
                  "--shape '{}': dimension '{}' is not a positive integer", text, part);
    const int64_t d = std::stoll(std::string(part));
    PLASTER_CHECK(d >= 1 && d <= kMaxDim, "--shape '{}': dimension {} is outside 1..{}", text, d,
                  kMaxDim);
    o.dims.push_back(d);
    if (x == std::string_view::npos) break;
    dims.remove_prefix(x + 1);
    PLASTER_CHECK(!dims.empty(), "--shape '{}': ends with a separator", text);
  }
  return o;
}

struct Model::State {
  onnx::ModelProto proto;
  Graph graph;
  std::string display_name;
  std::optional<fs::path> folder;
  std::optional<uint64_t> file_bytes;
  uint64_t external_bytes = 0;
  int64_t opset = 0;
  std::vector<std::string> notes;
  // The graph's inputs and outputs as the file declared them, before shapes were bound.
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> declared_inputs, declared_outputs;
};

Model::Model(std::unique_ptr<State> state) : state_(std::move(state)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

const onnx::ModelProto& Model::proto() const { return state_->proto; }
const Graph& Model::graph() const { return state_->graph; }
const std::string& Model::display_name() const { return state_->display_name; }
std::optional<uint64_t> Model::file_bytes() const { return state_->file_bytes; }
uint64_t Model::external_data_bytes() const { return state_->external_bytes; }
int64_t Model::opset() const { return state_->opset; }
const std::vector<std::string>& Model::notes() const { return state_->notes; }

onnx::ModelProto Model::DeclaredCopy() const {
  onnx::ModelProto copy = state_->proto;
  *copy.mutable_graph()->mutable_input() = state_->declared_inputs;
  *copy.mutable_graph()->mutable_output() = state_->declared_outputs;
  copy.mutable_graph()->clear_value_info();
  return copy;
}

std::string Model::ReadTensorData(const onnx::TensorProto& tensor) const {
  return ReadTensorBytes(tensor, state_->folder);
}

Model Model::FromFile(const fs::path& path, const LoadOptions& options) {
  const std::string name = path.string();
  std::error_code ec;
  PLASTER_CHECK(fs::exists(path, ec), "{}: no such file", name);
  PLASTER_CHECK(fs::is_regular_file(path, ec), "{}: not a regular file", name);
  const uint64_t size = fs::file_size(path, ec);
  PLASTER_CHECK(!ec, "{}: {}", name, ec.message());
  // Protobuf messages are limited to 2 GiB; bigger models keep their weights as external data.
  PLASTER_CHECK(size < (uint64_t{1} << 31),
                "{}: {} is more than a protobuf message can hold (2 GiB); store the weights as "
                "external data",
                name, FormatBytes(size));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  PLASTER_CHECK(fd >= 0, "{}: cannot be opened for reading: {}", name, std::strerror(errno));
  auto state = std::make_unique<State>();
  state->display_name = name;
  state->folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  state->file_bytes = size;
  // Parsed straight from the file: no second copy of the weights in memory.
  google::protobuf::io::FileInputStream input(fd);
  input.SetCloseOnDelete(true);
  const bool parsed = ParseModel(&input, size, &state->proto);
  PLASTER_CHECK(input.GetErrno() == 0, "{}: reading failed: {}", name,
                std::strerror(input.GetErrno()));
  return Finish(std::move(state), parsed, options);
}

Model Model::FromBytes(std::string_view bytes, std::string display_name,
                       const LoadOptions& options) {
  auto state = std::make_unique<State>();
  state->display_name = std::move(display_name);
  PLASTER_CHECK(bytes.size() < (size_t{1} << 31), "{}: {} is more than a protobuf message can hold",
                state->display_name, FormatBytes(bytes.size()));
  google::protobuf::io::ArrayInputStream input(bytes.data(), static_cast<int>(bytes.size()));
  const bool parsed = ParseModel(&input, bytes.size(), &state->proto);
  return Finish(std::move(state), parsed, options);
}

Model Model::Finish(std::unique_ptr<State> state, bool parsed, const LoadOptions& options) {
  try {
    PLASTER_CHECK(state->file_bytes.value_or(1) > 0, "the file is empty");
    PLASTER_CHECK(parsed,
                  "not an ONNX model: the protobuf does not parse (truncated, or another format)");
    auto& m = state->proto;
    PLASTER_CHECK(m.has_graph(), "not an ONNX model: it has no graph");
    CheckVersions(m);
    for (const auto& opset : m.opset_import()) {
      if (opset.domain().empty() || opset.domain() == "ai.onnx") state->opset = opset.version();
    }
    ValidateTensors(m.graph(), state->folder, &state->external_bytes);

    // Structure first (our messages name the nodes), then put the nodes in topological order,
    // which the ONNX checker demands but some exporters do not honour.
    {
      Graph structure = Graph::Build(m.graph());
      std::vector<int> order = structure.FileOrder();
      bool sorted = true;
      for (size_t k = 0; k < order.size(); ++k) sorted = sorted && order[k] == static_cast<int>(k);
      if (!sorted) {
        google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
        for (int pos : order) nodes.Add()->Swap(m.mutable_graph()->mutable_node(pos));
        m.mutable_graph()->mutable_node()->Swap(&nodes);
        state->notes.push_back("the nodes were not in topological order; plaster sorted them");
      }
    }
    RunChecker(m, state->folder);

    state->declared_inputs = m.graph().input();
    state->declared_outputs = m.graph().output();
    BindInputShapes(m.mutable_graph(), options, &state->notes);
    CheckForOnnxInference(m);
    InferShapes(&m);
    for (const auto& v : m.graph().value_info()) CheckValueInfo(v, "inferred tensor");
    state->graph = Graph::Build(m.graph());
  } catch (const Error& e) {
    throw e.WithContext(state->display_name);
  }
  return Model(std::move(state));
}

}  // namespace plaster::model

namespace plaster::model {
std::vector<std::string> LinkedLibraryVersions() {
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  const auto& ai_onnx = ranges.at("");
  const int pb = GOOGLE_PROTOBUF_VERSION;
  return {fmt::format("ONNX {} (IR {}, ai.onnx opsets {}-{})", onnx::LAST_RELEASE_VERSION,
                      static_cast<int>(onnx::IR_VERSION), ai_onnx.first, ai_onnx.second),
          fmt::format("protobuf {}.{}.{}", pb / 1000000, pb / 1000 % 1000, pb % 1000)};
}
}  // namespace plaster::model
