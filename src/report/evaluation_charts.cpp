// The inline SVG charts of the HTML evaluation report. Plain SVG 1.1 with presentation
// attributes; the page's stylesheet sets the fonts (.chart text).
#include "report/evaluation_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <numbers>

#include "core/units.h"

namespace plaster::report::html {
namespace {

using eval::Case;
using eval::Record;

// One axis: a domain (data units) mapped onto a range (pixels), linearly or by log10.
struct Scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  bool log = false;

  double operator()(double v) const {
    if (log) {
      const double t = (std::log10(v) - std::log10(d0)) / (std::log10(d1) - std::log10(d0));
      return r0 + t * (r1 - r0);
    }
    return r0 + (v - d0) / (d1 - d0) * (r1 - r0);
  }
};

constexpr std::array<double, 3> kSteps = {1, 2, 5};

// The largest 1, 2 or 5 × 10^k at or below v (v > 0).
double NiceFloor(double v) {
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  double best = p;
  for (double m : kSteps) {
    if (m * p <= v * (1 + 1e-9)) best = m * p;
  }
  return best;
}

// The smallest 1, 2 or 5 × 10^k at or above v (v > 0).
double NiceCeil(double v) {
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : kSteps) {
    if (m * p >= v * (1 - 1e-9)) return m * p;
  }
  return 10 * p;
}

// A linear axis from 0 to a round number at or above hi.
Scale LinearFromZero(double hi, double r0, double r1) {
  return {0, hi > 0 ? NiceCeil(hi * 1.05) : 1, r0, r1, false};
}

// A log axis from the 1-2-5 number at or below lo to the one at or above hi.
Scale LogAxis(double lo, double hi, double r0, double r1) {
  double d0 = NiceFloor(lo), d1 = NiceCeil(hi);
  if (d1 <= d0) d1 = d0 * 10;
  return {d0, d1, r0, r1, true};
}

// Decades only: for the roofline, whose axes span many of them.
Scale DecadeAxis(double lo, double hi, double r0, double r1) {
  double d0 = std::pow(10.0, std::floor(std::log10(lo)));
  double d1 = std::pow(10.0, std::ceil(std::log10(hi)));
  if (d1 <= d0) d1 = d0 * 10;
  return {d0, d1, r0, r1, true};
}

