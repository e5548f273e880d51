#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "core/table.h"
#include "core/units.h"
#include "report/size_report.h"

namespace plaster::report {
namespace {

using model::SizeReport;
using Align = TextTable::Align;

std::string Share(int64_t part, int64_t whole) {
  if (whole <= 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string Intensity(std::optional<double> v) {
  return v ? fmt::format("{:.1f}", *v) : std::string("-");
}

void PrintHeader(const SizeReport& r, std::ostream& out) {
  out << "plaster size · " << r.model_name << "\n";
  std::string file = r.file_bytes ? FormatBytes(*r.file_bytes) : std::string("in memory");
  if (r.external_data_bytes > 0)
    file += " + " + FormatBytes(r.external_data_bytes) + " external data";
  out << fmt::format("  {:<10}  {}; ONNX IR {}, opset {}{}\n", "model", file, r.ir_version, r.opset,
                     r.producer.empty() ? "" : ", produced by " + r.producer);
  auto io = [&](const char* label, const std::vector<model::TensorSummary>& list) {
    bool first = true;
    for (const auto& t : list) {
      out << fmt::format("  {:<10}  {} {} [{}]\n", first ? label : "", t.name, t.dtype,
                         t.shape.ToString());
      first = false;
    }
  };
  io("inputs", r.inputs);
  io("outputs", r.outputs);
  for (const auto& note : r.notes) out << fmt::format("  {:<10}  {}\n", "note", note);
  out << "\n";
}

void PrintSummary(const SizeReport& r, std::ostream& out) {
  auto line = [&](const char* label, const std::string& text) {
    out << fmt::format("{:<12}  {}\n", label, text);
  };
  std::string by_dtype;
  for (const auto& d : r.parameters_by_dtype) {
    by_dtype += fmt::format("{}{} {} in {} tensors", by_dtype.empty() ? "" : ", ", d.dtype,
                            FormatCount(static_cast<uint64_t>(d.elements)), d.tensors);
  }
  line("Parameters", fmt::format("{} ({}){}", FormatCount(static_cast<uint64_t>(r.parameters)),
                                 FormatBytes(static_cast<uint64_t>(r.parameter_bytes)),
                                 by_dtype.empty() ? "" : ": " + by_dtype));
  if (r.constant_elements > 0) {
    line("  constants", fmt::format("{} elements ({}) of integer initializers and Constant nodes, "
                                    "not counted as parameters",
                                    FormatCount(static_cast<uint64_t>(r.constant_elements)),
                                    FormatBytes(static_cast<uint64_t>(r.constant_bytes))));
  }
  if (r.folded_batchnorm) {
    line("  folded BN",
         fmt::format("{} Conv nodes look like BatchNorm folded in at export (weights renamed "
                     "'onnx::Conv_*'); a framework that keeps the BatchNorm counts {} more "
                     "parameters (2 per channel where this file has 1 bias value)",
                     r.folded_batchnorm->conv_nodes,
                     FormatCount(static_cast<uint64_t>(r.folded_batchnorm->channels))));
  }
  line("Compute", fmt::format("{} = {} (1 MAC = 2 FLOPs; {} of them outside MACs)",
                              FormatSi(static_cast<double>(r.macs), "MAC"),
                              FormatSi(static_cast<double>(r.flops), "FLOP"),
                              FormatSi(static_cast<double>(r.other_flops), "FLOP")));
  if (!r.uncounted.empty()) {
    line("  not counted", fmt::format("{} of {} nodes (listed below): the totals are lower bounds",
                                      r.uncounted.size(), r.node_count));
  }
  const char* bound = r.unknown_size_tensors > 0 ? " (lower bounds: some sizes unknown)" : "";
  line("Memory", fmt::format("weights {}; activations {} summed, peak live {} during '{}'{}",
                             FormatBytes(static_cast<uint64_t>(r.weight_bytes)),
                             FormatBytes(static_cast<uint64_t>(r.activation_bytes)),
                             FormatBytes(static_cast<uint64_t>(r.peak_activation_bytes)),
                             r.peak_node, bound));
  std::string histogram;
  std::vector<model::OpTypeSize> by_count = r.op_types;
  std::stable_sort(by_count.begin(), by_count.end(),
                   [](const auto& a, const auto& b) { return a.nodes > b.nodes; });
  for (size_t k = 0; k < by_count.size() && k < 8; ++k) {
    histogram += fmt::format("{}{} {}", k == 0 ? "" : ", ", by_count[k].op_type, by_count[k].nodes);
  }
  if (by_count.size() > 8) histogram += fmt::format(", … ({} op types)", by_count.size());
  line("Structure", fmt::format("{} nodes, depth {}{}", r.node_count, r.depth,
                                histogram.empty() ? "" : "; " + histogram));
  auto intensity = r.intensity();
  line("Intensity", intensity ? fmt::format("{:.1f} FLOP/byte (FLOPs ÷ bytes each node reads and "
                                            "writes, weights included)",
                                            *intensity)
                              : std::string("unknown (some tensor sizes are unknown)"));
}

void PrintTopNodes(const SizeReport& r, int top, std::ostream& out) {
  if (top <= 0 || r.nodes.empty()) return;
  std::vector<const model::NodeSize*> order;
  for (const auto& n : r.nodes) order.push_back(&n);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    if (a->cost.macs != b->cost.macs) return a->cost.macs > b->cost.macs;
    return a->cost.flops() > b->cost.flops();
  });
  const size_t rows = std::min(order.size(), static_cast<size_t>(top));
  out << fmt::format("\nTop {} of {} nodes by MACs\n", rows, r.nodes.size());
  TextTable table({"#", "node", "op", "output", "MACs", "FLOPs", "share", "weights", "FLOP/B"},
                  {Align::kRight, Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight,
                   Align::kRight, Align::kRight, Align::kRight, Align::kRight});
  for (size_t k = 0; k < rows; ++k) {
    const auto& n = *order[k];
    table.AddRow({std::to_string(n.index), n.name, n.op_type, n.output_shape,
                  n.cost.counted() ? FormatSi(static_cast<double>(n.cost.macs), "") : "?",
                  n.cost.counted() ? FormatSi(static_cast<double>(n.cost.flops()), "") : "?",
                  Share(n.cost.flops(), r.flops),
                  FormatCount(static_cast<uint64_t>(n.weight_elements)), Intensity(n.intensity())});
  }
  table.Print(out);
}

void PrintOpTypes(const SizeReport& r, std::ostream& out) {
  if (r.op_types.empty()) return;
  out << "\nBy op type\n";
  TextTable table({"op", "nodes", "MACs", "FLOPs", "share"},
                  {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight});
  for (const auto& op : r.op_types) {
    std::string nodes = std::to_string(op.nodes);
    if (op.uncounted_nodes > 0) nodes += fmt::format(" ({} uncounted)", op.uncounted_nodes);
    table.AddRow({op.op_type, nodes, FormatSi(static_cast<double>(op.macs), ""),
                  FormatSi(static_cast<double>(op.flops), ""), Share(op.flops, r.flops)});
  }
  table.Print(out);
}

void PrintUncounted(const SizeReport& r, std::ostream& out) {
  if (r.uncounted.empty()) return;
  out << fmt::format("\nNot counted ({} nodes)\n", r.uncounted.size());
  constexpr size_t kMaxListed = 20;
  for (size_t k = 0; k < r.uncounted.size() && k < kMaxListed; ++k) {
    const auto& n = r.nodes[static_cast<size_t>(r.uncounted[k])];
    out << fmt::format("  '{}' ({}): {}\n", n.name, n.op_type, n.cost.reason);
  }
  if (r.uncounted.size() > kMaxListed) {
    out << fmt::format("  … and {} more (all are in --json)\n", r.uncounted.size() - kMaxListed);
  }
}

}  // namespace

void PrintSizeText(const SizeReport& r, const SizeTextOptions& options, std::ostream& out) {
  PrintHeader(r, out);
  PrintSummary(r, out);
  PrintTopNodes(r, options.top, out);
  PrintOpTypes(r, out);
  PrintUncounted(r, out);
}

}  // namespace plaster::report
