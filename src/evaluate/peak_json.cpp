// MachinePeak as JSON, and the per-machine cache of it (peak.h).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/error.h"
#include "evaluate/peak.h"

namespace plaster::evaluate {
namespace {

using Json = nlohmann::ordered_json;
using engine::Precision;

constexpr const char* kPeakSchema = "plaster.peak";
constexpr const char* kCacheSchema = "plaster.peak_cache";
constexpr int kSchemaVersion = 1;
// Entries kept in one cache file: a home folder shared by many machines keeps the latest ones.
constexpr size_t kMaxCacheEntries = 32;

Json FigureJson(const PeakFigure& f) {
  Json j;
  j["value"] = f.value ? Json(*f.value) : Json(nullptr);
  j["unit"] = f.unit;
  j["source"] = f.value ? "measured" : "unavailable";
  j["how"] = f.value ? Json(f.how) : Json(nullptr);
  j["reason"] = f.value ? Json(nullptr) : Json(f.reason);
  return j;
}

PeakFigure FigureFromJson(const Json& j) {
  PeakFigure f;
  f.unit = j.at("unit").get<std::string>();
  if (j.at("value").is_null()) {
    f.reason = j.at("reason").get<std::string>();
  } else {
    f.value = j.at("value").get<double>();
    f.how = j.at("how").get<std::string>();
  }
  return f;
}

Precision PrecisionFromName(const std::string& name) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kFp16, Precision::kInt8}) {
    if (name == engine::PrecisionName(p)) return p;
  }
  Fail("unknown precision '{}'", name);
}

Json KeyJson(const MachineKey& key) {
  Json j;
  j["cpu_model"] = key.cpu_model;
  j["cpu_flags"] = key.cpu_flags;
  j["logical_cores"] = key.logical_cores;
  j["plaster_version"] = key.plaster_version;
  return j;
}

MachineKey KeyFromJson(const Json& j) {
  MachineKey key;
  key.cpu_model = j.at("cpu_model").get<std::string>();
  key.cpu_flags = j.at("cpu_flags").get<std::vector<std::string>>();
  key.logical_cores = j.at("logical_cores").get<int>();
  key.plaster_version = j.at("plaster_version").get<std::string>();
  return key;
}

bool SameEntry(const MachinePeak& a, const MachineKey& key, int threads, bool quick) {
  return a.key == key && a.threads == threads && a.quick == quick;
}

// The cache file's entries. A missing file is empty; a corrupt one is empty and sets *warning.
std::vector<MachinePeak> ReadCache(const std::filesystem::path& file, std::string* warning) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return {};
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  try {
    if (!in) Fail("cannot read it");
    const Json j = Json::parse(text.str());
    if (j.at("schema") != kCacheSchema || j.at("schema_version") != kSchemaVersion) {
      Fail("not a {} file of version {}", kCacheSchema, kSchemaVersion);
    }
    std::vector<MachinePeak> entries;
    for (const Json& entry : j.at("entries")) entries.push_back(PeakFromJson(entry));
    return entries;
  } catch (const std::exception& e) {
    if (warning) {
      *warning = fmt::format("ignoring the peak cache {}: {}", file.string(), OneLine(e.what()));
    }
    return {};
  }
}

}  // namespace

Json PeakJson(const MachinePeak& peak) {
  Json j;
  j["schema"] = kPeakSchema;
  j["schema_version"] = kSchemaVersion;
  j["machine"] = KeyJson(peak.key);
  j["measured_utc"] = peak.measured_utc;
  j["threads"] = peak.threads;
  j["quick"] = peak.quick;
  Json precisions = Json::object();
  for (const PrecisionPeak& p : peak.precisions) {
    Json pj;
    pj["peak"] = FigureJson(p.peak);
    pj["gemm"] = FigureJson(p.gemm);
    Json kernels = Json::array();
    for (const KernelPeak& k : p.kernels) {
      Json kj;
      kj["kernel"] = k.kernel;
      kj["description"] = k.description;
      kj["rate"] = FigureJson(k.rate);
      kernels.push_back(std::move(kj));
    }
    pj["kernels"] = std::move(kernels);
    precisions[engine::PrecisionName(p.precision)] = std::move(pj);
  }
  j["precisions"] = std::move(precisions);
  Json memory;
  memory["read"] = FigureJson(peak.memory_read);
  memory["triad"] = FigureJson(peak.memory_triad);
  memory["footprint_bytes"] = peak.memory_footprint_bytes;
  memory["element"] = "float64";
  j["memory"] = std::move(memory);
  const auto bytes = peak.PeakBytesPerSecond();
  Json balance = Json::object();
  for (const PrecisionPeak& p : peak.precisions) {
    balance[engine::PrecisionName(p.precision)] =
        p.peak.value && bytes ? Json(*p.peak.value / *bytes) : Json(nullptr);
  }
  j["balance_flop_per_byte"] = std::move(balance);
  j["notes"] = peak.notes;
  return j;
}