std::vector<double> Ticks(const Scale& s) {
  std::vector<double> out;
  if (s.log) {
    const double decades = std::log10(s.d1 / s.d0);
    for (int e = static_cast<int>(std::floor(std::log10(s.d0)));
         e <= static_cast<int>(std::ceil(std::log10(s.d1))); ++e) {
      for (double m : kSteps) {
        if (decades > 2.5 && m != 1) continue;
        const double v = m * std::pow(10.0, e);
        if (v >= s.d0 * (1 - 1e-9) && v <= s.d1 * (1 + 1e-9)) out.push_back(v);
      }
    }
    return out;
  }
  const double step = NiceCeil((s.d1 - s.d0) / 6);
  for (double v = std::ceil(s.d0 / step) * step; v <= s.d1 * (1 + 1e-9); v += step) {
    out.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

std::string Px(double v) { return fmt::format("{:.1f}", v); }

// The frame of a chart: plot area (x0, y0)-(x1, y1), grid lines, tick labels, axis titles.
struct Frame {
  double width, height, x0, y0, x1, y1;
};

void Axes(std::string& svg, const Frame& f, const Scale& x, const Scale& y,
          std::string (*xlabel)(double), std::string (*ylabel)(double), std::string_view xtitle,
          std::string_view ytitle) {
  auto out = std::back_inserter(svg);
  fmt::format_to(out,
                 R"(<rect x="{}" y="{}" width="{}" height="{}" fill="#fbfbfd" stroke="none"/>)",
                 Px(f.x0), Px(f.y1), Px(f.x1 - f.x0), Px(f.y0 - f.y1));
  for (double v : Ticks(x)) {
    const double px = x(v);
    fmt::format_to(out, R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" class="grid"/>)", Px(px),
                   Px(f.y0), Px(f.y1));
    fmt::format_to(out, R"(<text x="{}" y="{}" text-anchor="middle" class="tick">{}</text>)",
                   Px(px), Px(f.y0 + 16), Escape(xlabel(v)));
  }
  for (double v : Ticks(y)) {
    const double py = y(v);
    fmt::format_to(out, R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" class="grid"/>)", Px(f.x0),
                   Px(py), Px(f.x1));
    fmt::format_to(out, R"(<text x="{}" y="{}" text-anchor="end" class="tick">{}</text>)",
                   Px(f.x0 - 6), Px(py + 4), Escape(ylabel(v)));
  }
  fmt::format_to(out, R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#888"/>)",
                 Px(f.x0), Px(f.y1), Px(f.x1 - f.x0), Px(f.y0 - f.y1));
  fmt::format_to(out, R"(<text x="{}" y="{}" text-anchor="middle" class="title">{}</text>)",
                 Px((f.x0 + f.x1) / 2), Px(f.y0 + 38), Escape(xtitle));
  fmt::format_to(out,
                 R"~(<text transform="translate({},{}) rotate(-90)" text-anchor="middle" )~"
                 R"(class="title">{}</text>)",
                 Px(f.x0 - 52), Px((f.y0 + f.y1) / 2), Escape(ytitle));
}

std::string Open(double width, double height, std::string_view label) {
  return fmt::format(
      R"(<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" )"
      R"(viewBox="0 0 {0} {1}" role="img" aria-label="{2}">)",
      Px(width), Px(height), Escape(label));
}

// One legend entry per line at (x, y) downwards: a swatch in colour, then the text.
void Legend(std::string& svg, double x, double y,
            const std::vector<std::pair<std::string, std::string>>& entries) {
  auto out = std::back_inserter(svg);
  for (size_t i = 0; i < entries.size(); ++i) {
    const double ly = y + 18.0 * static_cast<double>(i);
    fmt::format_to(out, R"(<rect x="{}" y="{}" width="14" height="4" rx="1" fill="{}"/>)", Px(x),
                   Px(ly - 5), entries[i].first);
    fmt::format_to(out, R"(<text x="{}" y="{}" class="legend">{}</text>)", Px(x + 20), Px(ly),
                   Escape(entries[i].second));
  }
}

// Tick labels: trailing zeros dropped ("2", "0.25", "2 M"), as axes read best.
std::string FigureLabel(double v) { return eval::Compact(v); }
std::string PercentLabel(double v) { return FigureLabel(v * 100) + "%"; }
std::string SiLabel(double v) {
  std::string s = FormatSi(v, "");  // "1.00 T" -> "1 T", "50.0 G" -> "50 G"
  const size_t dot = s.find('.');
  if (dot == std::string::npos) return s;
  size_t end = s.find(' ', dot);
  if (end == std::string::npos) end = s.size();
  size_t keep = end;
  while (keep > dot + 1 && s[keep - 1] == '0') --keep;
  if (keep == dot + 1) keep = dot;
  return s.substr(0, keep) + s.substr(end);
}

// A share of a total for the bar labels: "99.8%", "8.0%", "0.11%", "<0.01%", "0".
std::string Share(double part, double total) {
  if (total <= 0 || part <= 0) return "0";
  const double pct = 100 * part / total;
  if (pct >= 1) return fmt::format("{:.1f}%", pct);
  if (pct >= 0.01) return fmt::format("{:.2f}%", pct);
  return "<0.01%";
}

// A value a log axis can show. Figures past 1e30 come only from broken records, and would
// overflow the axis arithmetic.
bool Plottable(double v) { return std::isfinite(v) && v > 0 && v < 1e30; }

// A probe of a curve that both axes can show.
bool Plottable(const eval::CurvePoint& p) {
  return Plottable(p.latency_ms) && std::isfinite(p.samples_per_s) && p.samples_per_s >= 0 &&
         p.samples_per_s < 1e30;
}

// Nearest rank: the smallest sample with at least p·n samples at or below it (sorted input).
double NearestRank(const std::vector<double>& sorted, double p) {
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(p * n - 1e-9)));
  return sorted[std::min(rank, sorted.size()) - 1];
}

}  // namespace

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string CaseColor(size_t index) {
  static constexpr std::array<const char*, 10> kColors = {
      "#2f6db5", "#e8771e", "#3a9a4a", "#d23f3f", "#8d5fbf",
      "#1a9a9a", "#c9a317", "#9c6446", "#d462a6", "#6b6b6b"};
  return kColors[index % kColors.size()];
}

