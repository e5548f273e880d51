#include "report/evaluation_headline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/units.h"

namespace plaster::report::eval {
namespace {

using nlohmann::json;

// Where a field sits, for error messages: the scope ("case 'x' (cases[2])", "context") and the
// path inside it ("metrics[3]").
struct Where {
  std::string scope;
  std::string path;

  Where Sub(std::string_view key) const {
    return {scope, path.empty() ? std::string(key) : fmt::format("{}.{}", path, key)};
  }
  Where Index(size_t i) const { return {scope, fmt::format("{}[{}]", path, i)}; }
};

const char* TypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::binary:
      return "binary";
    case json::value_t::discarded:
      return "discarded";
    default:
      return "a number";
  }
}

[[noreturn]] void Bad(const Where& w, std::string_view problem) {
  if (w.scope.empty()) Fail("evaluation record: field '{}' {}", w.path, problem);
  Fail("evaluation record: {}: field '{}' {}", w.scope, w.path, problem);
}

[[noreturn]] void WrongType(const Where& w, const json& j, std::string_view expected) {
  Bad(w, fmt::format("is {}, expected {}", TypeName(j), expected));
}

// The member key of obj (an object); nullptr when absent.
const json* Member(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const json& Required(const json& obj, std::string_view key, const Where& w) {
  const json* j = Member(obj, key);
  if (j == nullptr) Bad(w.Sub(key), "is missing");
  return *j;
}

const json& Object(const json& obj, std::string_view key, const Where& w) {
  const json& j = Required(obj, key, w);
  if (!j.is_object()) WrongType(w.Sub(key), j, "an object");
  return j;
}

const json& Array(const json& obj, std::string_view key, const Where& w) {
  const json& j = Required(obj, key, w);
  if (!j.is_array()) WrongType(w.Sub(key), j, "an array");
  return j;
}

std::string AsString(const json& j, const Where& w) {
  if (!j.is_string()) WrongType(w, j, "a string");
  return j.get<std::string>();
}

std::string String(const json& obj, std::string_view key, const Where& w) {
  return AsString(Required(obj, key, w), w.Sub(key));
}

// Present, and a string or null.
std::optional<std::string> NullableString(const json& obj, std::string_view key, const Where& w) {
  const json& j = Required(obj, key, w);
  if (j.is_null()) return std::nullopt;
  return AsString(j, w.Sub(key));
}

// May be absent; "" when absent or null.
std::string OptionalString(const json& obj, std::string_view key, const Where& w) {
  const json* j = Member(obj, key);
  if (j == nullptr || j->is_null()) return "";
  return AsString(*j, w.Sub(key));
}

double AsNumber(const json& j, const Where& w) {
  if (!j.is_number()) WrongType(w, j, "a number");
  const double v = j.get<double>();
  if (!std::isfinite(v)) Bad(w, "is not a finite number");
  return v;
}

double Number(const json& obj, std::string_view key, const Where& w) {
  return AsNumber(Required(obj, key, w), w.Sub(key));
}

std::optional<double> NullableNumber(const json& obj, std::string_view key, const Where& w) {
  const json& j = Required(obj, key, w);
  if (j.is_null()) return std::nullopt;
  if (!j.is_number()) WrongType(w.Sub(key), j, "a number or null");
  return AsNumber(j, w.Sub(key));
}

int64_t AsInteger(const json& j, const Where& w) {
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_number_unsigned()) {
    const auto u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) Bad(w, "is too large");
    return static_cast<int64_t>(u);
  }
  // JSON has one number type: 8.0 is the integer 8 (JSON Schema agrees).
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15)
      return static_cast<int64_t>(d);
  }
  WrongType(w, j, "an integer");
}

int64_t Integer(const json& obj, std::string_view key, const Where& w) {
  return AsInteger(Required(obj, key, w), w.Sub(key));
}

std::optional<int64_t> OptionalInteger(const json& obj, std::string_view key, const Where& w) {
  const json* j = Member(obj, key);
  if (j == nullptr || j->is_null()) return std::nullopt;
  return AsInteger(*j, w.Sub(key));
}

bool Boolean(const json& obj, std::string_view key, const Where& w) {
  const json& j = Required(obj, key, w);
  if (!j.is_boolean()) WrongType(w.Sub(key), j, "a boolean");
  return j.get<bool>();
}

