// Signal ops (opset 17): DFT, STFT, the Hann, Hamming and Blackman windows, MelWeightMatrix.
//
// Each follows ONNX's reference implementation (onnx/reference/ops/op_*.py), which computes in
// float64 (NumPy) and casts the result to the output type. The transforms here do the same:
// in float32, values that are zero in exact arithmetic come out as rounding noise (2e-7 where
// ONNX's test_dft_inverse expects 1e-15), outside the conformance tolerance near zero.
// Complex numbers travel as a trailing axis of 2 (real, imaginary); a trailing axis of 1 holds
// a real signal.

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "engine/torch/kernel.h"

namespace plaster::engine::torch_engine {
namespace {

bool Given(const Tensors& in, size_t i) { return i < in.size() && in[i].defined(); }

int64_t ScalarInt(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.numel() == 1, what, " holds ", t.numel(), " values, not 1");
  return t.reshape({-1})[0].item<int64_t>();
}

double ScalarDouble(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.numel() == 1, what, " holds ", t.numel(), " values, not 1");
  return t.reshape({-1})[0].item<double>();
}

// [..., 1] real or [..., 2] (real, imaginary) → the signal without that axis, in double:
// real-valued for [..., 1] (the transforms accept it directly), complex for [..., 2].
at::Tensor Signal(const at::Tensor& x, const char* op) {
  TORCH_CHECK(x.dim() >= 2 && (x.size(-1) == 1 || x.size(-1) == 2), op,
              ": the last axis of the input must be 1 (real) or 2 (complex), not shape ",
              x.sizes());
  const at::Tensor d = x.to(at::kDouble);
  if (x.size(-1) == 1) return d.squeeze(-1);
  return at::view_as_complex(d.contiguous());
}

// Complex result → [..., 2] in the input's type.
at::Tensor Interleaved(const at::Tensor& y, at::ScalarType type) {
  return at::view_as_real(y).to(type).contiguous();
}

Kernel BuildDft(const NodeView& n) {
  // Opset 20 moved axis (default -2) from an attribute (default 1) to input 2.
  const bool axis_input = n.opset() >= 20;
  const int64_t axis_attr = n.Int("axis", 1);
  const bool inverse = n.Int("inverse", 0) != 0;
  const bool onesided = n.Int("onesided", 0) != 0;
  return [=](const Tensors& in) -> Tensors {
    const at::Tensor& x = in[0];
    const at::Tensor signal = Signal(x, "DFT");
    const int64_t rank = x.dim();
    int64_t axis = axis_input ? (Given(in, 2) ? ScalarInt(in[2], "DFT: axis") : -2) : axis_attr;
    // Against the input's rank, the trailing axis included (the reference's axis % rank).
    const int64_t normal = ((axis % rank) + rank) % rank;
    TORCH_CHECK(normal <= rank - 2, "DFT: axis ", axis, " is the real/imaginary axis of rank ",
                rank);
    axis = normal;
    const int64_t length = Given(in, 1) ? ScalarInt(in[1], "DFT: dft_length") : x.size(axis);
    TORCH_CHECK(length >= 1, "DFT: dft_length ", length, " is not positive");
    // Zero-pads or truncates to dft_length; the inverse divides by it (NumPy's "backward").
    at::Tensor y = inverse ? at::fft_ifft(signal, length, axis) : at::fft_fft(signal, length, axis);
    // The reference keeps the first half for either direction and any input.
    if (onesided) y = y.narrow(axis, 0, length / 2 + 1);
    return {Interleaved(y, x.scalar_type())};
  };
}

Kernel BuildStft(const NodeView& n) {
  const bool onesided = n.Int("onesided", 1) != 0;
  return [=](const Tensors& in) -> Tensors {
    const at::Tensor& x = in[0];
    TORCH_CHECK(x.dim() == 3, "STFT: signal has rank ", x.dim(), ", not 3 ([batch, length, 1|2])");
    const int64_t step = ScalarInt(in[1], "STFT: frame_step");
    TORCH_CHECK(step >= 1, "STFT: frame_step ", step, " is not positive");
    const bool has_window = Given(in, 2);
    const int64_t length = x.size(1);
    const int64_t frame_length = Given(in, 3) ? ScalarInt(in[3], "STFT: frame_length")
                                 : has_window ? in[2].size(0)
                                              : length;
    TORCH_CHECK(frame_length >= 1 && frame_length <= length, "STFT: frame_length ", frame_length,
                " does not fit a signal of length ", length);
    const at::Tensor window =
        has_window ? in[2].to(at::kDouble).reshape({-1}) : at::ones({frame_length}, at::kDouble);
    const int64_t window_size = window.size(0);
    TORCH_CHECK(window_size >= 1, "STFT: the window is empty");
    const int64_t frames = 1 + (length - frame_length) / step;
    // Frames are window_size long; with a window longer than frame_length the last ones run
    // past the end of the signal, where the reference pads them with zeros.
    at::Tensor padded = x;
    const int64_t need = (frames - 1) * step + window_size;
    if (need > length) padded = at::constant_pad_nd(x, {0, 0, 0, need - length}, 0);
    at::Tensor framed = Signal(padded, "STFT").unfold(1, window_size, step).narrow(1, 0, frames);
    // [batch, frames, window_size] weighted, then transformed over frame_length points.
    at::Tensor y = at::fft_fft(framed * window, frame_length, -1);
    if (onesided) y = y.narrow(-1, 0, frame_length / 2 + 1);
    return {Interleaved(y, x.scalar_type())};
  };
}

enum class Window { kHann, kHamming, kBlackman };