std::string RadarSvg(const eval::Row& row, size_t index) {
  constexpr double kW = 340, kH = 290, kCx = 170, kCy = 150, kR = 88;
  const std::string color = CaseColor(index);
  std::string svg = Open(kW, kH, "PLASTER radar of " + row.c->id);
  auto out = std::back_inserter(svg);
  auto angle = [](size_t k) {
    return -std::numbers::pi / 2 + 2 * std::numbers::pi * static_cast<double>(k) / 7.0;
  };
  auto at = [&](size_t k, double r) {
    return std::pair{kCx + r * std::cos(angle(k)), kCy + r * std::sin(angle(k))};
  };
  for (double ring : {0.25, 0.5, 0.75, 1.0}) {
    std::string points;
    for (size_t k = 0; k < 7; ++k) {
      auto [x, y] = at(k, kR * ring);
      points += fmt::format("{},{} ", Px(x), Px(y));
    }
    fmt::format_to(out, R"(<polygon points="{}" fill="none" stroke="{}" stroke-width="1"/>)",
                   points, ring == 1.0 ? "#bbb" : "#e2e2e2");
  }
  for (size_t k = 0; k < 7; ++k) {
    const eval::Cell& cell = row.cells[k];
    const bool on = cell.score.has_value();
    auto [ex, ey] = at(k, kR);
    fmt::format_to(out, R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" {}/>)", Px(kCx),
                   Px(kCy), Px(ex), Px(ey), on ? "#c8c8c8" : "#d0d0d0",
                   on ? "" : R"(stroke-dasharray="3 3")");
    auto [lx, ly] = at(k, kR + 20);
    const double c = std::cos(angle(k));
    const char* anchor = c > 0.3 ? "start" : c < -0.3 ? "end" : "middle";
    const double dy = std::sin(angle(k)) < -0.5 ? -8 : 0;  // the top label sits above the rim
    fmt::format_to(out, R"(<text x="{}" y="{}" text-anchor="{}" class="axis-letter">{}</text>)",
                   Px(lx), Px(ly + dy), anchor, eval::kLetters[k]);
    if (on) {
      // A long figure ("0.000119 / 0.000273 ms") goes on two lines, split after its separator,
      // so that it stays inside the card.
      std::string first = cell.text, second;
      for (std::string_view sep : {" / ", " · "}) {
        const size_t split = cell.text.find(sep);
        if (cell.text.size() > 16 && split != std::string::npos) {
          first = cell.text.substr(0, split + sep.size() - 1);
          second = cell.text.substr(split + sep.size());
          break;
        }
      }
      fmt::format_to(out, R"(<text x="{}" y="{}" text-anchor="{}" class="axis-value">{}</text>)",
                     Px(lx), Px(ly + dy + 13), anchor, Escape(first));
      if (!second.empty()) {
        fmt::format_to(out, R"(<text x="{}" y="{}" text-anchor="{}" class="axis-value">{}</text>)",
                       Px(lx), Px(ly + dy + 26), anchor, Escape(second));
      }
    } else {
      const char* what = cell.available ? "not ranked" : "n/a";
      fmt::format_to(out, R"(<text x="{}" y="{}" text-anchor="{}" class="axis-na">{}</text>)",
                     Px(lx), Px(ly + dy + 13), anchor, what);
      // The gap itself: a hollow marker at the centre end of the axis.
      auto [gx, gy] = at(k, kR * 0.5);
      fmt::format_to(out,
                     R"(<circle cx="{}" cy="{}" r="3.5" fill="#fff" stroke="#aaa" )"
                     R"(stroke-dasharray="2 1.5"/>)",
                     Px(gx), Px(gy));
    }
  }
  // Filled wedges and edges only between neighbouring axes that both have a figure: a gap stays
  // a gap instead of a line drawn across a letter that was never measured.
  for (size_t k = 0; k < 7; ++k) {
    const eval::Cell& a = row.cells[k];
    const eval::Cell& b = row.cells[(k + 1) % 7];
    if (!a.score || !b.score) continue;
    auto [x1, y1] = at(k, kR * *a.score);
    auto [x2, y2] = at((k + 1) % 7, kR * *b.score);
    fmt::format_to(out,
                   R"(<polygon points="{},{} {},{} {},{}" fill="{}" fill-opacity="0.16" )"
                   R"(stroke="none"/>)",
                   Px(kCx), Px(kCy), Px(x1), Px(y1), Px(x2), Px(y2), color);
    fmt::format_to(out,
                   R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2.2" )"
                   R"(stroke-linecap="round"/>)",
                   Px(x1), Px(y1), Px(x2), Px(y2), color);
  }
  for (size_t k = 0; k < 7; ++k) {
    const eval::Cell& cell = row.cells[k];
    if (!cell.score) continue;
    auto [px, py] = at(k, kR * *cell.score);
    fmt::format_to(out,
                   R"(<circle cx="{}" cy="{}" r="4" fill="{}" stroke="#fff" stroke-width="1.5">)"
                   R"(<title>{}: {} ({}% of the best)</title></circle>)",
                   Px(px), Px(py), color, eval::kLetters[k], Escape(cell.text),
                   eval::Figure(*cell.score * 100));
  }
  svg += "</svg>";
  return svg;
}