std::vector<std::string> Strings(const json& obj, std::string_view key, const Where& w) {
  const json& a = Array(obj, key, w);
  std::vector<std::string> out;
  for (size_t i = 0; i < a.size(); ++i) out.push_back(AsString(a[i], w.Sub(key).Index(i)));
  return out;
}

std::vector<int64_t> Integers(const json& obj, std::string_view key, const Where& w) {
  const json& a = Array(obj, key, w);
  std::vector<int64_t> out;
  for (size_t i = 0; i < a.size(); ++i) out.push_back(AsInteger(a[i], w.Sub(key).Index(i)));
  return out;
}

Context ParseContext(const json& j) {
  const Where w{"context", ""};
  if (!j.is_object()) WrongType({"", "context"}, j, "an object");
  Context c;
  const json& plaster = Object(j, "plaster", w);
  c.plaster_version = String(plaster, "version", w.Sub("plaster"));
  c.plaster_git = String(plaster, "git", w.Sub("plaster"));
  c.command_line = Strings(j, "command_line", w);
  c.started_utc = String(j, "started_utc", w);
  c.seed = Integer(j, "seed", w);

  const json& model = Object(j, "model", w);
  const Where mw = w.Sub("model");
  c.model_name = String(model, "name", mw);
  c.model_file_bytes = OptionalInteger(model, "file_bytes", mw);
  c.model_opset = OptionalInteger(model, "opset", mw);
  c.model_producer = OptionalString(model, "producer", mw);

  const json& machine = Object(j, "machine", w);
  const Where hw = w.Sub("machine");
  c.cpu_model = String(machine, "cpu_model", hw);
  c.cpu_flags = Strings(machine, "cpu_flags", hw);
  c.logical_cores = Integer(machine, "logical_cores", hw);
  c.memory_bytes = OptionalInteger(machine, "memory_bytes", hw);
  c.governor = NullableString(machine, "governor", hw);
  c.governor_reason = OptionalString(machine, "governor_reason", hw);

  const json& os = Object(j, "os", w);
  c.os_name = String(os, "name", w.Sub("os"));
  c.kernel = String(os, "kernel", w.Sub("os"));

  const json& libraries = Object(j, "libraries", w);
  for (const auto& [name, version] : libraries.items()) {
    c.libraries.emplace_back(name, AsString(version, w.Sub("libraries").Sub(name)));
  }

  const json& sweep = Object(j, "sweep", w);
  const Where sw = w.Sub("sweep");
  c.engines = Strings(sweep, "engines", sw);
  c.devices = Strings(sweep, "devices", sw);
  c.precisions = Strings(sweep, "precisions", sw);
  c.batches = Integers(sweep, "batches", sw);
  c.threads = Integers(sweep, "threads", sw);
  c.budget_s = Number(sweep, "budget_s", sw);
  c.latency_bound_ms = NullableNumber(sweep, "latency_bound_ms", sw);

  const json& peak = Required(j, "peak", w);
  if (!peak.is_null() && !peak.is_object()) WrongType(w.Sub("peak"), peak, "an object or null");
  c.has_peak = peak.is_object();
  c.peak_reason = OptionalString(j, "peak_reason", w);
  return c;
}

Better ParseBetter(const json& obj, const Where& w) {
  const json& j = Required(obj, "better", w);
  if (j.is_null()) return Better::kNone;
  const std::string s = AsString(j, w.Sub("better"));
  if (s == "lower") return Better::kLower;
  if (s == "higher") return Better::kHigher;
  Bad(w.Sub("better"), fmt::format("is '{}', expected 'lower', 'higher' or null", s));
}

Metric ParseMetric(const json& j, const Where& w) {
  if (!j.is_object()) WrongType(w, j, "an object");
  Metric m;
  m.name = String(j, "name", w);
  m.letter = String(j, "letter", w);
  if (m.letter.size() != 1 ||
      std::find(kLetters.begin(), kLetters.end(), m.letter[0]) == kLetters.end()) {
    Bad(w.Sub("letter"), fmt::format("is '{}', expected one of P L A S T E R", m.letter));
  }
  m.label = String(j, "label", w);
  m.unit = String(j, "unit", w);
  m.source = String(j, "source", w);
  m.how = OptionalString(j, "how", w);
  m.reason = OptionalString(j, "reason", w);
  m.better = ParseBetter(j, w);
  const json& v = Required(j, "value", w);
  if (v.is_boolean()) {
    m.raw = v.get<bool>() ? "true" : "false";
  } else if (v.is_string()) {
    m.raw = v.get<std::string>();
  } else if (v.is_number()) {
    m.number = AsNumber(v, w.Sub("value"));
    // Integers exactly as written; other numbers in the shortest form that reads back the same.
    m.raw = v.is_number_float() ? fmt::format("{}", *m.number) : v.dump();
  } else if (!v.is_null()) {
    WrongType(w.Sub("value"), v, "a number, boolean, string or null");
  }
  if (const json* in = Member(j, "interval"); in != nullptr && !in->is_null()) {
    const Where iw = w.Sub("interval");
    if (!in->is_object()) WrongType(iw, *in, "an object");
    m.interval = Interval{NullableNumber(*in, "lower", iw), NullableNumber(*in, "upper", iw),
                          Number(*in, "coverage", iw)};
  }
  return m;
}

