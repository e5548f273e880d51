// The machine description, read from a fake /proc, /sys and /etc tree.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/system_info.h"
#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;
using testing::WriteFile;

TEST(SystemInfo, ReadsAFakeTree) {
  TempDir root;
  WriteFile(root / "proc/cpuinfo",
            "processor\t: 0\nmodel name\t: Fake CPU @ 2.0GHz\nflags\t\t: fpu sse4_2 avx2 fma "
            "avx512f avx512_bf16 amx_tile pni\n\nprocessor\t: 1\nmodel name\t: Fake CPU @ "
            "2.0GHz\n");
  WriteFile(root / "proc/meminfo", "MemTotal:       1024 kB\nMemFree:  1 kB\n");
  WriteFile(root / "proc/version", "Linux version 6.1.0-fake (gcc) #1 SMP\n");
  WriteFile(root / "etc/os-release", "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n");
  WriteFile(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n");
  const SystemInfo s = ReadSystemInfo(root.path().string());
  EXPECT_EQ(s.cpu_model, "Fake CPU @ 2.0GHz");
  EXPECT_THAT(s.cpu_flags, ElementsAre("amx_tile", "avx2", "avx512_bf16", "avx512f", "fma",
                                       "sse4_2"));
  EXPECT_EQ(s.memory_bytes, 1024 * 1024);
  EXPECT_EQ(s.governor, "performance");
  EXPECT_EQ(s.os_name, "Debian GNU/Linux 12");
  EXPECT_EQ(s.kernel, "Linux version 6.1.0-fake (gcc) #1 SMP");
  EXPECT_GE(s.logical_cores, 1);
}

TEST(SystemInfo, MissingFilesAreUnknownWithAReason) {
  TempDir root;
  const SystemInfo s = ReadSystemInfo(root.path().string());
  EXPECT_EQ(s.cpu_model, "unknown");
  EXPECT_TRUE(s.cpu_flags.empty());
  EXPECT_FALSE(s.memory_bytes.has_value());
  EXPECT_FALSE(s.governor.has_value());
  EXPECT_THAT(s.governor_reason, ::testing::HasSubstr("no cpufreq"));
}

}  // namespace
}  // namespace plaster