std::string LatencyCdfSvg(const Record& record) {
  struct Series {
    size_t index;
    std::vector<double> sorted;
    double p50, p99;
  };
  std::vector<Series> series;
  double lo = 0, hi = 0;
  for (size_t i = 0; i < record.cases.size(); ++i) {
    const Case& c = record.cases[i];
    auto it = c.samples.find("latency_ms");
    if (!c.Passed() || it == c.samples.end()) continue;
    std::vector<double> v;
    for (double x : it->second) {
      if (Plottable(x)) v.push_back(x);
    }
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    const double p50 = c.Number("latency.p50").value_or(NearestRank(v, 0.5));
    const double p99 = c.Number("latency.p99").value_or(NearestRank(v, 0.99));
    lo = series.empty() ? v.front() : std::min(lo, v.front());
    hi = series.empty() ? v.back() : std::max(hi, v.back());
    series.push_back({i, std::move(v), p50, p99});
  }
  if (series.empty()) return "";
  const double legend_h = 18.0 * static_cast<double>(series.size());
  const Frame f{640, 380 + legend_h, 72, 320, 625, 20};
  // Log x when the cases span more than a factor of four: a batch-8 case beside a batch-1 case
  // would otherwise squeeze the faster one against the axis.
  const Scale x = hi / lo > 4 ? LogAxis(lo, hi, f.x0, f.x1)
                              : Scale{NiceFloor(lo * 0.95), NiceCeil(hi * 1.02), f.x0, f.x1, false};
  const Scale y{0, 1, f.y0, f.y1, false};
  std::string svg = Open(f.width, f.height, "latency distribution");
  auto out = std::back_inserter(svg);
  Axes(svg, f, x, y, FigureLabel, PercentLabel,
       x.log ? "latency per query (ms, log scale)" : "latency per query (ms)",
       "queries at or below (%)");
  for (double level : {0.5, 0.99}) {
    fmt::format_to(out,
                   R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#999" )"
                   R"(stroke-dasharray="5 4"/><text x="{3}" y="{4}" class="tick">{5}</text>)",
                   Px(f.x0), Px(y(level)), Px(f.x1), Px(f.x0 + 6), Px(y(level) - 4),
                   level == 0.5 ? "p50" : "p99");
  }
  std::vector<std::pair<std::string, std::string>> legend;
  for (const auto& s : series) {
    const std::string color = CaseColor(s.index);
    const auto n = static_cast<double>(s.sorted.size());
    std::string path = fmt::format("M{},{}", Px(x(s.sorted[0])), Px(y(0)));
    // At most kMaxSteps steps: beyond that the path only grows (a record may keep 100,000 samples)
    // while the line looks the same; the steps kept are evenly spaced ranks, the last included.
    constexpr size_t kMaxSteps = 2000;
    const size_t count = s.sorted.size();
    const size_t steps = std::min(count, kMaxSteps);
    for (size_t i = 0; i < steps; ++i) {
      const size_t k = steps == count ? i : (count - 1) * (i + 1) / steps;
      path += fmt::format("H{}V{}", Px(x(s.sorted[k])), Px(y(static_cast<double>(k + 1) / n)));
    }
    fmt::format_to(out, R"(<path d="{}" fill="none" stroke="{}" stroke-width="2"/>)", path, color);
    for (auto [value, level] : {std::pair{s.p50, 0.5}, std::pair{s.p99, 0.99}}) {
      if (value < x.d0 || value > x.d1) continue;
      fmt::format_to(out,
                     R"(<circle cx="{}" cy="{}" r="5" fill="{}" stroke="#fff" stroke-width="1.5">)"
                     R"(<title>{} {}: {} ms</title></circle>)",
                     Px(x(value)), Px(y(level)), color, level == 0.5 ? "p50" : "p99",
                     Escape(record.cases[s.index].id), eval::Figure(value));
    }
    legend.emplace_back(
        color, fmt::format("{}: p50 {} ms, p99 {} ms ({} queries)", record.cases[s.index].id,
                           eval::Figure(s.p50), eval::Figure(s.p99), s.sorted.size()));
  }
  Legend(svg, f.x0, f.y0 + 62, legend);
  svg += "</svg>";
  return svg;
}

