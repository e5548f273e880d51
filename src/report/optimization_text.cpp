// The terminal view of `plaster optimize`'s record (evaluation_report.h).
#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "core/table.h"
#include "report/evaluation_report.h"

namespace plaster::report {
namespace {

const nlohmann::json* Metric(const nlohmann::json& c, const std::string& name) {
  if (!c.contains("metrics")) return nullptr;
  for (const auto& m : c["metrics"]) {
    if (m.value("name", "") == name && m.contains("value") && m["value"].is_number()) return &m;
  }
  return nullptr;
}

std::string Str(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// Throughput as people read it: 52860/s, not 5.286e+04/s.
std::string Rate(double v) { return v >= 100 ? fmt::format("{:.0f}/s", v) : fmt::format("{:.3g}/s", v); }

}  // namespace

void PrintOptimization(const nlohmann::json& record, std::ostream& out) {
  PLASTER_CHECK(record.is_object() && record.contains("optimization") &&
                    record["optimization"].is_object() && record.contains("cases"),
                "not a plaster optimize record (no \"optimization\")");
  try {
    const auto& opt = record["optimization"];
    const auto& ctx = record["context"];
    const std::string bound =
        opt["latency_bound_ms"].is_number()
            ? fmt::format("p99 ≤ {:.3g} ms", opt["latency_bound_ms"].get<double>())
            : "no latency bound";
    out << fmt::format("plaster optimize: {} on {} · {} · accuracy within {:g}% of fp32\n",
                       Str(ctx["model"], "name"), Str(ctx["machine"], "cpu_model"), bound,
                       100 * opt["max_accuracy_drop"].get<double>());

    int accuracy_cases = 0, timing_cases = 0;
    for (const auto& c : record["cases"]) {
      accuracy_cases += Str(c, "role") == "accuracy";
      timing_cases += Str(c, "role") == "timing";
    }
    if (opt.contains("elapsed_s")) {
      out << fmt::format("{} accuracy and {} timing cases, each in its own process, in {:.0f} s "
                         "(budget {:.0f} s)\n",
                         accuracy_cases, timing_cases,
                         opt["elapsed_s"].get<double>(), opt["budget_s"].get<double>());
    }
    out << fmt::format("\nAccuracy on {} (batch {}; Δ with its 95% interval):\n", Str(opt, "data"),
                       opt["accuracy_batch"].get<int64_t>());
    TextTable acc({"engine/device/precision", "accuracy", "verdict"},
                  {TextTable::Align::kLeft, TextTable::Align::kLeft, TextTable::Align::kLeft});
    for (const auto& a : opt["accuracy"]) {
      std::string verdict = a["meets_target"].get<bool>() ? "kept" : "excluded";
      if (a.contains("reason")) verdict += ": " + a["reason"].get<std::string>();
      acc.AddRow({Str(a, "variant"), a["value"].is_null() ? "n/a" : Str(a, "summary"), verdict});
    }
    acc.Print(out);

    std::set<std::string> on_front;
    for (const auto& f : opt["front"]) on_front.insert(f["case"].get<std::string>());
    const std::string chosen = Str(opt, "recommended");
    out << "\nConfigurations timed (p99: single-stream, one batch per query; throughput: "
           "offline):\n";
    TextTable t({"", "case", "p99", "throughput", "note"},
                {TextTable::Align::kLeft, TextTable::Align::kLeft, TextTable::Align::kRight,
                 TextTable::Align::kRight, TextTable::Align::kLeft});
    for (const auto& c : record["cases"]) {
      if (Str(c, "role") != "timing") continue;
      const std::string id = Str(c, "id");
      const auto* p99 = Metric(c, "latency.p99");
      const auto* thr = Metric(c, "t.offline");
      std::string note;
      if (c["status"] != "passed") {
        note = Str(c, "status") + ": " + Str(c, "reason");
      } else if (opt["latency_bound_ms"].is_number() && p99 &&
                 (*p99)["value"].get<double>() > opt["latency_bound_ms"].get<double>()) {
        note = "over the bound";
      } else if (on_front.count(id)) {
        note = "on the front";
      }
      if (id == chosen) note = "RECOMMENDED";
      t.AddRow({id == chosen ? "→" : (on_front.count(id) ? "*" : ""), id,
                p99 ? fmt::format("{:.3g} ms", (*p99)["value"].get<double>()) : "—",
                thr ? Rate((*thr)["value"].get<double>()) : "—", note});
    }
    t.Print(out);
    out << "  * the Pareto front: no other configuration within the bound is both more accurate "
           "and faster\n";

    bool header = false;
    for (const auto& l : opt["ladders"]) {
      if (!l["stopped"].is_string()) continue;
      if (!header) out << "\nLadders stopped early (larger batches not timed):\n";
      header = true;
      out << fmt::format("  {}/t{}: {}\n", Str(l, "variant"), l["threads"].get<int>(),
                         l["stopped"].get<std::string>());
    }
    const auto& rec = record["recommendation"];
    out << "\n";
    if (rec["case"].is_string()) {
      out << fmt::format("Recommended: {}: {}\n", rec["case"].get<std::string>(),
                         Str(rec, "reason"));
    } else {
      out << fmt::format("No recommendation: {}\n", Str(rec, "reason"));
    }
    if (record.contains("export")) {
      const auto& e = record["export"];
      out << fmt::format("Exported: {}: {}\n", Str(e, "path"), Str(e, "form"));
      if (e.contains("kept_float")) {
        for (const auto& k : e["kept_float"]) out << "  kept in float32: " << k.get<std::string>() << "\n";
      }
    }
  } catch (const nlohmann::json::exception& e) {
    Fail("optimize record: {}", OneLine(e.what()));
  }
}

}  // namespace plaster::report
