// The HTML evaluation report: one self-contained page. No scripts, fonts or fetches: the
// Content-Security-Policy below forbids them, so even a record crafted to inject markup (which
// Escape already stops) could not run or load anything.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "core/units.h"
#include "report/evaluation_charts.h"
#include "report/evaluation_headline.h"
#include "report/evaluation_report.h"

namespace plaster::report {
namespace {

using eval::kLetters;
using html::Escape;

constexpr const char* kStyle = R"CSS(
:root { --ink: #1d2330; --muted: #5d6677; --line: #dde1e8; --best: #e3f4e6; --bestink: #145a24; }
* { box-sizing: border-box; }
body { margin: 0; padding: 28px 36px 48px; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans",
  Arial, sans-serif; }
main { max-width: 1320px; margin: 0 auto; }
h1 { font-size: 26px; margin: 0 0 2px; font-weight: 650; }
h1 .model { color: var(--muted); font-weight: 500; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
p.sub { margin: 0 0 14px; color: var(--muted); }
p.explain { margin: 0 0 12px; color: var(--muted); font-size: 14px; max-width: 980px; }
.rec { padding: 10px 16px; border-left: 5px solid #2f9e44; background: #eef8f0; border-radius: 4px; }
.rec.none { border-left-color: #c92a2a; background: #fdf0f0; }
code, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 13px; }
dl.ctx { display: grid; grid-template-columns: 150px 1fr; gap: 5px 18px; margin: 0; }
dl.ctx dt { color: var(--muted); font-weight: 600; }
dl.ctx dd { margin: 0; overflow-wrap: anywhere; }
.flags { color: var(--muted); font-size: 12.5px; }
pre.cmd { margin: 0; padding: 8px 12px; background: #f4f5f8; border-radius: 4px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
table.score { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.score th, table.score td { padding: 7px 10px; border-bottom: 1px solid var(--line);
  text-align: left; vertical-align: top; }
table.score th { font-size: 13px; color: var(--muted); font-weight: 600; background: #f7f8fa; }
table.score th .letter { display: block; font-size: 18px; color: var(--ink); }
table.score td.best { background: var(--best); color: var(--bestink); font-weight: 700; }
table.score td.na { color: #9aa1ad; font-style: italic; }
table.score td.failed { color: #a61e1e; }
table.score tr.recommended td.id { font-weight: 700; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 7px;
  vertical-align: -1px; }
ul.notes { margin: 10px 0 0; padding-left: 20px; color: var(--muted); font-size: 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px 4px; width: 366px; }
.card h3 { font-size: 14px; margin: 0; font-weight: 650; overflow-wrap: anywhere; }
.card p { margin: 2px 0 0; color: var(--muted); font-size: 13px; }
.card.failed { background: #fdf3f3; }
.card.failed p { color: #a61e1e; }
svg.chart { display: block; max-width: 100%; height: auto; font-family: inherit; }
svg.chart text { fill: var(--ink); }
svg.chart .tick { font-size: 12px; fill: #4a5263; }
svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .legend { font-size: 13px; }
svg.chart .grid { stroke: #e6e8ee; stroke-width: 1; }
svg.chart .axis-letter { font-size: 15px; font-weight: 700; }
svg.chart .axis-value { font-size: 11px; fill: #4a5263; }
svg.chart .axis-na { font-size: 11px; fill: #9aa1ad; font-style: italic; }
p.none { color: var(--muted); font-style: italic; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(600px, 1fr)); gap: 0 36px; }
.pair > section { min-width: 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
)CSS";

// A command line as a shell would read it back: words with anything unusual single-quoted.
std::string ShellQuoted(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    const bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
    });
    if (plain) {
      out += w;
      continue;
    }
    out += '\'';
    for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

template <typename T>
std::string Join(const std::vector<T>& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += fmt::format("{}", item);
  }
  return out;
}

void ContextBlock(const eval::Record& r, std::string& page) {
  const auto& c = r.context;
  auto out = std::back_inserter(page);
  auto row = [&](std::string_view key, const std::string& html_value) {
    fmt::format_to(out, "<dt>{}</dt><dd>{}</dd>\n", key, html_value);
  };
  std::string model = Escape(c.model_name);
  if (c.model_file_bytes) model += " · " + eval::Bytes(static_cast<double>(*c.model_file_bytes));
  if (c.model_opset) model += fmt::format(" · opset {}", *c.model_opset);
  if (!c.model_producer.empty()) model += " · produced by " + Escape(c.model_producer);
  std::string machine = fmt::format("{} · {} logical core{}", Escape(c.cpu_model), c.logical_cores,
                                    c.logical_cores == 1 ? "" : "s");
  if (c.memory_bytes) machine += " · " + eval::Bytes(static_cast<double>(*c.memory_bytes));
  machine += c.governor
                 ? " · governor " + Escape(*c.governor)
                 : " · governor unknown" +
                       (c.governor_reason.empty() ? "" : " (" + Escape(c.governor_reason) + ")");
  std::string libraries;
  for (const auto& [name, version] : c.libraries) {
    libraries += fmt::format("{}<b>{}</b> {}", libraries.empty() ? "" : " · ", Escape(name),
                             Escape(version));
  }
  const std::string sweep = fmt::format(
      "engines {} · devices {} · precisions {} · batches {} · threads {} · budget {} s · latency "
      "bound {}",
      Join(c.engines), Join(c.devices), Join(c.precisions), Join(c.batches), Join(c.threads),
      eval::Compact(c.budget_s),
      c.latency_bound_ms ? eval::Compact(*c.latency_bound_ms) + " ms" : std::string("none"));

  page += "<section id=\"context\"><h2>Context</h2><dl class=\"ctx\">\n";
  row("Model", model);
  row("Machine", machine);
  if (!c.cpu_flags.empty()) {
    row("CPU flags", "<span class=\"flags mono\">" + Escape(Join(c.cpu_flags, " ")) + "</span>");
  }
  row("OS", Escape(c.os_name) + " · " + Escape(c.kernel));
  row("Libraries", libraries.empty() ? std::string("none recorded") : libraries);
  row("plaster", Escape(c.plaster_version) + " · git <span class=\"mono\">" +
                     Escape(c.plaster_git) + "</span>");
  row("Started", Escape(c.started_utc) + fmt::format(" · seed {}", c.seed));
  row("Sweep", Escape(sweep));
  row("Machine peak",
      c.has_peak ? std::string("measured (the roofline below uses it)")
                 : "unknown" + (c.peak_reason.empty() ? std::string()
                                                      : " (" + Escape(c.peak_reason) + ")"));
  row("Command line", "<pre class=\"cmd mono\">" + Escape(ShellQuoted(c.command_line)) + "</pre>");
  page += "</dl></section>\n";
}

void ScorecardTable(const eval::Record& r, const eval::Scorecard& s, std::string& page) {
  auto out = std::back_inserter(page);
  page += "<section id=\"scorecard\"><h2>Scorecard</h2>\n";
  if (r.cases.empty()) {
    page += "<p class=\"none\">No cases in the record.</p></section>\n";
    return;
  }
  page += "<table class=\"score\"><thead><tr><th>case</th>";
  for (size_t k = 0; k < kLetters.size(); ++k) {
    // titles are "P score · cold start · nodes": the letter large, the rest beneath it.
    fmt::format_to(out, "<th><span class=\"letter\">{}</span>{}</th>", kLetters[k],
                   Escape(s.titles[k].substr(2)));
  }
  page += "</tr></thead><tbody>\n";
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const auto& row = s.rows[i];
    const bool recommended = r.recommended && *r.recommended == row.c->id;
    fmt::format_to(out,
                   "<tr{}><td class=\"id mono\"><span class=\"swatch\" style=\"background:{}\">"
                   "</span>{}{}</td>",
                   recommended ? " class=\"recommended\"" : "", html::CaseColor(i),
                   Escape(row.c->id), recommended ? " ★" : "");
    if (!row.c->Passed()) {
      fmt::format_to(out, "<td class=\"failed\" colspan=\"7\">{}</td></tr>\n",
                     Escape(eval::StatusLine(*row.c)));
      continue;
    }
    for (const auto& cell : row.cells) {
      const char* cls = cell.best ? " class=\"best\"" : !cell.available ? " class=\"na\"" : "";
      fmt::format_to(out, "<td{}>{}</td>", cls, Escape(cell.text));
    }
    page += "</tr>\n";
  }
  page += "</tbody></table>\n<ul class=\"notes\">";
  page += "<li>Green: the best of its column. ★: the recommended case.</li>";
  for (const auto& f : s.footnotes) {
    fmt::format_to(out, "<li><b>{}</b> n/a: {}</li>", f.letter, Escape(f.reason));
  }
  for (const auto& c : r.cases) {
    for (const auto& w : c.warnings) {
      fmt::format_to(out, "<li>warning, <span class=\"mono\">{}</span>: {}</li>", Escape(c.id),
                     Escape(w));
    }
  }
  page += "</ul></section>\n";
}

void Radars(const eval::Scorecard& s, std::string& page) {
  auto out = std::back_inserter(page);
  page +=
      "<section id=\"radar\"><h2>PLASTER profile</h2><p class=\"explain\">Each axis is the case's "
      "headline figure as a fraction of the best case's for that letter: the rim is the best, half "
      "way is half as good (twice the latency, half the throughput). Dashed axes marked n/a have "
      "no figure; the footnotes above say why.</p><div class=\"cards\">\n";
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const auto& row = s.rows[i];
    if (!row.c->Passed()) {
      fmt::format_to(out, "<div class=\"card failed\"><h3>{}</h3><p>{}</p></div>\n",
                     Escape(row.c->id), Escape(eval::StatusLine(*row.c)));
      continue;
    }
    fmt::format_to(out,
                   "<div class=\"card\"><h3>{}</h3><p>{} · {} s of a {} s budget</p>{}</div>\n",
                   Escape(row.c->id), Escape(row.c->status), eval::Figure(row.c->elapsed_s),
                   eval::Figure(row.c->budget_s), html::RadarSvg(row, i));
  }
  page += "</div></section>\n";
}

void Chart(std::string& page, std::string_view id, std::string_view title, std::string_view explain,
           const std::string& svg, std::string_view none) {
  fmt::format_to(std::back_inserter(page), "<section id=\"{}\"><h2>{}</h2>", id, title);
  if (svg.empty()) {
    fmt::format_to(std::back_inserter(page), "<p class=\"none\">{}</p></section>\n", none);
    return;
  }
  fmt::format_to(std::back_inserter(page), "<p class=\"explain\">{}</p>{}</section>\n", explain,
                 svg);
}

}  // namespace

std::string EvaluationHtml(const nlohmann::json& record) {
  const eval::Record r = eval::ParseEvaluation(record);
  const eval::Scorecard s = eval::BuildScorecard(r);
  std::string page;
  auto out = std::back_inserter(page);
  fmt::format_to(out,
                 "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                 "style-src 'unsafe-inline'; img-src data:\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<title>plaster evaluation · {}</title>\n<style>{}</style></head>\n<body><main>\n",
                 Escape(r.context.model_name), kStyle);
  fmt::format_to(out,
                 "<header><h1>plaster evaluation <span class=\"model\">· {}</span></h1>\n"
                 "<p class=\"sub\">{} · {} logical cores · started {}</p>\n",
                 Escape(r.context.model_name), Escape(r.context.cpu_model), r.context.logical_cores,
                 Escape(r.context.started_utc));
  if (r.recommended) {
    fmt::format_to(out, "<div class=\"rec\">Recommendation: <b class=\"mono\">{}</b>: {}</div>",
                   Escape(*r.recommended), Escape(r.recommendation_reason));
  } else {
    fmt::format_to(out, "<div class=\"rec none\">No recommendation: {}</div>",
                   Escape(r.recommendation_reason));
  }
  page += "</header>\n";
  ContextBlock(r, page);
  ScorecardTable(r, s, page);
  Radars(s, page);
  page += "<div class=\"pair\">\n";
  Chart(page, "latency", "Latency distribution",
        "Single-stream latency of every query, as a cumulative distribution: how many queries "
        "finished within a given time. Dots mark p50 and p99 (nearest rank).",
        html::LatencyCdfSvg(r), "No latency samples in the record.");
  Chart(page, "throughput", "Throughput and latency",
        "Every probe of the peak searches: the server scenario's Poisson arrival rates (circles, "
        "by rate) and the offline scenario's settings (squares), each at the samples/s it "
        "delivered and the latency it took.",
        html::ThroughputLatencySvg(r), "No throughput curves in the record.");
  page += "</div>\n<div class=\"pair\">\n";
  Chart(page, "size", "Size by op type",
        "Where the compute and the weights are, by ONNX op type (1 MAC = 2 FLOPs).",
        html::SizeByOpSvg(r), "No size breakdown in the record.");
  Chart(page, "roofline", "Roofline",
        "Achieved FLOP/s at offline throughput against arithmetic intensity. Below the sloped "
        "roof a case is memory-bound (bytes per second limit it), below the flat roof "
        "compute-bound; the distance to the roof is what is left on the table.",
        html::RooflineSvg(r),
        r.context.has_peak || r.context.peak_reason.empty()
            ? std::string("No case has a roofline.")
            : "No roofline: " + Escape(r.context.peak_reason) + ".");
  page += "</div>\n";
  fmt::format_to(out,
                 "<footer>Made by plaster from an evaluation record (schema plaster.evaluation, "
                 "version 1) written by plaster {}.</footer>\n</main></body></html>\n",
                 Escape(r.context.plaster_version));
  return page;
}

}  // namespace plaster::report
