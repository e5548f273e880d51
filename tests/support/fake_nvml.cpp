// A fake libnvidia-ml.so for the NVML source's tests: the entry points plaster binds, with
// NVML's C ABI, replaying a recorded trace (PLASTER_FAKE_NVML_TRACE: lines "<seconds since
// nvmlInit> <GPU 0 watts> <GPU 1 watts>", each holding until the next). GPU 0 ("Fake H100") has
// the total-energy counter, which integrates the trace; GPU 1 ("Fake T4") only the power reading.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

namespace {

struct Row {
  double t, w0, w1;
};
std::vector<Row> g_trace;
double g_init = 0;
int g_devices[2] = {0, 1};

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // steady_clock's clock on Linux
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double WattsAt(int gpu, double since) {
  double w = 0;
  for (const auto& r : g_trace) {
    if (r.t <= since) w = gpu == 0 ? r.w0 : r.w1;
  }
  return w;
}

double JoulesUntil(int gpu, double since) {
  double j = 0;
  for (size_t i = 0; i < g_trace.size() && g_trace[i].t < since; ++i) {
    const double end = i + 1 < g_trace.size() ? std::min(g_trace[i + 1].t, since) : since;
    j += (gpu == 0 ? g_trace[i].w0 : g_trace[i].w1) * (end - g_trace[i].t);
  }
  return j;
}

}  // namespace

extern "C" {

int nvmlInit_v2() {
  const char* path = std::getenv("PLASTER_FAKE_NVML_TRACE");
  if (path == nullptr) return 999;  // NVML_ERROR_UNKNOWN
  std::ifstream in(path);
  g_trace.clear();
  Row r{};
  while (in >> r.t >> r.w0 >> r.w1) g_trace.push_back(r);
  g_init = Now();
  return 0;
}
int nvmlShutdown() { return 0; }
int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 2;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index > 1) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *device = &g_devices[index];
  return 0;
}
int nvmlDeviceGetName(void* device, char* name, unsigned int length) {
  std::snprintf(name, length, "%s", *static_cast<int*>(device) == 0 ? "Fake H100" : "Fake T4");
  return 0;
}
int nvmlDeviceGetTotalEnergyConsumption(void* device, unsigned long long* mj) {
  if (*static_cast<int*>(device) != 0) return 3;  // NVML_ERROR_NOT_SUPPORTED
  *mj = static_cast<unsigned long long>(JoulesUntil(0, Now() - g_init) * 1e3);
  return 0;
}
int nvmlDeviceGetPowerUsage(void* device, unsigned int* mw) {
  *mw = static_cast<unsigned int>(WattsAt(*static_cast<int*>(device), Now() - g_init) * 1e3);
  return 0;
}
const char* nvmlErrorString(int result) { return result == 0 ? "Success" : "Fake error"; }

}  // extern "C"