std::vector<CurvePoint> ParseCurve(const json& curves, std::string_view key, const Where& w) {
  std::vector<CurvePoint> out;
  const json* a = Member(curves, key);
  if (a == nullptr || a->is_null()) return out;
  const Where cw = w.Sub(key);
  if (!a->is_array()) WrongType(cw, *a, "an array");
  for (size_t i = 0; i < a->size(); ++i) {
    const json& p = (*a)[i];
    const Where pw = cw.Index(i);
    if (!p.is_object()) WrongType(pw, p, "an object");
    out.push_back({Number(p, "rate_qps", pw), Integer(p, "batch", pw), Integer(p, "sessions", pw),
                   Number(p, "samples_per_s", pw), Number(p, "latency_ms", pw),
                   Boolean(p, "passed", pw)});
  }
  return out;
}

Case ParseCase(const json& j, size_t index) {
  Where w{fmt::format("cases[{}]", index), ""};
  if (!j.is_object()) WrongType({"", w.scope}, j, "an object");
  Case c;
  c.id = String(j, "id", w);
  w.scope = fmt::format("case '{}' (cases[{}])", c.id, index);
  c.engine = String(j, "engine", w);
  c.device = String(j, "device", w);
  c.precision = String(j, "precision", w);
  c.batch = Integer(j, "batch", w);
  c.threads = Integer(j, "threads", w);
  c.status = String(j, "status", w);
  c.reason = NullableString(j, "reason", w);
  c.budget_s = Number(j, "budget_s", w);
  c.elapsed_s = Number(j, "elapsed_s", w);

  const json& letters = Object(j, "letters", w);
  for (size_t k = 0; k < kLetters.size(); ++k) {
    const std::string key(1, kLetters[k]);
    const Where lw = w.Sub("letters");
    const json& l = Object(letters, key, lw);
    c.letters[k] = {String(l, "status", lw.Sub(key)), OptionalString(l, "reason", lw.Sub(key))};
  }

  const json& metrics = Array(j, "metrics", w);
  for (size_t i = 0; i < metrics.size(); ++i) {
    c.metrics.push_back(ParseMetric(metrics[i], w.Sub("metrics").Index(i)));
  }

  const json& samples = Object(j, "samples", w);
  for (const auto& [name, values] : samples.items()) {
    const Where sw = w.Sub("samples").Sub(name);
    if (!values.is_array()) WrongType(sw, values, "an array");
    auto& v = c.samples[name];
    v.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i) v.push_back(AsNumber(values[i], sw.Index(i)));
  }

  const json& curves = Object(j, "curves", w);
  c.server = ParseCurve(curves, "server", w.Sub("curves"));
  c.offline = ParseCurve(curves, "offline", w.Sub("curves"));

  const json& ops = Array(j, "size_by_op", w);
  for (size_t i = 0; i < ops.size(); ++i) {
    const Where ow = w.Sub("size_by_op").Index(i);
    if (!ops[i].is_object()) WrongType(ow, ops[i], "an object");
    c.size_by_op.push_back({String(ops[i], "op_type", ow), Integer(ops[i], "nodes", ow),
                            NullableNumber(ops[i], "flops", ow), Number(ops[i], "parameters", ow)});
  }

  const json& roof = Required(j, "roofline", w);
  if (!roof.is_null()) {
    const Where rw = w.Sub("roofline");
    if (!roof.is_object()) WrongType(rw, roof, "an object or null");
    Roofline r;
    r.precision = String(roof, "precision", rw);
    r.bound = String(roof, "bound", rw);
    r.peak_flops = Number(roof, "peak_flops", rw);
    r.peak_bytes_per_s = Number(roof, "peak_bytes_per_s", rw);
    r.balance = Number(roof, "balance", rw);
    r.intensity = Number(roof, "intensity", rw);
    r.achieved_flops = Number(roof, "achieved_flops", rw);
    r.fraction = Number(roof, "fraction", rw);
    if (r.peak_flops <= 0) Bad(rw.Sub("peak_flops"), "must be positive");
    if (r.peak_bytes_per_s <= 0) Bad(rw.Sub("peak_bytes_per_s"), "must be positive");
    c.roofline = r;
  }
  c.warnings = Strings(j, "warnings", w);
  return c;
}

