// The evaluation record's fixture against its JSON Schema (tools/validate_record.py), and the HTML
// report in a real browser: headless Chromium loads the page rendered from the fixture, must log
// nothing to its console, and writes a screenshot (kept in the build folder, to look at:
// build/release/tests/evaluation_report.png).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/evaluation_report.h"
#include "support/fixtures.h"

namespace plaster {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

const std::string kSource = PLASTER_SOURCE_DIR;
const std::string kSchema = kSource + "/docs/schema/evaluation.schema.json";
const std::string kFixture = kSource + "/tests/data/evaluation_sample.json";

struct Result {
  int exit_code = -1;
  std::string out;  // stdout, then stderr
};

using testing::Slurp;

std::string Quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Result Run(const std::string& command) {
  const testing::CommandResult r = testing::RunCommand(command);
  return {r.exit_code, r.out + r.err};
}

Result Validate(const std::string& record) {
  return Run(fmt::format("{} {} {} {}", PLASTER_PYTHON,
                         Quote(kSource + "/tools/validate_record.py"), Quote(kSchema),
                         Quote(record)));
}

json Fixture() {
  std::ifstream in(kFixture);
  return json::parse(in);
}

TEST(EvaluationSchema, TheFixtureIsValid) {
  const Result r = Validate(kFixture);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("valid (document, 4 cases)"));
}

TEST(EvaluationSchema, JsonLinesAreAssembledIntoTheDocument) {
  TempDir dir;
  const json record = Fixture();
  std::string lines = record["context"].dump() + "\n";
  for (const auto& c : record["cases"]) lines += c.dump() + "\n";
  WriteFile(dir / "record.jsonl", lines);
  const Result r = Validate((dir / "record.jsonl").string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("valid (jsonl, 4 cases)"));
}

TEST(EvaluationSchema, ABrokenRecordFailsWithThePathOfTheError) {
  TempDir dir;
  json record = Fixture();
  record["cases"][0]["letters"]["A"].erase("reason");  // unavailable needs a reason
  record["cases"][1]["metrics"][0]["source"] = "guessed";
  WriteFile(dir / "bad.json", record.dump());
  const Result r = Validate((dir / "bad.json").string());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("at /cases/0/letters/A: 'reason' is a required property"));
  EXPECT_THAT(r.out, HasSubstr("at /cases/1/metrics/0/source: 'guessed' is not one of"));
  EXPECT_THAT(r.out, HasSubstr("invalid (2 errors)"));
}

struct Browser {
  int exit_code = -1;
  std::string log;                   // Chromium's stderr
  std::vector<std::string> console;  // the page's console messages
};

// Loads file in headless Chromium and screenshots it at 1400 × 3000.
Browser Screenshot(const std::filesystem::path& html, const std::filesystem::path& png) {
  TempDir profile;
  std::string command = fmt::format(
      "timeout 120 {} --headless=new --disable-gpu --no-first-run --hide-scrollbars "
      "--enable-logging=stderr --v=0 --user-data-dir={} --window-size=1400,3000 "
      "--screenshot={} {} file://{}",
      PLASTER_CHROMIUM, Quote(profile.path().string()), Quote(png.string()),
      ::geteuid() == 0 ? "--no-sandbox" : "",  // Chromium's sandbox refuses to run as root
      Quote(html.string()));
  const Result r = Run(command);
  Browser b{r.exit_code, r.out, {}};
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    // "[pid:tid:time:INFO:CONSOLE:12] "message", source: file:///... (12)"
    if (line.find(":CONSOLE") != std::string::npos) b.console.push_back(line);
  }
  return b;
}

// The PNG's width and height from its IHDR chunk; {0, 0} when it is not a PNG.
std::pair<uint32_t, uint32_t> PngSize(const std::string& bytes) {
  if (bytes.size() < 24 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

TEST(EvaluationHtmlInBrowser, LoadsWithoutConsoleMessagesAndRenders) {
  const std::filesystem::path out_dir = PLASTER_TEST_OUTPUT_DIR;
  const auto html = out_dir / "evaluation_report.html";
  const auto png = out_dir / "evaluation_report.png";
  std::filesystem::remove(png);
  WriteFile(html, report::EvaluationHtml(Fixture()));
  const Browser b = Screenshot(html, png);
  ASSERT_EQ(b.exit_code, 0) << b.log;
  // The page has no script, so any console message is an error: a blocked fetch, bad markup.
  EXPECT_TRUE(b.console.empty()) << ::testing::PrintToString(b.console);
  const std::string bytes = Slurp(png);
  EXPECT_EQ(PngSize(bytes), (std::pair<uint32_t, uint32_t>{1400, 3000})) << png;
  // A blank page compresses to a few kilobytes; charts and text need far more.
  EXPECT_GT(bytes.size(), 100'000u) << png;
}

// The check above can fail: markup smuggled past the escaping is refused by the page's
// Content-Security-Policy, and the refusal shows on the console.
TEST(EvaluationHtmlInBrowser, InjectedScriptIsRefusedAndSeen) {
  TempDir dir;
  std::string page = report::EvaluationHtml(Fixture());
  const size_t body = page.find("<body>");
  ASSERT_NE(body, std::string::npos);
  page.insert(body + 6,
              "<script>console.error('plaster-injected')</script>"
              "<img src=\"https://example.invalid/tracker.png\">");
  WriteFile(dir / "injected.html", page);
  const Browser b = Screenshot(dir / "injected.html", dir / "injected.png");
  ASSERT_EQ(b.exit_code, 0) << b.log;
  const std::string console = ::testing::PrintToString(b.console);
  // Chromium's wording varies by version ("Refused to execute inline script because it violates
  // ...", "Executing inline script violates ..."); these parts stay.
  EXPECT_THAT(console, ::testing::ContainsRegex("inline script.*Content Security Policy"));
  EXPECT_THAT(console, ::testing::ContainsRegex("tracker\\.png.*Content Security Policy"));
  EXPECT_THAT(console, ::testing::Not(HasSubstr("\"plaster-injected\"")));  // it never ran
}

}  // namespace
}  // namespace plaster
