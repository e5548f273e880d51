#include "engine/conformance.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/forked.h"
#include "engine/tensor_file.h"
#include "model/dtype.h"

namespace plaster::engine {
namespace {

namespace fs = std::filesystem;

// The op types of a case's model (main graph), sorted, unique; a non-default domain prefixed.
std::vector<std::string> OpTypes(const onnx::ModelProto& proto) {
  std::set<std::string> ops;
  for (const auto& node : proto.graph().node()) {
    ops.insert(node.domain().empty() || node.domain() == "ai.onnx"
                   ? node.op_type()
                   : node.domain() + "." + node.op_type());
  }
  return {ops.begin(), ops.end()};
}

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

std::vector<fs::path> Sorted(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  }
  // input_10.pb after input_9.pb: order by the number after the prefix.
  auto number = [&](const fs::path& p) {
    const std::string s = p.stem().string().substr(prefix.size());
    return s.empty() || s.find_first_not_of("0123456789") != std::string::npos ? -1 : std::stoi(s);
  };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return number(a) < number(b); });
  return out;
}

// Compares one output; returns a description of the first mismatch, or "" when it matches.
std::string Compare(const std::string& name, const HostTensor& got, const HostTensor& want,
                    CaseResult* r) {
  if (got.dtype() != want.dtype()) {
    return fmt::format("output '{}' is {}, expected {}", name, model::DtypeName(got.dtype()),
                       model::DtypeName(want.dtype()));
  }
  if (got.shape() != want.shape()) {
    return fmt::format("output '{}' has shape {}, expected {}", name,
                       model::Shape::Of(got.shape()).ToString(),
                       model::Shape::Of(want.shape()).ToString());
  }
  if (want.is_string()) {
    if (got.strings() != want.strings()) return fmt::format("output '{}' differs (strings)", name);
    return "";
  }
  if (!model::IsFloatingDtype(want.dtype()) || want.dtype() == onnx::TensorProto::COMPLEX64 ||
      want.dtype() == onnx::TensorProto::COMPLEX128) {
    if (got.bytes() != want.bytes()) return fmt::format("output '{}' differs (exact type)", name);
    return "";
  }
  std::string first;
  int64_t bad = 0;
  for (int64_t k = 0; k < want.NumElements(); ++k) {
    const double g = ValueAt(got, k), w = ValueAt(want, k);
    if (std::isnan(g) && std::isnan(w)) continue;
    if (std::isinf(w) && g == w) continue;
    const double abs = std::fabs(g - w);
    const double rel = w != 0 ? abs / std::fabs(w) : (abs == 0 ? 0 : INFINITY);
    if (!std::isnan(abs)) {
      r->worst_abs = std::max(r->worst_abs, abs);
      r->worst_rel = std::max(r->worst_rel, rel);
    }
    if (!(abs <= kAtol + kRtol * std::fabs(w))) {
      if (bad++ == 0) first = fmt::format("output '{}'[{}] = {:.6g}, expected {:.6g}", name, k, g, w);
    }
  }
  if (bad == 0) return "";
  return fmt::format("{} ({} of {} values off)", first, bad, want.NumElements());
}

CaseResult& Unsupported(CaseResult& r, const std::string& why) {
  r.state = CaseState::kUnsupported;
  r.detail = why + " are not supported";
  return r;
}

}  // namespace

const char* CaseStateName(CaseState state) {
  switch (state) {
    case CaseState::kPassed: return "passed";
    case CaseState::kFailed: return "failed";
    case CaseState::kUnsupported: return "unsupported";
    case CaseState::kError: return "error";
  }
  return "error";
}

std::vector<fs::path> DefaultConformanceFolders() {
  std::vector<fs::path> out;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    out.push_back(fs::path(kOnnxTestDataRoot) / suite);
  }
  return out;
}

