// External meters: a command that prints watts (an IPMI/BMC reading, a smart plug's CLI), run at
// an interval; or a log of timestamped watts written by another program (a wall meter's logger),
// aligned with plaster's clock afterwards.
//
// Note [External meters]
// --power-cmd "CMD" is run with /bin/sh -c every --power-interval (1 s by default: a BMC
// answers in tenths of a second); the first number it prints is the reading in watts, stamped
// when the command ends. It is run once at discovery, and a command that fails or prints no
// number there is an error: the user asked for it. A later failure is a gap in the trace.
// --power-file FILE holds lines "<unix time in seconds> <watts>" (whitespace or a comma between;
// '#' starts a comment). It is read when a window is computed, so a logger may still be writing
// it; its times are mapped onto plaster's steady clock through the wall clock's offset at that
// moment. Either way the meter's own accuracy is its datasheet's, which plaster cannot know:
// ±5% is taken and said.

#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/clock.h"
#include "core/error.h"
#include "power/source.h"

namespace plaster::power {
namespace {

constexpr const char* kMeterBasis =
    "an external meter's accuracy is its datasheet's, unknown to plaster (±5% taken)";

// The first number in text, or nullopt.
std::optional<double> FirstNumber(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        ((c == '-' || c == '.') && i + 1 < text.size() &&
         std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
      char* end = nullptr;
      const double v = std::strtod(text.c_str() + i, &end);
      if (end != text.c_str() + i) return v;
    }
  }
  return std::nullopt;
}

// Runs the command; its watts, or throws plaster::Error saying what it printed.
double RunMeter(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) Fail("--power-cmd: cannot start /bin/sh");
  std::string out;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr && out.size() < 4096) out += buffer;
  const int status = ::pclose(pipe);
  const std::string shown = OneLine(out.substr(0, 80));
  if (status != 0) {
    Fail("--power-cmd '{}': exited with status {}{}", command,
         WIFEXITED(status) ? WEXITSTATUS(status) : status,
         shown.empty() ? "" : fmt::format(" (printed '{}')", shown));
  }
  const auto watts = FirstNumber(out);
  if (!watts || !std::isfinite(*watts) || *watts < 0) {
    Fail("--power-cmd '{}': printed '{}', not a number of watts", command, shown);
  }
  return *watts;
}

class CommandSource final : public PowerSource {
 public:
  CommandSource(std::string command, double interval_s)
      : command_(std::move(command)), interval_s_(interval_s) {
    Domain d;
    d.name = "meter";
    d.quantity = Quantity::kPower;
    d.update_period_s = interval_s_;
    domains_.push_back(std::move(d));
  }
  std::string name() const override { return "command"; }
  std::string description() const override {
    return fmt::format("--power-cmd '{}' every {}", command_, FormatDurationNs(interval_s_ * 1e9));
  }
  const std::vector<Domain>& domains() const override { return domains_; }
  double relative_accuracy() const override { return 0.05; }
  std::string accuracy_basis() const override { return kMeterBasis; }
  double min_interval_s() const override { return interval_s_; }
  Reading Read() override {
    const double watts = RunMeter(command_);
    return Reading{NowNs(), {watts}};
  }

 private:
  std::string command_;
  double interval_s_;
  std::vector<Domain> domains_;
};

class FileSource final : public PowerSource {
 public:
  explicit FileSource(std::string path) : path_(std::move(path)) {
    Domain d;
    d.name = "meter";
    d.quantity = Quantity::kPower;
    d.update_period_s = 1.0;  // replaced by the log's own spacing when it is read
    domains_.push_back(std::move(d));
  }
  std::string name() const override { return "file"; }
  std::string description() const override {
    return fmt::format("--power-file {} (timestamped watts, aligned by the wall clock)", path_);
  }
  const std::vector<Domain>& domains() const override { return domains_; }
  double relative_accuracy() const override { return 0.05; }
  std::string accuracy_basis() const override { return kMeterBasis; }
  bool logs() const override { return true; }
  Reading Read() override { Fail("--power-file {}: a log is read afterwards, not polled", path_); }

  Trace Logged(int64_t /*start_ns*/, int64_t /*end_ns*/) override {
    // Wall clock → steady clock, measured now (both clocks read back to back).
    const double wall_now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto steady_now = static_cast<double>(NowNs());
    std::ifstream in(path_);
    if (!in) Fail("--power-file {}: cannot be read", path_);
    std::vector<std::pair<double, double>> points;  // unix s, W
    int line_number = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_number;
      if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      std::replace(line.begin(), line.end(), ',', ' ');
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      char* end = nullptr;
      const double t = std::strtod(line.c_str(), &end);
      char* end2 = nullptr;
      const double w = std::strtod(end, &end2);
      const bool rest_blank = std::string(end2).find_first_not_of(" \t\r") == std::string::npos;
      if (end == line.c_str() || end2 == end || !rest_blank || !std::isfinite(t) ||
          !std::isfinite(w) || w < 0) {
        Fail("--power-file {}:{}: expected '<unix time in seconds> <watts>', got '{}'", path_,
             line_number, OneLine(line.substr(0, 60)));
      }
      points.emplace_back(t, w);
    }
    std::stable_sort(points.begin(), points.end());
    std::vector<Domain> domains = domains_;
    if (points.size() >= 2) {
      std::vector<double> gaps;
      for (size_t i = 1; i < points.size(); ++i) gaps.push_back(points[i].first - points[i - 1].first);
      std::nth_element(gaps.begin(), gaps.begin() + static_cast<long>(gaps.size() / 2), gaps.end());
      domains[0].update_period_s = gaps[gaps.size() / 2];
    }
    Trace trace(domains);
    for (const auto& [t, w] : points) {
      trace.Add(Reading{static_cast<int64_t>(steady_now + (t - wall_now) * 1e9), {w}});
    }
    return trace;
  }

 private:
  std::string path_;
  std::vector<Domain> domains_;
};

}  // namespace

void DiscoverExternal(const SourceOptions& options, Discovery& found) {
  if (!options.command.empty()) {
    if (!(options.command_interval_s > 0)) Fail("--power-interval: must be positive");
    RunMeter(options.command);  // fails now, naming the command, rather than in every window
    found.sources.push_back(
        std::make_unique<CommandSource>(options.command, options.command_interval_s));
  }
  if (!options.file.empty()) {
    if (!std::ifstream(options.file)) Fail("--power-file {}: cannot be read", options.file);
    found.sources.push_back(std::make_unique<FileSource>(options.file));
  }
}

}  // namespace plaster::power
