// opencv_overhead: does plaster's opencv engine add anything to OpenCV's own latency? (issue 9)
//   opencv_overhead MODEL.onnx [--batch N] [--threads N] [--blocks N] [--block-runs N]
// In one process, the same model runs two ways on the same inputs:
//   direct   OpenCV's own API as its users call it: cv::dnn::readNetFromONNX, backend OPENCV,
//            target CPU, cv::setNumThreads; per query net.setInput(blob) + net.forward()
//            (the same calls ../shared/peers/opencv_bench.py times from Python);
//   plaster  FindEngine("opencv").Compile(model)->Run(inputs): plaster's Session, inputs staged
//            as HostTensors, outputs returned as HostTensors (what every plaster figure times).
// They alternate in blocks (direct, plaster, direct, ...) so a shared machine's noise hits both;
// each block gives a median, and the ratio of medians per block pair gives a 95% interval (t
// over the pairs). One JSON line: both medians (of all queries), the ratio and its interval.
// This bench links OpenCV DNN directly on purpose: it is the reference plaster is measured
// against; src/engine/opencv stays the only place in plaster itself that does.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <string>

#include "core/error.h"
#include "engine/registry.h"

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace plaster;
  if (argc < 2) {
    std::cerr << "usage: opencv_overhead MODEL.onnx [--batch N] [--threads N] [--blocks N] "
                 "[--block-runs N]\n";
    return 2;
  }
  const std::string path = argv[1];
  int64_t batch = 1;
  int threads = 2, blocks = 10, block_runs = 10;
  for (int k = 2; k + 1 < argc; k += 2) {
    const std::string flag = argv[k];
    const long value = std::strtol(argv[k + 1], nullptr, 10);
    if (flag == "--batch") batch = value;
    else if (flag == "--threads") threads = static_cast<int>(value);
    else if (flag == "--blocks") blocks = static_cast<int>(value);
    else if (flag == "--block-runs") block_runs = static_cast<int>(value);
    else {
      std::cerr << "opencv_overhead: unknown option " << flag << "\n";
      return 2;
    }
  }
  try {
    model::LoadOptions load;
    load.batch = batch;
    const model::Model m = model::Model::FromFile(path, load);
    engine::SessionOptions options;
    options.threads = threads;
    auto session = engine::FindEngine("opencv").Compile(m, options);
    std::vector<engine::HostTensor> inputs;
    for (const auto& spec : session->inputs()) inputs.push_back(engine::GenerateInput(spec, 1));

    // OpenCV's own, on the same file and the same input values.
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    cv::setNumThreads(threads);
    PLASTER_CHECK(inputs.size() == 1, "this bench takes models with one input");
    std::vector<int> dims(inputs[0].shape().begin(), inputs[0].shape().end());
    const cv::Mat blob = cv::Mat(static_cast<int>(dims.size()), dims.data(), CV_32F,
                                 const_cast<char*>(inputs[0].data()))
                             .clone();
    auto direct = [&] {
      net.setInput(blob);
      return net.forward();
    };
    // The two compute the same thing.
    const cv::Mat want = direct();
    const auto got = session->Run(inputs);
    double worst = 0;
    for (int64_t k = 0; k < got[0].NumElements(); ++k) {
      worst = std::max(worst, std::fabs(static_cast<double>(got[0].data_as<float>()[k]) -
                                        want.ptr<float>()[k]));
    }
    PLASTER_CHECK(worst == 0, "plaster's output differs from OpenCV's own by {}", worst);
    for (int k = 0; k < 3; ++k) {  // warm-up, both
      direct();
      session->Run(inputs);
    }
    std::vector<double> all_direct, all_plaster, ratios;
    for (int b = 0; b < blocks; ++b) {
      std::vector<double> d, p;
      for (int r = 0; r < block_runs; ++r) {
        const double t0 = NowMs();
        direct();
        d.push_back(NowMs() - t0);
      }
      for (int r = 0; r < block_runs; ++r) {
        const double t0 = NowMs();
        session->Run(inputs);
        p.push_back(NowMs() - t0);
      }
      ratios.push_back(Median(p) / Median(d));
      all_direct.insert(all_direct.end(), d.begin(), d.end());
      all_plaster.insert(all_plaster.end(), p.begin(), p.end());
    }
    double mean = 0, var = 0;
    for (double r : ratios) mean += r / static_cast<double>(ratios.size());
    for (double r : ratios) var += (r - mean) * (r - mean) / static_cast<double>(ratios.size() - 1);
    // t(0.975) for 9 degrees of freedom is 2.262; for more blocks it only gets smaller.
    const double half = (ratios.size() >= 10 ? 2.262 : 2.776) * std::sqrt(var / ratios.size());
    nlohmann::ordered_json j = {{"model", path},
                                {"batch", batch},
                                {"threads", threads},
                                {"queries_each", all_direct.size()},
                                {"direct_median_ms", Median(all_direct)},
                                {"plaster_median_ms", Median(all_plaster)},
                                {"ratio_of_medians", Median(all_plaster) / Median(all_direct)},
                                {"block_ratio_mean", mean},
                                {"block_ratio_95", {mean - half, mean + half}}};
    std::cout << j.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "opencv_overhead: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
