// The power options shared by `power`, `energy` and `evaluate`.
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"

namespace plaster::cli {

void AddPowerOptions(CLI::App* cmd, PowerArgs* a) {
  cmd->add_option("--sysfs-root", a->sysfs_root,
                  "read /sys and /proc under this folder instead (a copy of another machine's, "
                  "or a test tree)");
  cmd->add_option("--tdp", a->tdp_w,
                  "the CPU package's TDP in watts, for the estimate when no sensor exists");
  cmd->add_option("--power-cmd", a->command,
                  "a command that prints watts (an IPMI/BMC reading, a smart plug), run every "
                  "--power-interval");
  cmd->add_option("--power-interval", a->command_interval, "how often --power-cmd runs");
  cmd->add_option("--power-file", a->file,
                  "a log of '<unix time in seconds> <watts>' lines written by a meter, aligned "
                  "afterwards");
  cmd->add_option("--gpu", a->gpu, "read only this NVML GPU (default: every GPU)")
      ->check(CLI::Range(0, 1023));
  cmd->add_option("--sample-interval", a->sample_interval,
                  "how often the sampler reads each source (never faster than the source updates)");
  cmd->add_option("--idle", a->idle, "how long to measure the idle baseline before the run");
}

namespace {
double Seconds(const std::string& text, const char* what) {
  const int64_t ns = ParseDurationNs(text, what);
  if (ns <= 0) Fail("{}: must be longer than 0", what);
  return static_cast<double>(ns) / 1e9;
}
}  // namespace

power::SourceOptions MakeSourceOptions(const PowerArgs& a) {
  power::SourceOptions o;
  o.root = a.sysfs_root;
  o.tdp_w = a.tdp_w;
  o.command = a.command;
  o.command_interval_s = Seconds(a.command_interval, "--power-interval");
  o.file = a.file;
  o.gpu = a.gpu;
  return o;
}

double SampleIntervalSeconds(const PowerArgs& a) {
  const double s = Seconds(a.sample_interval, "--sample-interval");
  if (s < 0.001) Fail("--sample-interval: at least 1 ms (no sensor updates faster)");
  return s;
}

double IdleSeconds(const PowerArgs& a) {
  const double s = Seconds(a.idle, "--idle");
  if (s < 0.1) Fail("--idle: at least 100 ms, or the baseline is one sensor update");
  return s;
}

}  // namespace plaster::cli
