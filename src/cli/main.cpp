// plaster: how a trained model really performs, on all seven PLASTER letters.
// main() only wires the subcommands together and turns errors into exit codes:
//   0 success; 2 bad input (one line on stderr, naming what and where); 1 anything unexpected.

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "model/builtin_model.h"
#include "model/model.h"
#include "plaster/version.h"

namespace plaster::cli {

std::string VersionText() {
  std::string text = fmt::format("plaster {} (git {})\n", kVersion, kGitRevision);
  std::vector<std::string> libs = model::LinkedLibraryVersions();
  libs.push_back(
      fmt::format("fmt {}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100));
  libs.push_back(fmt::format("nlohmann_json {}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR,
                             NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH));
  libs.push_back(fmt::format("CLI11 {}", CLI11_VERSION));
  libs.push_back(fmt::format("compiler {}", __VERSION__));
  for (const auto& lib : libs) text += "  " + lib + "\n";
  text.pop_back();
  return text;
}

}  // namespace plaster::cli

int main(int argc, char** argv) {
  using namespace plaster;
  CLI::App app{
      "plaster: how a trained deep-learning model really performs, along the seven PLASTER "
      "letters.\nWith no arguments it evaluates the built-in model (" +
      std::string(model::kBuiltinModelName) + ")."};
  app.set_version_flag("--version", cli::VersionText(),
                       "print the versions of plaster and its libraries");
  app.require_subcommand(0, 1);
  app.option_defaults()->always_capture_default();

  cli::SizeOptions size_options;
  CLI::App* size = cli::AddSizeCommand(app, &size_options);
  cli::RunOptions run_options;
  CLI::App* run = cli::AddRunCommand(app, &run_options);
  cli::CheckOptions check_options;
  CLI::App* check = cli::AddCheckCommand(app, &check_options);
  cli::ConformanceOptions conformance_options;
  CLI::App* conformance = cli::AddConformanceCommand(app, &conformance_options);
  cli::AccuracyOptions accuracy_options;
  CLI::App* accuracy_cmd = cli::AddAccuracyCommand(app, &accuracy_options);
  cli::ProfileOptions profile_options;
  CLI::App* profile = cli::AddProfileCommand(app, &profile_options);

  cli::LoadOptions latency_options;
  CLI::App* latency = cli::AddLatencyCommand(app, &latency_options);
  cli::LoadOptions throughput_options;
  CLI::App* throughput = cli::AddThroughputCommand(app, &throughput_options);
  cli::CompareCommandOptions compare_options;
  CLI::App* compare = cli::AddCompareCommand(app, &compare_options);

  cli::EvaluateOptions evaluate_options;
  CLI::App* evaluate = cli::AddEvaluateCommand(app, &evaluate_options);
  std::string case_spec;
  CLI::App* evaluate_case = cli::AddEvaluateCaseCommand(app, &case_spec);

  cli::OptimizeCommandOptions optimize_options;
  CLI::App* optimize = cli::AddOptimizeCommand(app, &optimize_options);

  cli::PeakOptions peak_options;
  CLI::App* peak = cli::AddPeakCommand(app, &peak_options);

  cli::LearnCommandOptions learn_options;
  CLI::App* learn = cli::AddLearnCommand(app, &learn_options);

  cli::PowerOptions power_options;
  CLI::App* power_cmd = cli::AddPowerCommand(app, &power_options);
  cli::EnergyOptions energy_options;
  CLI::App* energy_cmd = cli::AddEnergyCommand(app, &energy_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "plaster: error: " << OneLine(e.what()) << " (see 'plaster --help')\n";
    return 2;
  }

  try {
    if (size->parsed()) return cli::RunSize(size_options);
    if (run->parsed()) return cli::RunRun(run_options);
    if (check->parsed()) return cli::RunCheck(check_options);
    if (conformance->parsed()) return cli::RunConformance(conformance_options);
    if (profile->parsed()) return cli::RunProfile(profile_options);
    if (accuracy_cmd->parsed()) return cli::RunAccuracy(accuracy_options);
    if (latency->parsed()) return cli::RunLoad(latency_options, cli::LoadCommand::kLatency);
    if (throughput->parsed()) {
      return cli::RunLoad(throughput_options, cli::LoadCommand::kThroughput);
    }
    if (peak->parsed()) return cli::RunPeak(peak_options);
    if (power_cmd->parsed()) return cli::RunPower(power_options);
    if (energy_cmd->parsed()) return cli::RunEnergy(energy_options);
    if (compare->parsed()) return cli::RunCompare(compare_options);  // 1: a regression
    const std::vector<std::string> command_line(argv, argv + argc);
    if (learn->parsed()) return cli::RunLearn(learn_options, command_line);
    if (evaluate->parsed()) return cli::RunEvaluate(evaluate_options, command_line);
    if (evaluate_case->parsed()) return cli::RunEvaluateCase(case_spec);
    if (optimize->parsed()) return cli::RunOptimize(optimize_options, command_line);
    // No subcommand: show a newcomer the whole scorecard of the built-in model at once.
    evaluate_options.model = model::kBuiltinModelName;
    evaluate_options.sweep.batches = {"1,8"};
    evaluate_options.budget = "20s";
    return cli::RunEvaluate(evaluate_options, command_line);
  } catch (const Error& e) {
    std::cerr << "plaster: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "plaster: unexpected error: " << OneLine(e.what()) << "\n";
    return 1;
  }
}