MachinePeak PeakFromJson(const Json& j) {
  try {
    if (j.at("schema") != kPeakSchema) Fail("'schema' is not \"{}\"", kPeakSchema);
    if (j.at("schema_version") != kSchemaVersion) {
      Fail("'schema_version' is {}, expected {}", j.at("schema_version").dump(), kSchemaVersion);
    }
    MachinePeak peak;
    peak.key = KeyFromJson(j.at("machine"));
    peak.measured_utc = j.at("measured_utc").get<std::string>();
    peak.threads = j.at("threads").get<int>();
    peak.quick = j.at("quick").get<bool>();
    for (const auto& [name, pj] : j.at("precisions").items()) {
      PrecisionPeak p;
      p.precision = PrecisionFromName(name);
      p.peak = FigureFromJson(pj.at("peak"));
      p.gemm = FigureFromJson(pj.at("gemm"));
      for (const Json& kj : pj.at("kernels")) {
        p.kernels.push_back({kj.at("kernel").get<std::string>(),
                             kj.at("description").get<std::string>(),
                             FigureFromJson(kj.at("rate"))});
      }
      peak.precisions.push_back(std::move(p));
    }
    const Json& memory = j.at("memory");
    peak.memory_read = FigureFromJson(memory.at("read"));
    peak.memory_triad = FigureFromJson(memory.at("triad"));
    peak.memory_footprint_bytes = memory.at("footprint_bytes").get<uint64_t>();
    peak.notes = j.at("notes").get<std::vector<std::string>>();
    return peak;
  } catch (const Error& e) {
    throw e.WithContext("peak record");
  } catch (const nlohmann::json::exception& e) {
    Fail("peak record: {}", OneLine(e.what()));
  }
}

std::filesystem::path DefaultPeakCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and is to be ignored.
  if (xdg != nullptr && xdg[0] == '/') return std::filesystem::path(xdg) / "plaster";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    return std::filesystem::path(home) / ".cache" / "plaster";
  }
  return {};
}

std::filesystem::path PeakCacheFile(const std::filesystem::path& dir) { return dir / "peak.json"; }

std::optional<MachinePeak> LoadCachedPeak(const std::filesystem::path& dir, const MachineKey& key,
                                          int threads, bool quick, std::string* warning) {
  for (MachinePeak& entry : ReadCache(PeakCacheFile(dir), warning)) {
    if (SameEntry(entry, key, threads, quick)) return std::move(entry);
  }
  return std::nullopt;
}

void SaveCachedPeak(const std::filesystem::path& dir, const MachinePeak& peak) {
  const std::filesystem::path file = PeakCacheFile(dir);
  std::vector<MachinePeak> entries = ReadCache(file, nullptr);
  std::erase_if(entries, [&](const MachinePeak& e) {
    return SameEntry(e, peak.key, peak.threads, peak.quick);
  });
  entries.push_back(peak);
  if (entries.size() > kMaxCacheEntries) {
    entries.erase(entries.begin(), entries.end() - kMaxCacheEntries);
  }
  Json j;
  j["schema"] = kCacheSchema;
  j["schema_version"] = kSchemaVersion;
  j["entries"] = Json::array();
  for (const MachinePeak& e : entries) j["entries"].push_back(PeakJson(e));

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) Fail("peak cache: cannot create {}: {}", dir.string(), ec.message());
  // Written beside the file and renamed over it, so a reader never sees half a file.
  const std::filesystem::path temp = fmt::format("{}.{}.tmp", file.string(), ::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) Fail("peak cache: cannot write {}", temp.string());
  }
  std::filesystem::rename(temp, file, ec);
  if (ec) Fail("peak cache: cannot replace {}: {}", file.string(), ec.message());
}

}  // namespace plaster::evaluate
