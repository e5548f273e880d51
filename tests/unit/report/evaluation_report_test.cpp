// The renderings of an evaluation record, on the hand-made fixture
// tests/data/evaluation_sample.json (ResNet-50 at batch 1 and 8, a case killed for memory, an
// unsupported precision) and on records broken on purpose.
#include "report/evaluation_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "core/error.h"
#include "report/evaluation_headline.h"
#include "support/fixtures.h"

namespace plaster::report {
namespace {

using nlohmann::json;
using plaster::testing::ErrorOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const json& Sample() {
  static const json record = [] {
    std::ifstream in(std::string(PLASTER_SOURCE_DIR) + "/tests/data/evaluation_sample.json");
    return json::parse(in);
  }();
  return record;
}

std::string Text(const json& record, bool color = false) {
  std::ostringstream out;
  PrintScorecard(record, out, color);
  return out.str();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The line of the output that starts (after indentation) with prefix.
std::string LineOf(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(' ') != std::string::npos &&
        line.substr(line.find_first_not_of(' ')).rfind(prefix, 0) == 0) {
      return line;
    }
  }
  return "";
}

json& Case(json& record, size_t i) { return record["cases"][i]; }

json& MetricOf(json& c, const std::string& name) {
  for (auto& m : c["metrics"]) {
    if (m["name"] == name) return m;
  }
  throw std::logic_error("no metric " + name);
}

TEST(EvaluationFigure, ThreeSignificantDigits) {
  EXPECT_EQ(eval::Figure(71.24), "71.2");
  EXPECT_EQ(eval::Figure(64.011), "64.0");
  EXPECT_EQ(eval::Figure(0.0123), "0.0123");
  EXPECT_EQ(eval::Figure(1840.2), "1840");
  EXPECT_EQ(eval::Figure(99.96), "100");
  EXPECT_EQ(eval::Figure(9.996), "10.0");
  EXPECT_EQ(eval::Figure(0), "0");
  EXPECT_EQ(eval::Figure(5880184), "5.88 M");
  EXPECT_EQ(eval::Compact(8), "8");
  EXPECT_EQ(eval::Compact(0.25), "0.25");
  EXPECT_EQ(eval::Compact(2e6), "2 M");
  EXPECT_EQ(eval::Compact(1840.2), "1840");
  EXPECT_EQ(eval::Figure(-2.5), "-2.50");
}

TEST(EvaluationScorecard, HeadlinesAndBestPerColumn) {
  const eval::Record r = eval::ParseEvaluation(Sample());
  const eval::Scorecard s = eval::BuildScorecard(r);
  ASSERT_EQ(s.rows.size(), 4u);
  const auto& b1 = s.rows[0].cells;
  const auto& b8 = s.rows[1].cells;
  EXPECT_EQ(b1[0].text, "1840 ms · 100%");
  EXPECT_EQ(b1[1].text, "64.0 / 84.4 ms");
  EXPECT_EQ(b1[2].text, "n/a");
  EXPECT_EQ(b1[3].text, "312 MiB");
  EXPECT_EQ(b1[4].text, "15.4 · 10.0 /s");
  EXPECT_EQ(b8[4].text, "17.9 /s");  // no server peak at batch 8: none met the bound
  // Lower latency, memory and cold start win at batch 1; throughput at batch 8.
  EXPECT_TRUE(b1[0].best && b1[1].best && b1[3].best);
  EXPECT_FALSE(b8[0].best || b8[1].best || b8[3].best);
  EXPECT_TRUE(b8[4].best);
  EXPECT_FALSE(b1[4].best);
  // Scores against the best: 1 for the best, the ratio for the other.
  EXPECT_DOUBLE_EQ(*b8[4].score, 1.0);
  EXPECT_NEAR(*b1[4].score, 15.434 / 17.893, 1e-9);
  EXPECT_NEAR(*b8[1].score, 84.394 / 536.564, 1e-9);
  EXPECT_FALSE(b1[2].score.has_value());
  // One footnote per letter and reason, only for passed cases (the unsupported case's own
  // "bf16 is not supported" is its status line, not a footnote).
  ASSERT_EQ(s.footnotes.size(), 3u);
  EXPECT_EQ(s.footnotes[0].letter, 'A');
  EXPECT_EQ(s.footnotes[0].reason, "no dataset: --data gives one (plaster accuracy reads the same forms)");
  EXPECT_EQ(s.footnotes[1].letter, 'E');
  EXPECT_EQ(s.footnotes[2].letter, 'R');
}

TEST(EvaluationScorecard, TiesAreAllBestAndOneCaseIsNotRanked) {
  json record = Sample();
  MetricOf(Case(record, 1), "latency.p99")["value"] = 84.394;  // tie with batch 1
  eval::Record r = eval::ParseEvaluation(record);
  eval::Scorecard s = eval::BuildScorecard(r);
  EXPECT_TRUE(s.rows[0].cells[1].best);
  EXPECT_TRUE(s.rows[1].cells[1].best);

  record["cases"].erase(1);
  r = eval::ParseEvaluation(record);
  s = eval::BuildScorecard(r);
  for (const auto& cell : s.rows[0].cells) EXPECT_FALSE(cell.best) << cell.text;
  EXPECT_DOUBLE_EQ(*s.rows[0].cells[1].score, 1.0);
}

TEST(EvaluationText, ShowsEveryCaseFootnotesAndTheRecommendation) {
  const std::string text = Text(Sample());
  EXPECT_THAT(text, StartsWith("plaster evaluate · resnet50.onnx · Intel(R) Xeon(R) Processor, 2 "
                               "logical cores\n"));
  EXPECT_THAT(LineOf(text, "torch/cpu/fp32/b1/t2"),
              ::testing::ContainsRegex("  1840 ms · 100%\\* +64\\.0 / 84\\.4 ms\\*  n/a  "));
  EXPECT_THAT(LineOf(text, "torch/cpu/fp32/b8/t2"), HasSubstr("17.9 /s*"));
  EXPECT_THAT(LineOf(text, "torch/cpu/fp32/b64/t2"),
              HasSubstr("FAILED: killed by signal 9 (SIGKILL) after 41.2 s"));
  EXPECT_THAT(LineOf(text, "torch/cpu/bf16/b1/t2"),
              HasSubstr("UNSUPPORTED: engine 'torch' does not offer bf16 on cpu"));
  EXPECT_THAT(text, HasSubstr("  n/a  A  no dataset: --data gives one (plaster accuracy reads the same forms)\n"));
  EXPECT_EQ(Count(text, "no dataset: --data gives one"), 1u);
  EXPECT_THAT(text, HasSubstr("warning  torch/cpu/fp32/b8/t2: only 280 single-stream queries"));
  EXPECT_THAT(text, HasSubstr("\nRecommendation: torch/cpu/fp32/b1/t2: the highest offline "));
  EXPECT_EQ(text.find('\033'), std::string::npos) << "no escapes without color";
}

TEST(EvaluationText, ColorMakesTheBestBoldAndChangesNothingElse) {
  const std::string color = Text(Sample(), true);
  const std::string plain = Text(Sample(), false);
  EXPECT_THAT(color, HasSubstr("\033[1m64.0 / 84.4 ms\033[0m"));
  EXPECT_THAT(color, HasSubstr("\033[1m17.9 /s\033[0m"));
  // Without the escapes (and the plain form's '*' markers), each case's row says the same.
  auto squeeze = [](const std::string& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\033') {
        i = line.find('m', i);
      } else if (line[i] != '*' && !(line[i] == ' ' && !out.empty() && out.back() == ' ')) {
        out += line[i];
      }
    }
    return out;
  };
  for (const char* id : {"torch/cpu/fp32/b1/t2", "torch/cpu/fp32/b8/t2", "torch/cpu/fp32/b64/t2"}) {
    EXPECT_EQ(squeeze(LineOf(color, id)), squeeze(LineOf(plain, id)));
    EXPECT_NE(LineOf(plain, id), "");
  }
}

