#include "core/system_info.h"

#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace plaster {
namespace {

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// The value of "key<sep>value" lines in a file (first match), or nullopt.
std::optional<std::string> FieldOf(const std::string& path, const std::string& key, char sep) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t at = line.find(sep);
    if (at == std::string::npos) continue;
    if (Trim(line.substr(0, at)) == key) return Trim(line.substr(at + 1));
  }
  return std::nullopt;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

}  // namespace

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

std::vector<std::string> InterestingCpuFlags(const std::string& flags_line) {
  static const char* const kExact[] = {"sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni",
                                       "avx_vnni_int8", "avx_ne_convert", "sha_ni"};
  std::vector<std::string> out;
  std::istringstream words(flags_line);
  std::string w;
  while (words >> w) {
    const bool wanted = w.rfind("avx512", 0) == 0 || w.rfind("amx", 0) == 0 ||
                        std::find(std::begin(kExact), std::end(kExact), w) != std::end(kExact);
    if (wanted) out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

SystemInfo ReadSystemInfo(const std::string& root) {
  SystemInfo info;
  const std::string cpuinfo = root + "/proc/cpuinfo";
  info.cpu_model = FieldOf(cpuinfo, "model name", ':').value_or("unknown");
  const std::string flags = FieldOf(cpuinfo, "flags", ':').value_or("");
  info.cpu_flags = InterestingCpuFlags(flags);
  std::istringstream words(flags);
  for (std::string w; words >> w;) info.all_cpu_flags.push_back(w);
  std::sort(info.all_cpu_flags.begin(), info.all_cpu_flags.end());
  info.logical_cores = UsableCores();
  if (auto mem = FieldOf(root + "/proc/meminfo", "MemTotal", ':')) {
    try {
      info.memory_bytes = std::stoll(*mem) * 1024;  // "25165824 kB"
    } catch (const std::exception&) {
    }
  }
  const std::string cpufreq = root + "/sys/devices/system/cpu/cpu0/cpufreq";
  std::ifstream governor(cpufreq + "/scaling_governor");
  std::string g;
  if (governor && std::getline(governor, g) && !Trim(g).empty()) {
    info.governor = Trim(g);
  } else {
    std::ifstream dir_probe(cpufreq + "/cpuinfo_max_freq");
    info.governor_reason = dir_probe ? "cpufreq has no scaling_governor"
                                     : "no cpufreq in /sys (a virtual machine, or frequency "
                                       "scaling is not exposed)";
  }
  info.os_name = Unquote(FieldOf(root + "/etc/os-release", "PRETTY_NAME", '=').value_or("unknown"));
  utsname u{};
  if (root.empty() && uname(&u) == 0) {
    info.kernel = std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
  } else {
    std::ifstream version(root + "/proc/version");  // "Linux version 6.1.0-18-amd64 (...) ..."
    std::string line;
    info.kernel = version && std::getline(version, line) ? Trim(line) : "unknown";
  }
  return info;
}

}  // namespace plaster