Record Parse(const json& j) {
  if (!j.is_object()) Fail("evaluation record: is {}, expected an object", TypeName(j));
  const Where top{"", ""};
  const std::string schema = String(j, "schema", top);
  if (schema != "plaster.evaluation") {
    Bad({"", "schema"}, fmt::format("is '{}', expected 'plaster.evaluation'", schema));
  }
  const int64_t version = Integer(j, "schema_version", top);
  if (version != 1) {
    Bad({"", "schema_version"},
        fmt::format("is {}; this plaster reads version 1 (docs/json-evaluation.md)", version));
  }
  Record r;
  r.context = ParseContext(Required(j, "context", top));
  const json& cases = Array(j, "cases", top);
  for (size_t i = 0; i < cases.size(); ++i) r.cases.push_back(ParseCase(cases[i], i));
  const json& rec = Object(j, "recommendation", top);
  r.recommended = NullableString(rec, "case", top.Sub("recommendation"));
  r.recommendation_reason = String(rec, "reason", top.Sub("recommendation"));
  return r;
}

// ---- the scorecard ----

constexpr size_t kP = 0, kL = 1, kA = 2, kS = 3, kT = 4, kE = 5, kR = 6;

Cell Unavailable() { return {"n/a", false, std::nullopt, Better::kNone, false, std::nullopt}; }

Cell Available(std::string text, std::optional<double> value, Better better) {
  return {std::move(text), true, value, better, false, std::nullopt};
}

std::string OrDash(const std::optional<double>& v, std::string_view suffix = "") {
  return v ? Figure(*v) + std::string(suffix) : std::string("–");
}

// The headline of a letter without a fixed metric (A, E, R): its first metric with a number.
Cell FirstNumber(const Case& c, char letter) {
  for (const auto& m : c.metrics) {
    if (m.letter[0] == letter && m.HasNumber()) return Available(MetricText(m), m.number, m.better);
  }
  return Unavailable();
}