TEST(EvaluationText, NoCasesAndNoRecommendation) {
  json record = Sample();
  record["cases"] = json::array();
  record["recommendation"] = {{"case", nullptr}, {"reason", "no case ran"}};
  const std::string text = Text(record);
  EXPECT_THAT(text, HasSubstr("no cases in the record"));
  EXPECT_THAT(text, HasSubstr("Recommendation: none: no case ran"));
}

TEST(EvaluationMarkdown, TableBestInBoldAndEscapedText) {
  json record = Sample();
  Case(record, 0)["id"] = "a|b*<i>";
  const std::string md = ScorecardMarkdown(record);
  EXPECT_THAT(md, HasSubstr("| case | P score · cold start · nodes | L p50 / p99 |"));
  EXPECT_THAT(md, HasSubstr("\n|---|---|---|---|---|---|---|---|\n"));
  EXPECT_THAT(md, HasSubstr("| a\\|b\\*\\<i\\> | **1840 ms · 100%** | **64.0 / 84.4 ms** | n/a |"));
  EXPECT_THAT(md, HasSubstr("| torch/cpu/fp32/b64/t2 | **FAILED: killed by signal 9 (SIGKILL)"));
  EXPECT_THAT(md, HasSubstr("- A: n/a, no dataset: --data gives one (plaster accuracy reads the same forms)\n"));
  EXPECT_THAT(md, HasSubstr("**Recommendation**: torch/cpu/fp32/b1/t2: the highest"));
  // Every table row has the same number of cells (an unescaped '|' would add one).
  std::istringstream in(md);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| ", 0) != 0) continue;
    size_t bars = 0;
    for (size_t i = 0; i < line.size(); ++i)
      bars += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    EXPECT_EQ(bars, 9u) << line;
  }
}