Kernel BuildWindow(const NodeView& n, Window kind) {
  const at::ScalarType type = ScalarTypeOf(static_cast<int32_t>(n.Int("output_datatype", 1)));
  const bool periodic = n.Int("periodic", 1) != 0;
  return [=](const Tensors& in) -> Tensors {
    const int64_t size = ScalarInt(in[0], "window size");
    TORCH_CHECK(size >= 0, "window size ", size, " is negative");
    // A symmetric window of one value divides 0 by 0, as the reference does (NaN).
    const double span = static_cast<double>(periodic ? size : size - 1);
    const at::Tensor k = at::arange(size, at::kDouble);
    at::Tensor y;
    switch (kind) {
      case Window::kHann:
        y = at::sin(k * std::numbers::pi / span).pow(2);
        break;
      case Window::kHamming: {
        constexpr double alpha = 25.0 / 46.0;
        y = alpha - at::cos(k * std::numbers::pi * 2 / span) * (1 - alpha);
        break;
      }
      case Window::kBlackman:
        y = at::cos(k * (std::numbers::pi * 2) / span) * -0.5 +
            at::cos(k * (std::numbers::pi * 4) / span) * 0.08 + 0.42;
        break;
    }
    // Integer output types truncate, as NumPy's astype does.
    return {y.to(type)};
  };
}

// Python's float a // b as NumPy computes it (npy_divmod), which rounds a/b's floor toward the
// exact quotient: the filters' bins are decided by it.
double FloorDivide(double a, double b) {
  const double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0) return std::copysign(0.0, a / b);
  double floor = std::floor(div);
  if (div - floor > 0.5) floor += 1.0;
  return floor;
}

// The reference's triangular filters: num_mel_bins + 2 points evenly spaced on the mel scale
// between the edges, mapped back to DFT bins (floored), one triangle per three neighbours.
Kernel BuildMelWeightMatrix(const NodeView& n) {
  const at::ScalarType type = ScalarTypeOf(static_cast<int32_t>(n.Int("output_datatype", 1)));
  return [=](const Tensors& in) -> Tensors {
    const int64_t mel_bins = ScalarInt(in[0], "MelWeightMatrix: num_mel_bins");
    const int64_t dft_length = ScalarInt(in[1], "MelWeightMatrix: dft_length");
    const int64_t sample_rate = ScalarInt(in[2], "MelWeightMatrix: sample_rate");
    const double lower = ScalarDouble(in[3], "MelWeightMatrix: lower_edge_hertz");
    const double upper = ScalarDouble(in[4], "MelWeightMatrix: upper_edge_hertz");
    TORCH_CHECK(mel_bins >= 0 && dft_length >= 1 && sample_rate >= 1,
                "MelWeightMatrix: num_mel_bins ", mel_bins, ", dft_length ", dft_length,
                ", sample_rate ", sample_rate);
    const int64_t spectrogram_bins = dft_length / 2 + 1;
    const double low_mel = 2595 * std::log10(1 + lower / 700);
    const double high_mel = 2595 * std::log10(1 + upper / 700);
    const double step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
    std::vector<int64_t> bins;
    for (int64_t i = 0; i < mel_bins + 2; ++i) {
      const double mel = static_cast<double>(i) * step + low_mel;
      const double hertz = 700 * (std::pow(10.0, mel / 2595) - 1);
      bins.push_back(static_cast<int64_t>(FloorDivide(static_cast<double>(dft_length + 1) * hertz,
                                                      static_cast<double>(sample_rate))));
    }
    at::Tensor out = at::zeros({spectrogram_bins, mel_bins}, at::kDouble);
    auto a = out.accessor<double, 2>();
    auto at_bin = [&](int64_t j, int64_t i) -> double& {
      TORCH_CHECK(j >= 0 && j < spectrogram_bins, "MelWeightMatrix: frequency bin ", j,
                  " is outside the ", spectrogram_bins, " bins of the spectrogram");
      return a[j][i];
    };
    for (int64_t i = 0; i < mel_bins; ++i) {
      const auto u = static_cast<size_t>(i);
      const int64_t left = bins[u], center = bins[u + 1], right = bins[u + 2];
      if (center == left) {
        at_bin(center, i) = 1;
      } else {
        for (int64_t j = left; j <= center; ++j) {
          at_bin(j, i) = static_cast<double>(j - left) / static_cast<double>(center - left);
        }
      }
      for (int64_t j = center; j < right; ++j) {
        at_bin(j, i) = static_cast<double>(right - j) / static_cast<double>(right - center);
      }
    }
    return {out.to(type)};
  };
}

Kernel BuildHannWindow(const NodeView& n) { return BuildWindow(n, Window::kHann); }
Kernel BuildHammingWindow(const NodeView& n) { return BuildWindow(n, Window::kHamming); }
Kernel BuildBlackmanWindow(const NodeView& n) { return BuildWindow(n, Window::kBlackman); }

void Add(std::vector<OpEntry>* t, const char* op, Builder b, int since, int until = 1000) {
  t->push_back({op, std::move(b), since, until});
}

}  // namespace

void AddSignalOps(std::vector<OpEntry>* t) {
  Add(t, "DFT", BuildDft, 17);
  Add(t, "STFT", BuildStft, 17);
  Add(t, "HannWindow", BuildHannWindow, 17);
  Add(t, "HammingWindow", BuildHammingWindow, 17);
  Add(t, "BlackmanWindow", BuildBlackmanWindow, 17);
  Add(t, "MelWeightMatrix", BuildMelWeightMatrix, 17);
}

}  // namespace plaster::engine::torch_engine