std::vector<fs::path> ConformanceCases(const fs::path& suite_dir) {
  std::vector<fs::path> cases;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(suite_dir, ec)) {
    if (fs::exists(e.path() / "model.onnx")) cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

CaseResult RunConformanceCase(const Engine& engine, const fs::path& dir) {
  CaseResult r;
  r.suite = dir.parent_path().filename().string();
  r.name = dir.filename().string();
  try {
    const auto sets = Sorted(dir, "test_data_set_");
    PLASTER_CHECK(!sets.empty(), "no test_data_set_* folder");
    // The model first: cases with non-tensor inputs and outputs are outside what plaster's
    // engines run, and their .pb files are not TensorProtos.
    onnx::ModelProto proto;
    {
      std::ifstream in(dir / "model.onnx", std::ios::binary);
      PLASTER_CHECK(proto.ParseFromIstream(&in), "model.onnx does not parse");
    }
    r.op_types = OpTypes(proto);
    std::set<std::string> initializers;
    for (const auto& t : proto.graph().initializer()) initializers.insert(t.name());
    std::vector<onnx::ValueInfoProto*> declared;
    for (auto& v : *proto.mutable_graph()->mutable_input()) {
      if (!initializers.count(v.name())) declared.push_back(&v);
    }
    auto plain = [](const onnx::ValueInfoProto& v) { return v.type().has_tensor_type(); };
    for (const auto* v : declared) {
      if (!plain(*v)) return Unsupported(r, "inputs that are sequences, maps or optionals");
    }
    for (const auto& v : proto.graph().output()) {
      if (!plain(v)) return Unsupported(r, "outputs that are sequences, maps or optionals");
    }
    std::vector<std::vector<HostTensor>> inputs, outputs;
    for (const auto& set : sets) {
      inputs.emplace_back();
      outputs.emplace_back();
      for (const auto& f : Sorted(set, "input_")) inputs.back().push_back(ReadTensorFile(f));
      for (const auto& f : Sorted(set, "output_")) outputs.back().push_back(ReadTensorFile(f));
    }
    PLASTER_CHECK(declared.size() == inputs[0].size(), "the model has {} inputs; the data set {}",
                  declared.size(), inputs[0].size());
    // Note [Conformance data is the truth]: some cases declare input shapes their own data does
    // not have, and ONNX's test data stores bfloat16 as uint16 bits. The data wins: the inputs
    // are re-declared with the data's shapes, and uint16 data feeds bfloat16 inputs bit for bit.
    for (size_t k = 0; k < declared.size(); ++k) {
      auto* tt = declared[k]->mutable_type()->mutable_tensor_type();
      tt->clear_shape();
      auto* shape = tt->mutable_shape();
      for (int64_t d : inputs[0][k].shape()) shape->add_dim()->set_dim_value(d);
    }
    auto as_bf16 = [](HostTensor& t) {
      if (t.dtype() == onnx::TensorProto::UINT16) {
        t = HostTensor(onnx::TensorProto::BFLOAT16, t.shape(), t.bytes());
      }
    };
    for (size_t k = 0; k < declared.size(); ++k) {
      if (declared[k]->type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16) {
        for (auto& set : inputs) as_bf16(set[k]);
      }
    }
    for (int k = 0; k < proto.graph().output_size(); ++k) {
      if (proto.graph().output(k).type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16) {
        for (auto& set : outputs) {
          if (static_cast<size_t>(k) < set.size()) as_bf16(set[static_cast<size_t>(k)]);
        }
      }
    }
    const model::Model m =
        model::Model::FromBytes(proto.SerializeAsString(), (dir / "model.onnx").string());
    SupportReport support = engine.Support(m);
    for (const auto& n : support.nodes) {
      if (!n.supported) {
        r.state = CaseState::kUnsupported;
        r.detail = fmt::format("node '{}' ({}): {}", n.node, n.op_type, n.reason);
        return r;
      }
    }
    auto session = engine.Compile(m, {});
    for (size_t s = 0; s < sets.size(); ++s) {
      if (s > 0 && inputs[s].size() == inputs[0].size()) {
        bool same_shapes = true;
        for (size_t k = 0; k < inputs[s].size(); ++k) same_shapes &= inputs[s][k].shape() == inputs[0][k].shape();
        PLASTER_CHECK(same_shapes, "data set {} has other input shapes than set 0", s);
      }
      std::vector<HostTensor> got = session->Run(inputs[s]);
      PLASTER_CHECK(got.size() == outputs[s].size(), "{} outputs, {} expected", got.size(),
                    outputs[s].size());
      for (size_t k = 0; k < got.size(); ++k) {
        std::string mismatch = Compare(session->outputs()[k].name, got[k], outputs[s][k], &r);
        if (!mismatch.empty()) {
          r.state = CaseState::kFailed;
          r.detail = sets.size() > 1 ? fmt::format("data set {}: {}", s, mismatch) : mismatch;
          return r;
        }
      }
    }
    r.state = CaseState::kPassed;
  } catch (const Error& e) {
    const std::string what = e.what();
    r.state = what.find("unsupported:") != std::string::npos ? CaseState::kUnsupported : CaseState::kError;
    r.detail = what;
  } catch (const std::exception& e) {
    r.state = CaseState::kError;
    r.detail = OneLine(e.what());
  }
  return r;
}

}  // namespace plaster::engine