TEST(EvaluationCsv, OneRowPerCaseOneColumnPerMetric) {
  const std::string csv = ScorecardCsv(Sample());
  std::vector<std::string> lines;
  for (size_t at = 0; at < csv.size();) {
    const size_t end = csv.find("\r\n", at);
    ASSERT_NE(end, std::string::npos) << "every line ends in CRLF";
    lines.push_back(csv.substr(at, end - at));
    at = end + 2;
  }
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], StartsWith("id,engine,device,precision,batch,threads,status,reason,"
                                   "p.imports [bool],p.node_coverage [%],p.cold_start [ms],"));
  EXPECT_THAT(lines[0], HasSubstr(",latency.p99 [ms],"));
  EXPECT_THAT(lines[0], HasSubstr(",latency.cv [ratio],"));
  EXPECT_THAT(lines[1], StartsWith("torch/cpu/fp32/b1/t2,torch,cpu,fp32,1,2,passed,,true,100,"
                                   "1840.2,"));
  EXPECT_THAT(lines[1], HasSubstr(",25530472,"));  // integers as written
  EXPECT_THAT(lines[3], StartsWith("torch/cpu/fp32/b64/t2,torch,cpu,fp32,64,2,failed,killed by"));
  // The failed case has no metrics: all its metric fields are empty.
  EXPECT_THAT(lines[3], ::testing::EndsWith(",,,,,"));
  // Batch 8's server peak is null: an empty field between t.offline and t.achieved_flops.
  EXPECT_THAT(lines[2], ::testing::ContainsRegex(",17\\.893,,[0-9]+,"));
  const size_t columns = static_cast<size_t>(std::count(lines[0].begin(), lines[0].end(), ','));
  for (const auto& line : lines) EXPECT_EQ(std::count(line.begin(), line.end(), ','), columns);
}

TEST(EvaluationCsv, Rfc4180Quoting) {
  json record = Sample();
  Case(record, 2)["reason"] = "killed, \"OOM\"\nafter 41 s";
  const std::string csv = ScorecardCsv(record);
  EXPECT_THAT(csv, HasSubstr(",failed,\"killed, \"\"OOM\"\"\nafter 41 s\","));
}