std::string ThroughputLatencySvg(const Record& record) {
  double max_rate = 0, lo = 0, hi = 0;
  bool any = false;
  for (const auto& c : record.cases) {
    if (!c.Passed()) continue;
    for (const auto* curve : {&c.server, &c.offline}) {
      for (const auto& p : *curve) {
        if (!Plottable(p)) continue;
        max_rate = std::max(max_rate, p.samples_per_s);
        lo = any ? std::min(lo, p.latency_ms) : p.latency_ms;
        hi = any ? std::max(hi, p.latency_ms) : p.latency_ms;
        any = true;
      }
    }
  }
  if (!any) return "";
  const auto bound = record.context.latency_bound_ms;
  if (bound && Plottable(*bound)) {
    lo = std::min(lo, *bound);
    hi = std::max(hi, *bound);
  }
  std::vector<std::pair<std::string, std::string>> legend;
  for (size_t i = 0; i < record.cases.size(); ++i) {
    const Case& c = record.cases[i];
    if (c.Passed() && (!c.server.empty() || !c.offline.empty())) {
      legend.emplace_back(CaseColor(i), c.id);
    }
  }
  const double legend_h = 18.0 * static_cast<double>(legend.size() + 1);
  const Frame f{640, 380 + legend_h, 72, 320, 625, 20};
  const Scale x = LinearFromZero(max_rate, f.x0, f.x1);
  const Scale y = hi / lo > 8 ? LogAxis(lo, hi, f.y0, f.y1) : LinearFromZero(hi, f.y0, f.y1);
  std::string svg = Open(f.width, f.height, "throughput against latency");
  auto out = std::back_inserter(svg);
  Axes(svg, f, x, y, FigureLabel, FigureLabel, "throughput (samples/s)",
       y.log ? "latency (ms, p99 of each probe, log scale)" : "latency (ms, p99 of each probe)");
  if (bound && Plottable(*bound)) {
    fmt::format_to(
        out,
        R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#c0392b" stroke-width="1.5" )"
        R"(stroke-dasharray="7 4"/><text x="{3}" y="{4}" text-anchor="end" )"
        R"(class="tick" fill="#c0392b">latency bound {5} ms</text>)",
        Px(f.x0), Px(y(*bound)), Px(f.x1), Px(f.x1 - 6), Px(y(*bound) - 5), eval::Compact(*bound));
  }
  for (size_t i = 0; i < record.cases.size(); ++i) {
    const Case& c = record.cases[i];
    if (!c.Passed()) continue;
    const std::string color = CaseColor(i);
    // The server search's probes as a line by rate; each probe a circle, hollow when its p99
    // missed the bound. Offline probes are squares.
    std::vector<eval::CurvePoint> server = c.server;
    std::stable_sort(server.begin(), server.end(), [](const auto& a, const auto& b) {
      return a.samples_per_s < b.samples_per_s;
    });
    std::string path;
    for (const auto& p : server) {
      if (!Plottable(p)) continue;
      path += fmt::format("{}{},{}", path.empty() ? "M" : "L", Px(x(p.samples_per_s)),
                          Px(y(p.latency_ms)));
    }
    if (!path.empty()) {
      fmt::format_to(out, R"(<path d="{}" fill="none" stroke="{}" stroke-width="1.6"/>)", path,
                     color);
    }
    for (const auto& p : server) {
      if (!Plottable(p)) continue;
      fmt::format_to(out,
                     R"(<circle cx="{}" cy="{}" r="4.5" fill="{}" stroke="{}" stroke-width="1.8">)"
                     R"(<title>{} server: {} queries/s offered, {} samples/s, p99 {} ms{}</title>)"
                     R"(</circle>)",
                     Px(x(p.samples_per_s)), Px(y(p.latency_ms)), p.passed ? color : "#fff", color,
                     Escape(c.id), eval::Figure(p.rate_qps), eval::Figure(p.samples_per_s),
                     eval::Figure(p.latency_ms), p.passed ? "" : " (over the bound)");
    }
    for (const auto& p : c.offline) {
      if (!Plottable(p)) continue;
      fmt::format_to(out,
                     R"(<rect x="{}" y="{}" width="9" height="9" fill="{}" stroke="{}" )"
                     R"(stroke-width="1.8"><title>{} offline: batch {}, {} sessions, {} )"
                     R"(samples/s, {} ms</title></rect>)",
                     Px(x(p.samples_per_s) - 4.5), Px(y(p.latency_ms) - 4.5),
                     p.passed ? color : "#fff", color, Escape(c.id), p.batch, p.sessions,
                     eval::Figure(p.samples_per_s), eval::Figure(p.latency_ms));
    }
  }
  Legend(svg, f.x0, f.y0 + 62, legend);
  const double ky = f.y0 + 62 + 18.0 * static_cast<double>(legend.size());
  fmt::format_to(out,
                 R"(<circle cx="{}" cy="{}" r="4.5" fill="#555"/><text x="{}" y="{}" )"
                 R"(class="legend">server probe (hollow: p99 over the bound)</text>)"
                 R"(<rect x="{}" y="{}" width="9" height="9" fill="#555"/><text x="{}" y="{}" )"
                 R"(class="legend">offline probe</text>)",
                 Px(f.x0 + 7), Px(ky - 4), Px(f.x0 + 20), Px(ky), Px(f.x0 + 330), Px(ky - 8.5),
                 Px(f.x0 + 345), Px(ky));
  svg += "</svg>";
  return svg;
}