Cell Headline(const Case& c, size_t k) {
  const std::string& status = c.letters[k].status;
  if (status == "unavailable" || status == "failed") return Unavailable();
  switch (k) {
    case kP: {
      auto score = c.Number("p.score");
      auto cold = c.Number("p.cold_start");
      auto coverage = c.Number("p.node_coverage");
      if (!score && !cold && !coverage) return Unavailable();
      if (!score) {  // a record from before the score
        return Available(fmt::format("{} · {}", OrDash(cold, " ms"), OrDash(coverage, "%")), cold,
                         Better::kLower);
      }
      return Available(fmt::format("{:.0f} · {} · {}", *score, OrDash(cold, " ms"),
                                   OrDash(coverage, "%")),
                       score, Better::kHigher);
    }
    case kL: {
      auto p50 = c.Number("latency.p50");
      auto p99 = c.Number("latency.p99");
      if (!p50 && !p99) return Unavailable();
      return Available(fmt::format("{} / {} ms", OrDash(p50), OrDash(p99)), p99, Better::kLower);
    }
    case kA: {
      // The task's metric; for a lower precision, its paired difference from fp32 and MLPerf's
      // verdict (Note [Accuracy in evaluate] in src/evaluate/accuracy_letter.cpp).
      std::string text;
      std::optional<double> value;
      Better better = Better::kHigher;
      if (auto top1 = c.Number("accuracy.top1")) {
        text = Figure(*top1) + "%";
        value = top1;
      } else if (auto mse = c.Number("accuracy.mse")) {
        text = "MSE " + Figure(*mse);
        value = mse;
        better = Better::kLower;
      } else if (auto agree = c.Number("accuracy.agreement_top1")) {
        text = Figure(*agree) + "% agree";
        value = agree;
      } else {
        return FirstNumber(c, 'A');
      }
      if (auto delta = c.Number("accuracy.delta")) {
        // Top-1 differences in points to two decimals (+0.15); an MSE difference as a figure.
        text += better == Better::kHigher
                    ? fmt::format(" (Δ {:+.2f})", *delta)
                    : fmt::format(" (Δ {}{})", *delta >= 0 ? "+" : "", Figure(*delta));
      }
      if (const Metric* verdict = c.Find("accuracy.meets_target")) {
        if (verdict->raw == "false") text += " below target";
      }
      return Available(text, value, better);
    }
    case kS: {
      auto rss = c.Number("s.peak_rss_bytes");
      if (!rss || *rss < 0) return Unavailable();
      return Available(Bytes(*rss), rss, Better::kLower);
    }
    case kT: {
      auto offline = c.Number("t.offline");
      auto server = c.Number("t.server_peak");
      if (!offline && !server) return Unavailable();
      // A search that found no rate under the bound records 0 samples/s: say so in words.
      if (server && *server <= 0) {
        return Available(OrDash(offline) + " /s · none in bound", offline, Better::kHigher);
      }
      std::string text = OrDash(offline);
      if (server) text += " · " + Figure(*server);
      return Available(text + " /s", offline, Better::kHigher);
    }
    case kE: {
      // Energy per inference at the offline rate, the average power, and "est." for the TDP
      // estimate (Note [Energy in evaluate] in src/evaluate/energy_letter.cpp).
      auto joules = c.Number("e.joules_per_inference");
      if (!joules) return FirstNumber(c, 'E');
      std::string text = FormatSiSmall(*joules, "J") + "/inf";
      if (auto watts = c.Number("e.average_watts")) text += " · " + Figure(*watts) + " W";
      if (status == "estimated") text += " est.";
      return Available(text, joules, Better::kLower);
    }
    case kR: {
      auto rate = c.Number("r.training_samples_per_s");
      if (!rate) return FirstNumber(c, 'R');
      std::string text = Figure(*rate) + " /s";
      if (auto tta = c.Number("r.time_to_accuracy")) text += " · TTA " + Figure(*tta) + " s";
      return Available(text, rate, Better::kHigher);
    }
    default:
      return FirstNumber(c, kLetters[k]);
  }
}

// Why letter k of a passed case shows n/a: the letter's reason, else its first unavailable
// metric's, else a plain statement.
std::string NotAvailableReason(const Case& c, size_t k) {
  if (!c.letters[k].reason.empty()) return c.letters[k].reason;
  for (const auto& m : c.metrics) {
    if (m.letter[0] == kLetters[k] && !m.reason.empty()) return m.reason;
  }
  return "no figure for this letter in the record";
}

// Marks the best cell of each column and scores every cell against it (Note [Scores]).
void Rank(std::vector<Row>& rows, size_t k) {
  std::optional<double> best;
  Better better = Better::kNone;
  int count = 0;
  for (const auto& row : rows) {
    const Cell& cell = row.cells[k];
    if (!row.c->Passed() || !cell.value || cell.better == Better::kNone) continue;
    if (better != Better::kNone && cell.better != better) return;  // mixed objectives: no rank
    better = cell.better;
    ++count;
    if (!best || (better == Better::kLower ? *cell.value < *best : *cell.value > *best)) {
      best = cell.value;
    }
  }
  if (!best) return;
  for (auto& row : rows) {
    Cell& cell = row.cells[k];
    if (!row.c->Passed() || !cell.value || cell.better == Better::kNone) continue;
    cell.best = count >= 2 && *cell.value == *best;
    // Note [Scores]: a radar axis is the case's figure as a fraction of the best case's, so the
    // best case reaches the rim and a case twice as slow sits half way; a zero (or a negative
    // figure, which no metric here has) cannot be a ratio and counts as the best.
    const double v = *cell.value, b = *best;
    if (better == Better::kLower) {
      cell.score = v <= 0 ? 1.0 : std::clamp(b / v, 0.0, 1.0);
    } else {
      cell.score = b <= 0 ? 1.0 : std::clamp(v / b, 0.0, 1.0);
    }
  }
}

}  // namespace