TEST(EvaluationHtml, SelfContainedWithEveryChart) {
  const std::string html = EvaluationHtml(Sample());
  EXPECT_THAT(html, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("Content-Security-Policy\" content=\"default-src 'none'"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http://www.example")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));  // nothing to fetch
  for (const char* id :
       {"context", "scorecard", "radar", "latency", "throughput", "size", "roofline"}) {
    EXPECT_THAT(html, HasSubstr(fmt::format("<section id=\"{}\">", id)));
  }
  // Two radars (the passed cases), the CDF, the curve, the size bars and the roofline.
  EXPECT_EQ(Count(html, "<svg "), 6u);
  // A, E and R are n/a in both radars; the failed cases get a card with their reason.
  EXPECT_EQ(Count(html, "class=\"axis-na\">n/a<"), 6u);
  EXPECT_THAT(html,
              HasSubstr("<div class=\"card failed\"><h3>torch/cpu/fp32/b64/t2</h3><p>FAILED"));
  EXPECT_THAT(html, HasSubstr("<td class=\"best\">64.0 / 84.4 ms</td>"));
  EXPECT_THAT(html, HasSubstr("latency bound 250 ms"));
  EXPECT_THAT(html, HasSubstr("compute roof: 220 GFLOP/s (fp32)"));
  EXPECT_THAT(html, HasSubstr("p50 64.0 ms, p99 84.4 ms (300 queries)"));
  EXPECT_THAT(html, HasSubstr("plaster evaluate resnet50.onnx --batch 1,8,64"));
}

TEST(EvaluationHtml, RecordTextCannotInjectMarkup) {
  json record = Sample();
  const std::string evil = "<script>alert(1)</script>\"'&";
  Case(record, 0)["id"] = evil;
  Case(record, 2)["reason"] = evil;
  Case(record, 1)["warnings"] = {evil};
  record["context"]["model"]["name"] = evil;
  record["context"]["libraries"][evil] = evil;
  record["context"]["command_line"].push_back(evil);
  record["recommendation"]["case"] = evil;
  record["recommendation"]["reason"] = evil;
  MetricOf(Case(record, 0), "p.cold_start")["unit"] = evil;
  record["cases"][0]["size_by_op"][0]["op_type"] = evil;
  record["cases"][0]["roofline"]["precision"] = evil;
  const std::string html = EvaluationHtml(record);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("'&\"")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
  // The Markdown escapes it too: CommonMark shows "\<" as a plain "<".
  const std::string md = ScorecardMarkdown(record);
  EXPECT_THAT(md, Not(HasSubstr("<script>")));
  EXPECT_THAT(md, HasSubstr("| \\<script\\>alert(1)\\</script\\>\"'\\& |"));
}

TEST(EvaluationHtml, WithoutRooflineOrSamplesSaysSo) {
  json record = Sample();
  for (auto& c : record["cases"]) {
    c["roofline"] = nullptr;
    c["samples"] = json::object();
    c["curves"] = json::object();
    c["size_by_op"] = json::array();
  }
  record["context"]["peak"] = nullptr;
  record["context"]["peak_reason"] = "plaster peak has not run";
  const std::string html = EvaluationHtml(record);
  EXPECT_EQ(Count(html, "<svg "), 2u);  // the radars only
  EXPECT_THAT(html, HasSubstr("No latency samples in the record."));
  EXPECT_THAT(html, HasSubstr("No roofline: plaster peak has not run."));
}

// Every renderer, for the malformed-record tests.
const std::vector<std::function<void(const json&)>>& Renderers() {
  static const std::vector<std::function<void(const json&)>> all = {
      [](const json& r) { Text(r); }, [](const json& r) { ScorecardMarkdown(r); },
      [](const json& r) { ScorecardCsv(r); }, [](const json& r) { EvaluationHtml(r); }};
  return all;
}

void ExpectError(const json& record, const std::string& message) {
  for (const auto& render : Renderers()) {
    EXPECT_EQ(ErrorOf([&] { render(record); }), message);
  }
}

TEST(EvaluationRecord, MalformedRecordsNameTheFieldAndTheCase) {
  json r = Sample();
  r.erase("context");
  ExpectError(r, "evaluation record: field 'context' is missing");

  r = Sample();
  MetricOf(Case(r, 1), "latency.p50")["value"] = json::object();
  ExpectError(r,
              "evaluation record: case 'torch/cpu/fp32/b8/t2' (cases[1]): field "
              "'metrics[7].value' is an object, expected a number, boolean, string or null");

  r = Sample();
  Case(r, 0)["letters"].erase("R");
  ExpectError(r,
              "evaluation record: case 'torch/cpu/fp32/b1/t2' (cases[0]): field 'letters.R' "
              "is missing");

  r = Sample();
  Case(r, 3).erase("id");
  ExpectError(r, "evaluation record: cases[3]: field 'id' is missing");

  r = Sample();
  Case(r, 0)["samples"]["latency_ms"][5] = "7";
  ExpectError(r,
              "evaluation record: case 'torch/cpu/fp32/b1/t2' (cases[0]): field "
              "'samples.latency_ms[5]' is a string, expected a number");

  r = Sample();
  Case(r, 1)["roofline"]["peak_flops"] = 0;
  ExpectError(r,
              "evaluation record: case 'torch/cpu/fp32/b8/t2' (cases[1]): field "
              "'roofline.peak_flops' must be positive");

  r = Sample();
  r["context"]["machine"]["logical_cores"] = 2.5;
  ExpectError(r,
              "evaluation record: context: field 'machine.logical_cores' is a number, "
              "expected an integer");

  r = Sample();
  r["schema_version"] = 2;
  ExpectError(r,
              "evaluation record: field 'schema_version' is 2; this plaster reads version 1 "
              "(docs/json-evaluation.md)");

  ExpectError(json::array(), "evaluation record: is an array, expected an object");
}

// Every field of the fixture removed, or replaced by a value of each wrong type: each renderer
// either renders or throws plaster::Error; no other exception, no crash.
TEST(EvaluationRecord, NoMutationEscapesAsAnotherException) {
  // The fixture with its long sample arrays cut to four values: the same code paths, less copying.
  json base = Sample();
  for (auto& c : base["cases"]) {
    for (auto& [name, values] : c["samples"].items()) {
      if (values.size() > 4) values.erase(values.begin() + 4, values.end());
    }
  }
  const json flat = base.flatten();
  std::vector<std::string> pointers;
  for (const auto& [pointer, value] : flat.items()) {
    // Within arrays (samples, metrics), the first elements stand for the rest.
    bool deep = false;
    std::istringstream parts(pointer);
    for (std::string part; std::getline(parts, part, '/');) {
      const bool index = !part.empty() && std::all_of(part.begin(), part.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
      if (index && (part.size() > 1 || part[0] > '3')) deep = true;
    }
    if (!deep) pointers.push_back(pointer);
  }
  ASSERT_GT(pointers.size(), 100u);
  // (An array stands in for every wrong container, a string for every wrong scalar.)
  const std::vector<json> wrong = {nullptr, "x", json::array(), -1, 1.7e308};
  int errors = 0, rendered = 0;
  for (const auto& pointer : pointers) {
    json::json_pointer p(pointer);
    std::vector<json> mutants;
    json removed = base;
    json& parent = removed[p.parent_pointer()];
    if (parent.is_object()) {
      parent.erase(p.back());
    } else {
      parent.erase(std::stoul(p.back()));
    }
    mutants.push_back(std::move(removed));
    for (const auto& w : wrong) {
      json m = base;
      m[p] = w;
      mutants.push_back(std::move(m));
    }
    for (const auto& m : mutants) {
      for (size_t k = 0; k < Renderers().size(); ++k) {
        try {
          Renderers()[k](m);
          ++rendered;
        } catch (const Error&) {
          ++errors;
        } catch (const std::exception& e) {
          ADD_FAILURE() << pointer << " (renderer " << k << "): " << e.what();
        }
      }
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(rendered, 0);
}

}  // namespace
}  // namespace plaster::report
