#include "report/compare.h"

#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "core/hypothesis.h"

namespace plaster::report {
namespace {

using nlohmann::json;

std::string StringOr(const json& object, const char* key, const std::string& fallback = "") {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

bool IsNumber(const json& value) { return value.is_number(); }

// The cases of a record by id, in order; malformed ids are errors.
std::vector<const json*> CasesOf(const json& record, const std::string& path) {
  std::vector<const json*> cases;
  std::set<std::string> seen;
  const auto it = record.find("cases");
  if (it == record.end() || !it->is_array()) Fail("{}: no \"cases\" array", path);
  for (size_t k = 0; k < it->size(); ++k) {
    const json& c = (*it)[k];
    if (!c.is_object() || !c.contains("id") || !c["id"].is_string()) {
      Fail("{}: case {} has no string \"id\"", path, k + 1);
    }
    const std::string id = c["id"].get<std::string>();
    if (!seen.insert(id).second) Fail("{}: case '{}' appears twice", path, id);
    cases.push_back(&c);
  }
  return cases;
}

// The metrics of a case by name, in order.
std::vector<const json*> MetricsOf(const json& c, const std::string& where) {
  std::vector<const json*> metrics;
  std::set<std::string> seen;
  const auto it = c.find("metrics");
  if (it == c.end()) return metrics;
  if (!it->is_array()) Fail("{}: \"metrics\" is not an array", where);
  for (size_t k = 0; k < it->size(); ++k) {
    const json& m = (*it)[k];
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) {
      Fail("{}: metric {} has no string \"name\"", where, k + 1);
    }
    const std::string name = m["name"].get<std::string>();
    if (!seen.insert(name).second) Fail("{}: metric '{}' appears twice", where, name);
    metrics.push_back(&m);
  }
  return metrics;
}

const json* FindByName(const std::vector<const json*>& list, const char* key,
                       const std::string& name) {
  for (const json* item : list) {
    if ((*item)[key].get<std::string>() == name) return item;
  }
  return nullptr;
}

// The raw samples a metric names, or nullopt when it names none (or the array is empty).
std::optional<std::vector<double>> SamplesOf(const json& c, const json& metric,
                                             const std::string& where) {
  const auto key = metric.find("samples");
  if (key == metric.end() || key->is_null()) return std::nullopt;
  if (!key->is_string()) Fail("{}: \"samples\" is not a string", where);
  const std::string name = key->get<std::string>();
  const auto all = c.find("samples");
  if (all == c.end() || !all->is_object() || !all->contains(name)) {
    Fail("{}: names samples '{}' that the case does not have", where, name);
  }
  const json& array = (*all)[name];
  if (!array.is_array()) Fail("{}: samples '{}' is not an array", where, name);
  std::vector<double> values;
  values.reserve(array.size());
  for (const json& v : array) {
    if (!v.is_number()) Fail("{}: samples '{}' holds a value that is not a number", where, name);
    values.push_back(v.get<double>());
  }
  if (values.empty()) return std::nullopt;
  return values;
}

std::string ValueReason(const json& metric, const json& value) {
  if (value.is_null()) {
    const std::string reason = StringOr(metric, "reason");
    return reason.empty() ? "unavailable" : "unavailable: " + reason;
  }
  return "not a number";
}

// Note [Comparison verdict] (docs/metrics.md, "Comparing runs"): a metric gets a verdict only when
// it is an objective (better is "lower" or "higher"), both values are numbers, A is not 0, and both
// sides kept raw samples. Centres (anything TailLevel does not call a tail) are tested with the
// two-sided Mann–Whitney U and shown with the Hodges–Lehmann ratio; tails with the percentile
// bootstrap of that percentile's ratio. Significant means p < alpha AND |B/A − 1| ≥ threshold, the
// change being that of the recorded values (and not 0); its direction and "better" say improved
// or regressed, provided the test's own ratio estimate lies on the same side of 1.
// A metric without samples on both sides only says "changed by x%": one measurement a side cannot
// tell a change from noise, so it never counts as a regression.
MetricComparison CompareMetric(const json& case_a, const json& case_b, const json& ma,
                               const json& mb, const std::string& where,
                               const CompareOptions& options) {
  MetricComparison r;
  r.name = ma["name"].get<std::string>();
  r.letter = StringOr(ma, "letter");
  r.label = StringOr(ma, "label", r.name);
  r.unit = StringOr(ma, "unit");
  const std::string unit_b = StringOr(mb, "unit");
  if (r.unit != unit_b) {
    Fail("{}: metric '{}' is in '{}' in A but in '{}' in B", where, r.name, r.unit, unit_b);
  }
  r.better = StringOr(ma, "better");
  if (r.better != StringOr(mb, "better")) {
    Fail("{}: metric '{}' has better = '{}' in A but '{}' in B", where, r.name, r.better,
         StringOr(mb, "better"));
  }
  r.a = ma.value("value", json());
  r.b = mb.value("value", json());

  if (!IsNumber(r.a) || !IsNumber(r.b)) {
    r.verdict = MetricVerdict::kNotComparable;
    if (!IsNumber(r.a)) {
      r.reason = "A " + ValueReason(ma, r.a);
    } else {
      r.reason = "B " + ValueReason(mb, r.b);
    }
    if (!r.a.is_null() && r.a == r.b) r.reason = "same";
    return r;
  }
  const double va = r.a.get<double>();
  const double vb = r.b.get<double>();
  if (va == 0) {
    r.verdict = MetricVerdict::kNotComparable;
    r.reason = vb == 0 ? "both 0" : "A is 0: no ratio";
    return r;
  }
  r.ratio = vb / va;
  if (r.better.empty()) {
    r.verdict = MetricVerdict::kNoObjective;
    r.reason = "not an objective (better is null)";
    return r;
  }
  const std::string metric_where = where + ": metric '" + r.name + "'";
  const auto sa = SamplesOf(case_a, ma, metric_where + " in A");
  const auto sb = SamplesOf(case_b, mb, metric_where + " in B");
  if (!sa || !sb) {
    r.verdict = MetricVerdict::kNotTested;
    r.reason = !sa && !sb ? "no test (single measurement)"
                          : fmt::format("no test (raw samples in {} only)", sa ? "A" : "B");
    return r;
  }

  const double confidence = 1 - options.alpha;
  MetricTest t;
  t.n_a = static_cast<int64_t>(sa->size());
  t.n_b = static_cast<int64_t>(sb->size());
  if (const auto level = TailLevel(r.name)) {
    t.method = "bootstrap";
    t.percentile = *level;
    stats::BootstrapOptions boot;
    boot.iterations = options.bootstrap_iterations;
    boot.seed = options.seed;
    boot.confidence = confidence;
    const auto ratio = stats::BootstrapPercentileRatio(*sa, *sb, *level, boot);
    if (!ratio) {
      r.verdict = MetricVerdict::kNotTested;
      r.reason = "no test (a sample is 0 or negative: no ratio)";
      return r;
    }
    t.p_value = ratio->p_value;
    t.ratio_estimate = ratio->estimate;
    t.ratio_interval = ratio->interval;
  } else {
    t.method = "mann-whitney";
    const stats::MannWhitney mw = stats::MannWhitneyU(*sa, *sb);
    t.p_value = mw.p_value;
    t.effect = mw.effect;
    if (const auto hl = stats::HodgesLehmannRatio(*sa, *sb, confidence)) {
      t.ratio_estimate = hl->estimate;
      t.ratio_interval = hl->interval;
    }
  }
  r.test = t;
  const bool significant =
      t.p_value < options.alpha && *r.ratio != 1 && std::abs(*r.ratio - 1) >= options.threshold;
  // The samples and the recorded values should move the same way; when they do not (a mean
  // pulled by one outlier against the bulk, or values not computed from these samples), no
  // direction can be claimed.
  const bool agree =
      !t.ratio_estimate || *t.ratio_estimate == 1 || (*t.ratio_estimate > 1) == (*r.ratio > 1);
  if (!significant || !agree) {
    r.verdict = MetricVerdict::kNoChange;
    if (significant) r.reason = "samples and values disagree on the direction";
  } else {
    const bool worse = r.better == "lower" ? *r.ratio > 1 : *r.ratio < 1;
    r.verdict = worse ? MetricVerdict::kRegressed : MetricVerdict::kImproved;
  }
  return r;
}

CaseComparison CompareCase(const json& ca, const json& cb, const Comparison& whole) {
  CaseComparison r;
  r.id = ca["id"].get<std::string>();
  r.status_a = StringOr(ca, "status", "?");
  r.status_b = StringOr(cb, "status", "?");
  const std::string where = fmt::format("{} vs {}: case '{}'", whole.path_a, whole.path_b, r.id);
  const auto ma = MetricsOf(ca, fmt::format("{}: case '{}'", whole.path_a, r.id));
  const auto mb = MetricsOf(cb, fmt::format("{}: case '{}'", whole.path_b, r.id));
  for (const json* m : ma) {
    const std::string name = (*m)["name"].get<std::string>();
    const json* other = FindByName(mb, "name", name);
    if (other == nullptr) {
      r.only_in_a.push_back(name);
      continue;
    }
    r.metrics.push_back(CompareMetric(ca, cb, *m, *other, where, whole.options));
  }
  for (const json* m : mb) {
    const std::string name = (*m)["name"].get<std::string>();
    if (FindByName(ma, "name", name) == nullptr) r.only_in_b.push_back(name);
  }
  return r;
}

struct LogSum {
  double sum = 0;
  int64_t count = 0;
  void Add(double ratio) {
    sum += std::log(ratio);
    ++count;
  }
  Geomean Get() const {
    Geomean g;
    g.count = count;
    if (count > 0) g.ratio = std::exp(sum / static_cast<double>(count));
    return g;
  }
};

json OptionalNumber(const std::optional<double>& v) { return v ? json(*v) : json(); }

json IntervalJson(const stats::Interval& interval) {
  return json{{"lower", OptionalNumber(interval.lower)},
              {"upper", OptionalNumber(interval.upper)},
              {"coverage", interval.coverage}};
}

json ContextSummary(const std::string& path, const json& context) {
  json out{{"path", path}};
  for (const char* key : {"started_utc", "plaster", "model", "machine", "seed"}) {
    out[key] = context.value(key, json());
  }
  return out;
}

}  // namespace

const char* MetricVerdictName(MetricVerdict verdict) {
  switch (verdict) {
    case MetricVerdict::kImproved:
      return "improved";
    case MetricVerdict::kRegressed:
      return "regressed";
    case MetricVerdict::kNoChange:
      return "no significant change";
    case MetricVerdict::kNotTested:
      return "not tested";
    case MetricVerdict::kNoObjective:
      return "no objective";
    case MetricVerdict::kNotComparable:
      return "not comparable";
  }
  return "?";
}

std::optional<double> MetricComparison::change() const {
  if (!ratio) return std::nullopt;
  return *ratio - 1;
}

std::optional<double> TailLevel(std::string_view name) {
  const size_t dot = name.rfind(".max");
  if (dot != std::string_view::npos && dot + 4 == name.size()) return 1.0;
  // The last ".p<digits>[.<digits>]" of the name: "latency.p99.9" → 99.9.
  for (size_t at = name.rfind(".p"); at != std::string_view::npos;
       at = at == 0 ? std::string_view::npos : name.rfind(".p", at - 1)) {
    const std::string_view tail = name.substr(at + 2);
    if (tail.empty() || !std::isdigit(static_cast<unsigned char>(tail[0]))) continue;
    bool ok = true;
    int dots = 0;
    for (char ch : tail) {
      if (ch == '.') {
        ++dots;
      } else if (!std::isdigit(static_cast<unsigned char>(ch))) {
        ok = false;
      }
    }
    if (!ok || dots > 1 || tail.back() == '.') continue;
    const double percent = std::stod(std::string(tail));
    if (percent >= 90 && percent <= 100) return percent / 100;
    return std::nullopt;
  }
  return std::nullopt;
}

Comparison CompareRecords(const json& a, const json& b, const std::string& path_a,
                          const std::string& path_b, const CompareOptions& options) {
  PLASTER_ASSERT(options.alpha > 0 && options.alpha < 1 && options.threshold >= 0);
  Comparison r;
  r.path_a = path_a;
  r.path_b = path_b;
  r.context_a = a.value("context", json::object());
  r.context_b = b.value("context", json::object());
  r.options = options;
  const auto cases_a = CasesOf(a, path_a);
  const auto cases_b = CasesOf(b, path_b);
  LogSum as_time;
  LogSum latency;
  for (const json* ca : cases_a) {
    const std::string id = (*ca)["id"].get<std::string>();
    const json* cb = FindByName(cases_b, "id", id);
    if (cb == nullptr) {
      r.only_in_a.push_back(id);
      continue;
    }
    CaseComparison c = CompareCase(*ca, *cb, r);
    if (c.status_a == "passed" && c.status_b != "passed") r.stopped_passing.push_back(id);
    for (const MetricComparison& m : c.metrics) {
      switch (m.verdict) {
        case MetricVerdict::kRegressed:
          ++r.regressions;
          break;
        case MetricVerdict::kImproved:
          ++r.improvements;
          break;
        case MetricVerdict::kNoChange:
          ++r.unchanged;
          break;
        default:
          ++r.untested;
          break;
      }
      // See Note [Comparison geometric means] (compare.h).
      if (!m.test || !m.ratio || !(*m.ratio > 0)) continue;
      as_time.Add(m.better == "higher" ? 1 / *m.ratio : *m.ratio);
      if (m.letter == "L" && m.better == "lower") latency.Add(*m.ratio);
    }
    r.cases.push_back(std::move(c));
  }
  for (const json* cb : cases_b) {
    const std::string id = (*cb)["id"].get<std::string>();
    if (FindByName(cases_a, "id", id) == nullptr) r.only_in_b.push_back(id);
  }
  r.as_time = as_time.Get();
  r.latency = latency.Get();
  return r;
}

json ComparisonJson(const Comparison& c) {
  json cases = json::array();
  for (const CaseComparison& cc : c.cases) {
    json metrics = json::array();
    for (const MetricComparison& m : cc.metrics) {
      json test;
      if (m.test) {
        const MetricTest& t = *m.test;
        test = json{{"method", t.method},
                    {"p_value", t.p_value},
                    {"n_a", t.n_a},
                    {"n_b", t.n_b},
                    {"effect", OptionalNumber(t.effect)},
                    {"percentile", OptionalNumber(t.percentile)},
                    {"ratio_estimate", OptionalNumber(t.ratio_estimate)},
                    {"ratio_interval", IntervalJson(t.ratio_interval)}};
      }
      metrics.push_back(json{{"name", m.name},
                             {"letter", m.letter},
                             {"label", m.label},
                             {"unit", m.unit},
                             {"better", m.better.empty() ? json() : json(m.better)},
                             {"a", m.a},
                             {"b", m.b},
                             {"ratio", OptionalNumber(m.ratio)},
                             {"change", OptionalNumber(m.change())},
                             {"test", test},
                             {"verdict", MetricVerdictName(m.verdict)},
                             {"reason", m.reason.empty() ? json() : json(m.reason)}});
    }
    cases.push_back(json{{"id", cc.id},
                         {"status_a", cc.status_a},
                         {"status_b", cc.status_b},
                         {"metrics", std::move(metrics)},
                         {"metrics_only_in_a", cc.only_in_a},
                         {"metrics_only_in_b", cc.only_in_b}});
  }
  auto geomean = [](const Geomean& g) {
    return json{{"count", g.count}, {"ratio", OptionalNumber(g.ratio)}};
  };
  return json{{"schema", kComparisonSchema},
              {"schema_version", kComparisonSchemaVersion},
              {"a", ContextSummary(c.path_a, c.context_a)},
              {"b", ContextSummary(c.path_b, c.context_b)},
              {"settings",
               {{"alpha", c.options.alpha},
                {"threshold", c.options.threshold},
                {"confidence", 1 - c.options.alpha},
                {"bootstrap_iterations", c.options.bootstrap_iterations},
                {"seed", c.options.seed}}},
              {"cases", std::move(cases)},
              {"cases_only_in_a", c.only_in_a},
              {"cases_only_in_b", c.only_in_b},
              {"summary",
               {{"regressions", c.regressions},
                {"improvements", c.improvements},
                {"unchanged", c.unchanged},
                {"untested", c.untested},
                {"stopped_passing", c.stopped_passing},
                {"geomean_as_time", geomean(c.as_time)},
                {"geomean_latency", geomean(c.latency)}}},
              {"regression", c.regressed()}};
}

}  // namespace plaster::report