const Metric* Case::Find(std::string_view name) const {
  for (const auto& m : metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::optional<double> Case::Number(std::string_view name) const {
  const Metric* m = Find(name);
  if (m == nullptr || !m->HasNumber()) return std::nullopt;
  return m->number;
}

Record ParseEvaluation(const nlohmann::json& record) {
  try {
    return Parse(record);
  } catch (const nlohmann::json::exception& e) {
    // Every access above checks the type first; this is a last line against a library surprise.
    throw Error(fmt::format("evaluation record: {}", OneLine(e.what())));
  }
}

Scorecard BuildScorecard(const Record& record) {
  Scorecard s;
  s.titles = {"P score · cold start · nodes", "L p50 / p99", "A accuracy", "S peak RSS",
              "T offline · server",   "E energy",    "R learning"};
  for (const auto& c : record.cases) {
    Row row;
    row.c = &c;
    if (c.Passed()) {
      for (size_t k = 0; k < kLetters.size(); ++k) {
        row.cells[k] = Headline(c, k);
        if (row.cells[k].available) continue;
        Footnote note{kLetters[k], NotAvailableReason(c, k)};
        const bool seen = std::any_of(s.footnotes.begin(), s.footnotes.end(), [&](const auto& f) {
          return f.letter == note.letter && f.reason == note.reason;
        });
        if (!seen) s.footnotes.push_back(std::move(note));
      }
    }
    s.rows.push_back(std::move(row));
  }
  for (size_t k = 0; k < kLetters.size(); ++k) Rank(s.rows, k);
  std::stable_sort(s.footnotes.begin(), s.footnotes.end(), [](const auto& a, const auto& b) {
    auto pos = [](char l) { return std::find(kLetters.begin(), kLetters.end(), l); };
    return pos(a.letter) < pos(b.letter);
  });
  s.recommendation =
      fmt::format("{}: {}", record.recommended.value_or("none"), record.recommendation_reason);
  return s;
}

std::string StatusLine(const Case& c) {
  std::string status = c.status;
  std::transform(status.begin(), status.end(), status.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  // An engine that cannot import the model still has its P figures: the score and the share of
  // nodes it runs, which compare it with the engines that can.
  std::string p;
  if (auto score = c.Number("p.score")) {
    p = fmt::format(" (P {:.0f}", *score);
    if (auto nodes = c.Number("p.node_coverage")) p += fmt::format(" · {} nodes", OrDash(nodes, "%"));
    p += ")";
  }
  return fmt::format("{}{}: {}", status, p, c.reason.value_or("no reason recorded"));
}

std::string Figure(double value) {
  const double a = std::fabs(value);
  if (a == 0) return "0";
  if (a >= 1e5) return FormatSi(value, "");  // 5880184 -> "5.88 M"
  const int digits = static_cast<int>(std::floor(std::log10(a)));
  const int decimals = std::max(0, 2 - digits);
  // Rounding can add a digit (99.96 -> "100.0"): format again with one decimal fewer.
  std::string s = fmt::format("{:.{}f}", value, decimals);
  if (decimals > 0 && std::fabs(std::stod(s)) >= std::pow(10.0, digits + 1)) {
    s = fmt::format("{:.{}f}", value, decimals - 1);
  }
  return s;
}

std::string Compact(double value) {
  std::string s = Figure(value);
  const size_t dot = s.find('.');
  if (dot == std::string::npos) return s;
  const size_t end = std::min(s.size(), s.find(' ', dot));  // before an SI prefix, if any
  size_t keep = end;
  while (keep > dot + 1 && s[keep - 1] == '0') --keep;
  if (keep == dot + 1) keep = dot;
  return s.substr(0, keep) + s.substr(end);
}

std::string Bytes(double bytes) {
  // FormatBytes takes an integer; a figure outside its range (only a broken record has one) is
  // written with SI prefixes instead of being converted, which would be undefined.
  if (bytes >= 0 && bytes < 9e18) return FormatBytes(static_cast<uint64_t>(bytes));
  return FormatSi(bytes, "B");
}

std::string MetricText(const Metric& m) {
  if (m.source == "unavailable" || m.raw.empty()) return "n/a";
  if (!m.number) return m.raw;
  const double v = *m.number;
  if (m.unit == "B") return Bytes(v);
  if (m.unit == "FLOP" || m.unit == "FLOP/s" || m.unit == "MAC") return FormatSi(v, m.unit);
  if (m.unit == "count") return FormatSi(v, "");
  if (m.unit == "J") return FormatSiSmall(v, "J");
  if (m.unit == "%") return Figure(v) + "%";
  if (m.unit.empty() || m.unit == "ratio") return Figure(v);
  return Figure(v) + " " + m.unit;
}

}  // namespace plaster::report::eval