std::string SizeByOpSvg(const Record& record) {
  const Case* chosen = nullptr;
  for (const auto& c : record.cases) {
    if (c.size_by_op.empty()) continue;
    const bool better = chosen == nullptr || (c.Passed() && !chosen->Passed()) ||
                        (c.Passed() == chosen->Passed() && c.batch < chosen->batch);
    if (better) chosen = &c;
  }
  if (chosen == nullptr) return "";
  std::vector<eval::OpSize> ops = chosen->size_by_op;
  for (auto& op : ops) {  // bars have no negative length (only a broken record has one)
    if (op.flops) op.flops = std::max(0.0, *op.flops);
    op.parameters = std::max(0.0, op.parameters);
  }
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) {
    const double fa = a.flops.value_or(0), fb = b.flops.value_or(0);
    return fa != fb ? fa > fb : a.parameters > b.parameters;
  });
  constexpr size_t kMaxRows = 12;
  if (ops.size() > kMaxRows) {  // the rest as one row
    eval::OpSize rest{fmt::format("{} other types", ops.size() - (kMaxRows - 1)), 0, 0.0, 0};
    for (size_t k = kMaxRows - 1; k < ops.size(); ++k) {
      rest.nodes += ops[k].nodes;
      rest.flops = *rest.flops + ops[k].flops.value_or(0);
      rest.parameters += ops[k].parameters;
    }
    ops.resize(kMaxRows - 1);
    ops.push_back(rest);
  }
  double total_flops = 0, total_params = 0, max_flops = 0, max_params = 0;
  for (const auto& op : ops) {
    total_flops += op.flops.value_or(0);
    total_params += op.parameters;
    max_flops = std::max(max_flops, op.flops.value_or(0));
    max_params = std::max(max_params, op.parameters);
  }
  constexpr double kRow = 26, kTop = 52, kLabel = 168, kPanel = 228, kGap = 12;
  const double height = kTop + kRow * static_cast<double>(ops.size()) + 12;
  const double width = kLabel + 2 * kPanel + kGap + 10;
  std::string svg = Open(width, height, "size by op type");
  auto out = std::back_inserter(svg);
  const double p1 = kLabel, p2 = kLabel + kPanel + kGap;
  constexpr double kBarMax = kPanel - 122;  // room for the value label after the bar
  fmt::format_to(out,
                 R"(<text x="{}" y="18" class="title">FLOPs at batch {}</text>)"
                 R"(<text x="{}" y="18" class="title">parameters</text>)",
                 Px(p1), chosen->batch, Px(p2));
  fmt::format_to(out, R"(<text x="{}" y="38" class="tick">op type (nodes)</text>)", Px(8));
  for (size_t k = 0; k < ops.size(); ++k) {
    const auto& op = ops[k];
    const double top = kTop + kRow * static_cast<double>(k);
    if (k % 2 == 0) {
      fmt::format_to(out, R"(<rect x="0" y="{}" width="{}" height="{}" fill="#f4f5f8"/>)",
                     Px(top - 4), Px(width), Px(kRow));
    }
    fmt::format_to(out, R"(<text x="8" y="{}" class="legend">{} ({})</text>)", Px(top + 13),
                   Escape(op.op_type), op.nodes);
    const double f = op.flops.value_or(0);
    const double fw = max_flops > 0 ? kBarMax * f / max_flops : 0;
    fmt::format_to(out, R"(<rect x="{}" y="{}" width="{}" height="16" rx="2" fill="#2f6db5"/>)",
                   Px(p1), Px(top), Px(f > 0 ? std::max(fw, 1.0) : 0.0));
    const std::string flops_text =
        op.flops ? fmt::format("{} · {}", FormatSi(f, "FLOP"), Share(f, total_flops))
                 : std::string("not counted");
    fmt::format_to(out, R"(<text x="{}" y="{}" class="tick">{}</text>)", Px(p1 + fw + 6),
                   Px(top + 12), Escape(flops_text));
    const double pw = max_params > 0 ? kBarMax * op.parameters / max_params : 0;
    fmt::format_to(out, R"(<rect x="{}" y="{}" width="{}" height="16" rx="2" fill="#e8771e"/>)",
                   Px(p2), Px(top), Px(op.parameters > 0 ? std::max(pw, 1.0) : 0.0));
    fmt::format_to(out, R"(<text x="{}" y="{}" class="tick">{}</text>)", Px(p2 + pw + 6),
                   Px(top + 12),
                   op.parameters > 0 ? fmt::format("{} · {}", FormatSi(op.parameters, ""),
                                                   Share(op.parameters, total_params))
                                     : std::string("none"));
  }
  svg += "</svg>";
  return svg;
}

