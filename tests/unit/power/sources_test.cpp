// Power sources against fake trees that imitate the real ones (powercap, hwmon, /proc), an
// external meter that is a shell command or a log, and NVML replayed by a fake libnvidia-ml.
#include "power/source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "core/clock.h"
#include "power/sampler.h"
#include "support/fixtures.h"

namespace plaster::power {
namespace {

using testing::ErrorOf;
using testing::TempDir;
using testing::WriteFile;

// A machine's /proc, as the estimate reads it.
SourceOptions Fake(const TempDir& root) {
  if (!std::filesystem::exists(root / "proc/stat")) {
    WriteFile(root / "proc/stat", "cpu0 10 0 5 1000 0 0 0 0 0 0\ncpu1 10 0 5 1000 0 0 0 0 0 0\n");
    WriteFile(root / "proc/cpuinfo", "model name\t: Intel(R) Xeon(R) Platinum 8480+\nsiblings\t: 112\n");
  }
  SourceOptions o;
  o.root = root.path().string();
  o.nvml_library = "libplaster-no-such-nvml.so";
  return o;
}

const PowerSource* Find(const Discovery& d, const std::string& name) {
  for (const auto& s : d.sources) {
    if (s->name() == name) return s.get();
  }
  return nullptr;
}

void RaplZone(const TempDir& root, const std::string& zone, const std::string& name,
              const std::string& energy_uj) {
  const auto dir = root / ("sys/class/powercap/" + zone);
  WriteFile(dir / "name", name + "\n");
  WriteFile(dir / "energy_uj", energy_uj + "\n");
  WriteFile(dir / "max_energy_range_uj", "262143328850\n");
}

TEST(Powercap, FindsPackagesAndSubZonesAndAddsOnlyWhatIsNotInside) {
  TempDir root;
  RaplZone(root, "intel-rapl:0", "package-0", "1000000");
  RaplZone(root, "intel-rapl:0:0", "core", "400000");
  RaplZone(root, "intel-rapl:0:1", "dram", "300000");
  RaplZone(root, "intel-rapl:1", "package-1", "2000000");
  WriteFile(root / "sys/class/powercap/intel-rapl/enabled", "1\n");  // the control type
  Discovery d = DiscoverSources(Fake(root));
  PowerSource* rapl = d.sources.front().get();
  ASSERT_EQ(rapl->name(), "rapl");
  ASSERT_EQ(rapl->domains().size(), 4u);
  EXPECT_EQ(rapl->domains()[0].name, "package-0");
  EXPECT_EQ(rapl->domains()[1].name, "package-0/core");
  EXPECT_FALSE(rapl->domains()[1].in_total);
  EXPECT_TRUE(rapl->domains()[2].in_total);  // dram is outside the package
  EXPECT_NEAR(rapl->domains()[0].wrap_j, 262143.32885, 1e-6);
  const Reading r = rapl->Read();
  EXPECT_DOUBLE_EQ(r.values[0], 1.0);
  EXPECT_DOUBLE_EQ(r.values[3], 2.0);
  EXPECT_FALSE(rapl->estimated());
  EXPECT_EQ(d.sources.back()->name(), "estimate");  // always last
}

TEST(Powercap, ACounterThatWrapsBetweenReadsIsUnwrapped) {
  TempDir root;
  RaplZone(root, "intel-rapl:0", "package-0", "262143000000");  // 0.32885 J before the wrap
  Discovery d = DiscoverSources(Fake(root));
  PowerSource& rapl = *d.sources.front();
  Trace trace(rapl.domains());
  trace.Add(rapl.Read());
  WriteFile(root / "sys/class/powercap/intel-rapl:0/energy_uj", "171150000\n");  // after it
  trace.Add(rapl.Read());
  const WindowEnergy w = trace.Energy(trace.readings()[0].t_ns, trace.readings()[1].t_ns);
  ASSERT_TRUE(w.total_joules);
  EXPECT_NEAR(*w.total_joules, 0.32885 + 171.15, 1e-6);
}

TEST(Powercap, AnUnreadableCounterIsListedWithTheReasonNotReadAsZero) {
  TempDir root;
  RaplZone(root, "intel-rapl:0", "package-0", "1000000");
  RaplZone(root, "intel-rapl:1", "package-1", "2000000");
  const auto locked = root / "sys/class/powercap/intel-rapl:1/energy_uj";
  ASSERT_EQ(::chmod(locked.c_str(), 0400), 0);  // as Linux 5.10 and later ship it
  ASSERT_EQ(::chmod(root.path().c_str(), 0755), 0);
  // Root reads anything: become nobody for the discovery, as a user would be.
  const SourceOptions options = Fake(root);
  const bool root_user = ::geteuid() == 0;
  if (root_user) {
    ASSERT_EQ(::seteuid(65534), 0);
  }
  Discovery d = DiscoverSources(options);
  if (root_user) {
    ASSERT_EQ(::seteuid(0), 0);
  }
  ASSERT_NE(Find(d, "rapl"), nullptr);
  EXPECT_EQ(Find(d, "rapl")->domains().size(), 1u);
  bool named = false;
  for (const auto& u : d.unavailable) {
    if (u.name == "rapl package-1") {
      named = true;
      EXPECT_NE(u.reason.find("intel-rapl:1/energy_uj: Permission denied"), std::string::npos) << u.reason;
      EXPECT_NE(u.reason.find("CVE-2020-8694"), std::string::npos) << u.reason;
    }
  }
  EXPECT_TRUE(named);
}

TEST(Hwmon, PowerSensorsAreSampledAndEnergyCountersPreferred) {
  TempDir root;
  const auto gpu = root / "sys/class/hwmon/hwmon0";
  WriteFile(gpu / "name", "amdgpu\n");
  WriteFile(gpu / "power1_average", "35000000\n");
  WriteFile(gpu / "power1_input", "36000000\n");  // the same sensor: kept once
  WriteFile(gpu / "power1_label", "PPT\n");
  WriteFile(root / "sys/class/hwmon/hwmon1/name", "k10temp\n");
  WriteFile(root / "sys/class/hwmon/hwmon1/temp1_input", "45000\n");
  const auto energy = root / "sys/class/hwmon/hwmon2";
  WriteFile(energy / "name", "amd_energy\n");
  WriteFile(energy / "energy1_input", "5000000\n");
  WriteFile(energy / "energy1_label", "Ecore000\n");
  WriteFile(energy / "energy2_input", "6000000\n");
  WriteFile(energy / "energy2_label", "Ecore001\n");
  WriteFile(energy / "energy17_input", "90000000\n");
  WriteFile(energy / "energy17_label", "Esocket0\n");
  WriteFile(energy / "power1_input", "1\n");  // ignored: the device has counters
  WriteFile(energy / "update_interval", "1\n");
  Discovery d = DiscoverSources(Fake(root));
  const PowerSource* amdgpu = Find(d, "hwmon:amdgpu");
  ASSERT_NE(amdgpu, nullptr);
  ASSERT_EQ(amdgpu->domains().size(), 1u);
  EXPECT_EQ(amdgpu->domains()[0].name, "PPT");
  EXPECT_EQ(amdgpu->domains()[0].quantity, Quantity::kPower);
  EXPECT_NE(amdgpu->description().find("100 ms assumed"), std::string::npos);
  EXPECT_EQ(Find(d, "hwmon:k10temp"), nullptr);
  const PowerSource* amd = Find(d, "hwmon:amd_energy");
  ASSERT_NE(amd, nullptr);
  ASSERT_EQ(amd->domains().size(), 3u);
  for (const auto& dom : amd->domains()) {
    EXPECT_EQ(dom.quantity, Quantity::kEnergy);
    EXPECT_EQ(dom.in_total, dom.name == "Esocket0") << dom.name;
    EXPECT_DOUBLE_EQ(dom.update_period_s, 0.001);
  }
  Reading r = const_cast<PowerSource*>(amdgpu)->Read();
  EXPECT_DOUBLE_EQ(r.values[0], 35.0);
}

TEST(Estimate, IsTheTdpShareScaledByTheCpusBusyTime) {
  TempDir root;
  WriteFile(root / "proc/cpuinfo",
            "processor\t: 0\nmodel name\t: AMD EPYC 9654 96-Core Processor\nsiblings\t: 192\n");
  auto stat = [&](int busy0, int busy1) {
    WriteFile(root / "proc/stat",
              fmt::format("cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 {} 0 0 1000 0 0 0 0 0 0\n"
                          "cpu1 {} 0 0 1000 0 0 0 0 0 0\ncpu2 500 0 0 0 0 0 0 0 0 0\n",
                          busy0, busy1));
  };
  stat(100, 100);
  SourceOptions o = Fake(root);
  o.cpus = {0, 1};
  Discovery d = DiscoverSources(o);
  PowerSource* est = d.sources.back().get();
  ASSERT_EQ(est->name(), "estimate");
  EXPECT_TRUE(est->estimated());
  EXPECT_DOUBLE_EQ(est->relative_accuracy(), 0.5);
  EXPECT_NE(est->description().find("TDP 360 W over 192 threads"), std::string::npos)
      << est->description();
  const Reading a = est->Read();
  stat(100 + 150, 100 + 50);  // 2 s of one CPU's time at 100 ticks/s, cpu2 not ours
  const Reading b = est->Read();
  const double wall = static_cast<double>(b.t_ns - a.t_ns) / 1e9;
  const double w = 360.0 / 192;
  EXPECT_NEAR(b.values[0] - a.values[0], w * (0.3 * wall * 2 + 0.7 * 2.0), 1e-9);
}

TEST(Estimate, FallsBackToTheFamilyWithAWiderUncertaintyAndTakesTdp) {
  TempDir root;
  WriteFile(root / "proc/cpuinfo", "model name\t: AMD EPYC\nsiblings\t: 4\n");
  WriteFile(root / "proc/stat", "cpu0 1 0 0 1 0 0 0 0 0 0\n");
  Discovery d = DiscoverSources(Fake(root));
  EXPECT_DOUBLE_EQ(d.sources.back()->relative_accuracy(), 0.75);
  EXPECT_NE(d.sources.back()->description().find("not in plaster's table"), std::string::npos);
  SourceOptions o = Fake(root);
  o.tdp_w = 200;
  Discovery with_tdp = DiscoverSources(o);
  EXPECT_NE(with_tdp.sources.back()->description().find("50 W per CPU"), std::string::npos)
      << with_tdp.sources.back()->description();
  o.tdp_w = -3;
  EXPECT_EQ(ErrorOf([&] { DiscoverSources(o); }), "--tdp: must be a positive number of watts");
}

TEST(External, ACommandPrintingWattsIsASourceAndOneThatDoesNotIsAnError) {
  TempDir root;
  SourceOptions o = Fake(root);
  o.command = "echo 'Instantaneous power reading: 142.5 Watts'";
  o.command_interval_s = 0.05;
  Discovery d = DiscoverSources(o);
  PowerSource* meter = const_cast<PowerSource*>(Find(d, "command"));
  ASSERT_NE(meter, nullptr);
  EXPECT_DOUBLE_EQ(meter->Read().values[0], 142.5);
  EXPECT_DOUBLE_EQ(meter->min_interval_s(), 0.05);
  o.command = "echo no reading";
  EXPECT_EQ(ErrorOf([&] { DiscoverSources(o); }),
            "--power-cmd 'echo no reading': printed 'no reading', not a number of watts");
  o.command = "echo 5; exit 3";
  EXPECT_EQ(ErrorOf([&] { DiscoverSources(o); }),
            "--power-cmd 'echo 5; exit 3': exited with status 3 (printed '5')");
}

TEST(External, ALogOfTimestampedWattsIsAlignedByTheWallClock) {
  TempDir root;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string log = "# unix seconds, watts\n";
  for (int i = -40; i <= 0; ++i) log += fmt::format("{:.3f},{}\n", now + i * 0.1, i < -20 ? 100 : 300);
  WriteFile(root / "meter.log", log);
  SourceOptions o = Fake(root);
  o.file = (root / "meter.log").string();
  Discovery d = DiscoverSources(o);
  PowerSource* file = const_cast<PowerSource*>(Find(d, "file"));
  ASSERT_NE(file, nullptr);
  EXPECT_TRUE(file->logs());
  const int64_t steady_now = NowNs();
  // [now − 1.5 s, now − 0.5 s] is all 300 W; allow the clocks' read-back skew.
  const Trace trace = file->Logged(0, 0);
  const WindowEnergy w = trace.Energy(steady_now - 1'500'000'000, steady_now - 500'000'000);
  ASSERT_TRUE(w.total_joules) << w.note;
  EXPECT_NEAR(*w.total_joules, 300.0, 1.0);
  EXPECT_NEAR(trace.domains()[0].update_period_s, 0.1, 1e-3);
  WriteFile(root / "meter.log", "1700000000 12\n1700000001 twelve\n");
  EXPECT_EQ(ErrorOf([&] { file->Logged(0, 0); }),
            "--power-file " + o.file + ":2: expected '<unix time in seconds> <watts>', got '1700000001 twelve'");
  o.file = (root / "absent.log").string();
  EXPECT_EQ(ErrorOf([&] { DiscoverSources(o); }), "--power-file " + o.file + ": cannot be read");
}

#ifdef PLASTER_FAKE_NVML
// The fake libnvidia-ml replays tests/unit/power/nvml_trace.txt: GPU 0 has the energy counter,
// GPU 1 only the power reading; 100/50 W for the first 0.2 s, then 300/150 W.
TEST(Nvml, ARecordedTraceIsReplayedThroughTheRealDlopenPath) {
  TempDir root;
  ::setenv("PLASTER_FAKE_NVML_TRACE", PLASTER_NVML_TRACE, 1);
  SourceOptions o = Fake(root);
  o.nvml_library = PLASTER_FAKE_NVML;
  o.estimate = false;
  Discovery d = DiscoverSources(o);
  ASSERT_EQ(d.sources.size(), 1u);
  ASSERT_EQ(d.sources[0]->name(), "nvml");
  ASSERT_EQ(d.sources[0]->domains().size(), 2u);
  EXPECT_EQ(d.sources[0]->domains()[0].name, "GPU 0 (Fake H100)");
  EXPECT_EQ(d.sources[0]->domains()[0].quantity, Quantity::kEnergy);
  EXPECT_EQ(d.sources[0]->domains()[1].quantity, Quantity::kPower);
  const int64_t init = NowNs();
  Sampler sampler(std::move(d.sources), 0.01);
  sampler.Start();
  const int64_t a = init + 300'000'000, b = init + 600'000'000;
  WaitUntilNs(b);
  const auto w = sampler.Window(a, b, {});
  ASSERT_EQ(w.size(), 1u);
  ASSERT_TRUE(w[0].window.domains[0].joules && w[0].window.domains[1].joules);
  EXPECT_NEAR(*w[0].window.domains[0].joules / 0.3, 300.0, 3.0);
  EXPECT_NEAR(*w[0].window.domains[1].joules / 0.3, 150.0, 1.5);
  sampler.Stop();

  o.gpu = 1;
  Discovery one = DiscoverSources(o);
  ASSERT_EQ(one.sources.size(), 1u);
  EXPECT_EQ(one.sources[0]->name(), "nvml:1");
  o.gpu = 5;
  EXPECT_EQ(ErrorOf([&] { DiscoverSources(o); }),
            "--gpu 5: NVML shows 2 GPU(s)");
}
#endif

TEST(Nvml, WithoutTheDriverItIsListedAsUnavailable) {
  TempDir root;
  Discovery d = DiscoverSources(Fake(root));
  bool listed = false;
  for (const auto& u : d.unavailable) {
    listed |= u.name == "nvml" && u.reason.find("no NVIDIA driver") == 0;
  }
  EXPECT_TRUE(listed);
  SourceOptions o = Fake(root);
  o.gpu = 0;
  EXPECT_EQ(ErrorOf([&] { DiscoverSources(o); }),
            "--gpu 0: NVML (libplaster-no-such-nvml.so) cannot be loaded");
}

}  // namespace
}  // namespace plaster::power