namespace plaster::engine {
namespace {

// A CaseResult across the pipe: fields separated by NUL (no field holds one).
std::string Encode(const CaseResult& r) {
  std::string out = std::to_string(static_cast<int>(r.state));
  out += '\0' + fmt::format("{:a}", r.worst_abs) + '\0' + fmt::format("{:a}", r.worst_rel);
  out += '\0' + r.detail;
  for (const auto& op : r.op_types) out += '\0' + op;
  return out;
}

bool Decode(const std::string& bytes, CaseResult* r) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(bytes);
  while (std::getline(in, field, '\0')) fields.push_back(field);
  if (fields.size() < 4) return false;
  const int state = std::atoi(fields[0].c_str());
  if (state < 0 || state > static_cast<int>(CaseState::kError)) return false;
  r->state = static_cast<CaseState>(state);
  r->worst_abs = std::strtod(fields[1].c_str(), nullptr);
  r->worst_rel = std::strtod(fields[2].c_str(), nullptr);
  r->detail = fields[3];
  r->op_types.assign(fields.begin() + 4, fields.end());
  return true;
}

}  // namespace

CaseResult RunConformanceCaseIsolated(const Engine& engine, const fs::path& dir, double timeout_s) {
  CaseResult r;
  r.suite = dir.parent_path().filename().string();
  r.name = dir.filename().string();
  const ForkedOutcome child =
      RunForked([&] { return Encode(RunConformanceCase(engine, dir)); },
                std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  if (!child.started) {
    r.detail = "could not start the case's process: " + child.err;
    return r;
  }
  const std::string last = child.LastErrorLine();
  if (child.timed_out || child.signal != 0) {  // the op types, which the child did not send
    onnx::ModelProto proto;
    std::ifstream in(dir / "model.onnx", std::ios::binary);
    if (proto.ParseFromIstream(&in)) r.op_types = OpTypes(proto);
  }
  if (child.timed_out) {
    r.detail = fmt::format("timed out after {:g} s (the engine hung)", timeout_s);
  } else if (child.signal != 0) {
    r.detail = fmt::format("crashed: {} (signal {}){}", child.SignalName(), child.signal,
                           last.empty() ? "" : "; its last words: " + last);
  } else if (!Decode(child.result, &r)) {
    r.detail = fmt::format("the case's process ended without a result (exit status {}){}",
                           child.exit_code, last.empty() ? "" : ": " + last);
  }
  return r;
}

}  // namespace plaster::engine