std::string RooflineSvg(const Record& record) {
  std::vector<std::pair<size_t, eval::Roofline>> points;
  for (size_t i = 0; i < record.cases.size(); ++i) {
    const Case& c = record.cases[i];
    const auto& r = c.roofline;
    if (c.Passed() && r && Plottable(r->balance) && Plottable(r->peak_flops) &&
        Plottable(r->peak_bytes_per_s)) {
      points.emplace_back(i, *r);
    }
  }
  if (points.empty()) return "";
  // Distinct roofs (one per precision's peak, normally one in all).
  std::vector<eval::Roofline> roofs;
  for (const auto& [i, r] : points) {
    const bool seen = std::any_of(roofs.begin(), roofs.end(), [&](const auto& q) {
      return q.peak_flops == r.peak_flops && q.peak_bytes_per_s == r.peak_bytes_per_s;
    });
    if (!seen) roofs.push_back(r);
  }
  double xlo = points[0].second.balance, xhi = xlo, ylo = points[0].second.peak_flops, yhi = ylo;
  for (const auto& [i, r] : points) {
    for (double v : {r.balance, r.intensity}) {
      if (v > 0) {
        xlo = std::min(xlo, v);
        xhi = std::max(xhi, v);
      }
    }
    yhi = std::max(yhi, r.peak_flops);
    if (r.achieved_flops > 0) ylo = std::min(ylo, r.achieved_flops);
  }
  std::vector<std::pair<std::string, std::string>> legend;
  for (const auto& [i, r] : points) {
    legend.emplace_back(CaseColor(i),
                        fmt::format("{}: {} at {} FLOP/B ({}% of the {} peak)", record.cases[i].id,
                                    FormatSi(r.achieved_flops, "FLOP/s"), eval::Figure(r.intensity),
                                    eval::Figure(r.fraction * 100), r.precision));
  }
  const double legend_h = 18.0 * static_cast<double>(legend.size());
  const Frame f{640, 380 + legend_h, 80, 320, 625, 20};
  const Scale x = DecadeAxis(xlo / 4, xhi * 4, f.x0, f.x1);
  double slope_lo = yhi;
  for (const auto& r : roofs) slope_lo = std::min(slope_lo, r.peak_bytes_per_s * x.d0);
  const Scale y = DecadeAxis(std::max(std::min(ylo, slope_lo), yhi * 1e-4), yhi * 2, f.y0, f.y1);
  std::string svg = Open(f.width, f.height, "roofline");
  auto out = std::back_inserter(svg);
  Axes(svg, f, x, y, FigureLabel, SiLabel, "arithmetic intensity (FLOP per byte moved, log)",
       "achieved FLOP/s (log)");
  fmt::format_to(out,
                 R"(<clipPath id="roof-clip"><rect x="{}" y="{}" width="{}" height="{}"/>)"
                 R"~(</clipPath><g clip-path="url(#roof-clip)">)~",
                 Px(f.x0), Px(f.y1), Px(f.x1 - f.x0), Px(f.y0 - f.y1));
  for (size_t k = 0; k < roofs.size(); ++k) {
    const auto& r = roofs[k];
    const double knee = r.peak_flops / r.peak_bytes_per_s;  // the balance point
    const double x_start = std::max(x.d0, y.d0 / r.peak_bytes_per_s);
    fmt::format_to(out,
                   R"(<polyline points="{},{} {},{} {},{}" fill="none" stroke="#333" )"
                   R"(stroke-width="2.2" {}/>)",
                   Px(x(x_start)), Px(y(r.peak_bytes_per_s * x_start)), Px(x(knee)),
                   Px(y(r.peak_flops)), Px(x(x.d1)), Px(y(r.peak_flops)),
                   k == 0 ? "" : R"(stroke-dasharray="8 4")");
    fmt::format_to(out,
                   R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#999" )"
                   R"(stroke-dasharray="2 3"/>)",
                   Px(x(knee)), Px(f.y0), Px(y(r.peak_flops)));
  }
  svg += "</g>";
  for (const auto& r : roofs) {
    const double knee = r.peak_flops / r.peak_bytes_per_s;
    fmt::format_to(out,
                   R"(<text x="{}" y="{}" text-anchor="end" class="legend">compute roof: {} )"
                   R"(({})</text>)",
                   Px(f.x1 - 8), Px(y(r.peak_flops) - 7), FormatSi(r.peak_flops, "FLOP/s"),
                   Escape(r.precision));
    fmt::format_to(out,
                   R"(<text x="{}" y="{}" text-anchor="middle" class="tick">balance {} FLOP/B)"
                   R"(</text>)",
                   Px(x(knee)), Px(f.y0 - 6), eval::Figure(knee));
    // The memory slope's label, turned to lie along it (same angle on screen as the line).
    const double xa = std::sqrt(std::max(x.d0, y.d0 / r.peak_bytes_per_s) * knee);
    const double x1 = x(xa), y1 = y(r.peak_bytes_per_s * xa);
    const double x2 = x(xa * 2), y2 = y(r.peak_bytes_per_s * xa * 2);
    const double deg = std::atan2(y2 - y1, x2 - x1) * 180 / std::numbers::pi;
    fmt::format_to(out,
                   R"~(<text transform="translate({},{}) rotate({:.1f})" text-anchor="middle" )~"
                   R"(class="legend">memory: {}</text>)",
                   Px(x1), Px(y1 - 8), deg, FormatSi(r.peak_bytes_per_s, "B/s"));
  }
  for (const auto& [i, r] : points) {
    if (!Plottable(r.intensity) || !Plottable(r.achieved_flops)) continue;
    const double px = x(r.intensity), py = y(r.achieved_flops);
    fmt::format_to(out,
                   R"(<circle cx="{}" cy="{}" r="6" fill="{}" stroke="#fff" stroke-width="1.8">)"
                   R"(<title>{}</title></circle><text x="{}" y="{}" class="tick">{}% · {}-bound)"
                   R"(</text>)",
                   Px(px), Px(py), CaseColor(i), Escape(record.cases[i].id), Px(px + 9), Px(py + 4),
                   eval::Figure(r.fraction * 100), Escape(r.bound));
  }
  Legend(svg, f.x0, f.y0 + 62, legend);
  svg += "</svg>";
  return svg;
}

}  // namespace plaster::report::html
