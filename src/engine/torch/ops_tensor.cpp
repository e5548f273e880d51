// Shape, indexing, copy and constant ops: the int64 shape arithmetic of exported models runs
// here (and is mostly folded at compile time, see Note [Compiling for bound shapes]).

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <limits>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"
#include "model/dtype.h"
#include "model/tensor_data.h"

namespace plaster::engine::torch_engine {
namespace {

// RunAxis (ops_util.h) failing through TORCH_CHECK, as the rest of this file does: a c10::Error
// instead of std::out_of_range, with the same message.
int64_t RunAxisTorchCheck(int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  TORCH_CHECK(a >= 0 && a < std::max<int64_t>(rank, 1), "axis ", axis, " is out of range for rank ",
              rank);
  return a;
}

// Axes from an attribute (before `input_from_opset`) or from input 1.
Ints AxesFrom(const Tensors& in, const Ints& attr, size_t input) {
  if (in.size() > input && in[input].defined()) return IntsOf(in[input]);
  return attr;
}

at::Tensor ConstantFromProto(const onnx::TensorProto& t) {
  const std::string bytes = model::ReadTensorBytes(t, std::nullopt);
  return TensorFromBytes(t.data_type(), {t.dims().begin(), t.dims().end()}, bytes);
}

at::Tensor Reshape(const at::Tensor& x, Ints shape, bool allowzero) {
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 0 && !allowzero) {
      TORCH_CHECK(k < static_cast<size_t>(x.dim()), "Reshape: 0 copies dimension ", k,
                  " which the input does not have");
      shape[k] = x.size(static_cast<int64_t>(k));
    }
  }
  return x.reshape(shape);
}

// ONNX Slice on one axis, negative steps included (ATen's slice takes positive steps only).
at::Tensor SliceAxis(const at::Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  TORCH_CHECK(step != 0, "Slice: step 0");
  const int64_t dim = x.size(axis);
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    if (end <= start) return x.narrow(axis, 0, 0);
    return x.slice(axis, start, end, step);
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  if (start <= end) return x.narrow(axis, 0, 0);
  at::Tensor index = at::arange(start, end, step, at::kLong);
  return x.index_select(axis, index);
}

// Indices along one axis for "edge" and "reflect" padding (negative pads crop).
at::Tensor PadIndex(int64_t dim, int64_t before, int64_t after, const std::string& mode) {
  std::vector<int64_t> idx;
  for (int64_t k = -before; k < dim + after; ++k) {
    int64_t j = k;
    if (mode == "edge") {
      j = std::clamp<int64_t>(k, 0, dim - 1);
    } else {  // reflect, without repeating the edge
      TORCH_CHECK(dim > 1 || (before <= 0 && after <= 0), "Pad: reflect needs 2 or more values");
      const int64_t period = 2 * (dim - 1);
      j = ((k % period) + period) % period;
      if (j >= dim) j = period - j;
    }
    idx.push_back(j);
  }
  return at::tensor(idx, at::kLong);
}

Kernel PadKernel(const NodeView& n) {
  const std::string mode = n.String("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect") n.Fail("mode '{}'", mode);
  const Ints attr_pads = n.Ints("pads");
  const float attr_value = n.Float("value", 0.0f);
  const int opset = n.opset();
  if (opset >= 18 && n.HasInput(3)) n.Fail("the axes input (opset 18)");
  return [=](const Tensors& in) -> Tensors {
    const at::Tensor& x = in[0];
    const Ints pads = opset >= 11 ? IntsOf(in[1]) : attr_pads;
    const int64_t rank = x.dim();
    TORCH_CHECK(static_cast<int64_t>(pads.size()) == 2 * rank, "Pad: ", pads.size(),
                " pads for rank ", rank);
    if (mode == "constant") {
      at::Scalar value = attr_value;
      if (opset >= 11 && in.size() > 2 && in[2].defined() && in[2].numel() > 0)
        value = in[2].item();
      Ints torch_pads;  // last axis first, (before, after) pairs
      for (int64_t a = rank - 1; a >= 0; --a) {
        torch_pads.push_back(pads[static_cast<size_t>(a)]);
        torch_pads.push_back(pads[static_cast<size_t>(a + rank)]);
      }
      return {at::constant_pad_nd(x, torch_pads, value)};
    }
    at::Tensor y = x;
    for (int64_t a = 0; a < rank; ++a) {
      const int64_t b = pads[static_cast<size_t>(a)], e = pads[static_cast<size_t>(a + rank)];
      if (b != 0 || e != 0) y = y.index_select(a, PadIndex(y.size(a), b, e, mode));
    }
    return {y};
  };
}

Kernel SliceKernel(const NodeView& n) {
  const int opset = n.opset();
  const Ints attr_starts = n.Ints("starts"), attr_ends = n.Ints("ends"), attr_axes = n.Ints("axes");
  return [=](const Tensors& in) -> Tensors {
    const at::Tensor& x = in[0];
    Ints starts = attr_starts, ends = attr_ends, axes = attr_axes, steps;
    if (opset >= 10) {
      starts = IntsOf(in[1]);
      ends = IntsOf(in[2]);
      axes = in.size() > 3 && in[3].defined() ? IntsOf(in[3]) : Ints{};
      steps = in.size() > 4 && in[4].defined() ? IntsOf(in[4]) : Ints{};
    }
    TORCH_CHECK(starts.size() == ends.size(), "Slice: starts and ends differ in length");
    if (axes.empty()) {
      for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    }
    at::Tensor y = x;
    for (size_t k = 0; k < starts.size(); ++k) {
      const int64_t axis = RunAxisTorchCheck(axes[k], x.dim());
      y = SliceAxis(y, axis, starts[k], ends[k], steps.empty() ? 1 : steps[k]);
    }
    return {y};
  };
}

Kernel GatherKernel(const NodeView& n) {
  const int64_t axis_attr = n.Int("axis", 0);
  return [=](const Tensors& in) -> Tensors {
    const at::Tensor& data = in[0];
    const int64_t axis = RunAxisTorchCheck(axis_attr, data.dim());
    at::Tensor idx = in[1].to(at::kLong);
    idx = at::where(idx < 0, idx + data.size(axis), idx);
    Ints shape(data.sizes().begin(), data.sizes().begin() + axis);
    for (int64_t d : idx.sizes()) shape.push_back(d);
    for (int64_t k = axis + 1; k < data.dim(); ++k) shape.push_back(data.size(k));
    return {data.index_select(axis, idx.reshape({-1})).reshape(shape)};
  };
}

// GatherND: the first `batch` axes pair up; each index row of length k picks a slice of data.
Kernel GatherNDKernel(const NodeView& n) {
  const int64_t batch = n.Int("batch_dims", 0);
  return [=](const Tensors& in) -> Tensors {
    const at::Tensor& data = in[0];
    at::Tensor idx = in[1].to(at::kLong);
    const int64_t k = idx.size(-1);
    const Ints ds = SizesOf(data), is = SizesOf(idx);
    int64_t b = 1;
    for (int64_t a = 0; a < batch; ++a) b *= ds[static_cast<size_t>(a)];
    Ints tail(ds.begin() + batch + k, ds.end());
    int64_t tail_n = 1, m = 1;
    for (int64_t d : tail) tail_n *= d;
    for (size_t a = static_cast<size_t>(batch); a + 1 < is.size(); ++a) m *= is[a];
    // Linear index into the k indexed axes.
    at::Tensor lin = at::zeros({b, m}, at::kLong);
    at::Tensor rows = idx.reshape({b, m, k});
    for (int64_t j = 0; j < k; ++j) {
      const int64_t dim = ds[static_cast<size_t>(batch + j)];
      at::Tensor v = rows.select(2, j);
      v = at::where(v < 0, v + dim, v);
      lin = lin * dim + v;
    }
    int64_t span = 1;
    for (int64_t j = 0; j < k; ++j) span *= ds[static_cast<size_t>(batch + j)];
    at::Tensor flat = data.reshape({b, span, tail_n});
    at::Tensor bi = at::arange(b, at::kLong).unsqueeze(1).expand({b, m});
    at::Tensor out = flat.index({bi, lin});  // [b, m, tail_n]
    Ints shape(ds.begin(), ds.begin() + batch);
    shape.insert(shape.end(), is.begin() + batch, is.end() - 1);
    shape.insert(shape.end(), tail.begin(), tail.end());
    return {out.reshape(shape)};
  };
}

Kernel ScatterNDKernel(const NodeView& n) {
  const std::string reduction = n.String("reduction", "none");
  if (reduction != "none" && reduction != "add") n.Fail("reduction '{}'", reduction);
  return [=](const Tensors& in) -> Tensors {
    const at::Tensor& data = in[0];
    at::Tensor idx = in[1].to(at::kLong);
    const int64_t k = idx.size(-1);
    const Ints ds = SizesOf(data);
    int64_t span = 1, tail_n = 1;
    for (int64_t j = 0; j < k; ++j) span *= ds[static_cast<size_t>(j)];
    for (size_t a = static_cast<size_t>(k); a < ds.size(); ++a) tail_n *= ds[a];
    at::Tensor rows = idx.reshape({-1, k});
    at::Tensor lin = at::zeros({rows.size(0)}, at::kLong);
    for (int64_t j = 0; j < k; ++j) {
      at::Tensor v = rows.select(1, j);
      v = at::where(v < 0, v + ds[static_cast<size_t>(j)], v);
      lin = lin * ds[static_cast<size_t>(j)] + v;
    }
    at::Tensor out = data.reshape({span, tail_n}).clone();
    out.index_put_({lin}, in[2].reshape({-1, tail_n}), /*accumulate=*/reduction == "add");
    return {out.reshape(ds)};
  };
}

Kernel ScatterElementsKernel(const NodeView& n) {
  const int64_t axis_attr = n.Int("axis", 0);
  const std::string reduction = n.String("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul")
    n.Fail("reduction '{}'", reduction);
  return [=](const Tensors& in) -> Tensors {
    const int64_t axis = RunAxisTorchCheck(axis_attr, in[0].dim());
    at::Tensor idx = in[1].to(at::kLong);
    idx = at::where(idx < 0, idx + in[0].size(axis), idx);
    if (reduction == "none") return {in[0].scatter(axis, idx, in[2])};
    return {in[0].scatter(axis, idx, in[2], reduction == "add" ? "add" : "multiply")};
  };
}

Kernel ConstantKernel(const NodeView& n) {
  at::Tensor value;
  if (const auto* t = n.TensorAttr("value")) {
    value = ConstantFromProto(*t);
  } else if (n.Has("value_float")) {
    value = at::scalar_tensor(n.Float("value_float", 0), at::kFloat);
  } else if (n.Has("value_floats")) {
    const auto v = n.Floats("value_floats");
    value = at::tensor(v, at::kFloat);
  } else if (n.Has("value_int")) {
    value = at::scalar_tensor(n.Int("value_int", 0), at::kLong);
  } else if (n.Has("value_ints")) {
    value = at::tensor(n.Ints("value_ints"), at::kLong);
  } else {
    n.Fail("only 'value', 'value_float(s)' and 'value_int(s)' are supported");
  }
  return [value](const Tensors&) -> Tensors { return {value}; };
}

Kernel CastKernel(const NodeView& n, bool like) {
  at::ScalarType to{};
  if (like) {
    to = ScalarTypeOf(n.InputDtype(1));
  } else {
    to = ScalarTypeOf(static_cast<int32_t>(n.Int("to", 0)));
  }
  if (!like && n.Int("saturate", 1) != 1) n.Fail("saturate=0");
  return [to](const Tensors& in) -> Tensors { return {in[0].to(to)}; };
}

// Unique: ATen finds the distinct values (or slices along `axis`); ONNX also wants each one's
// first index and, with sorted=0, the order of first occurrence.
Kernel UniqueKernel(const NodeView& n) {
  const bool has_axis = n.Has("axis");
  const int64_t axis_attr = n.Int("axis", 0);
  const bool sorted = n.Int("sorted", 1) != 0;
  return [=](const Tensors& in) -> Tensors {
    at::Tensor x = has_axis ? in[0] : in[0].reshape({-1});
    const int64_t axis = has_axis ? RunAxisTorchCheck(axis_attr, x.dim()) : 0;
    auto [y, inverse, counts] = at::unique_dim(x, axis, /*sorted=*/true, /*return_inverse=*/true,
                                               /*return_counts=*/true);
    // A stable sort of the inverse groups the positions of each value in ascending order; the
    // first position of each group is that value's first occurrence.
    const at::Tensor grouped =
        std::get<1>(at::sort(inverse, c10::optional<bool>(true), /*dim=*/0, /*descending=*/false));
    const at::Tensor starts = at::cumsum(counts, 0) - counts;
    at::Tensor first = grouped.index_select(0, starts);
    if (!sorted) {
      const at::Tensor order = at::argsort(first);
      y = y.index_select(axis, order);
      first = first.index_select(0, order);
      counts = counts.index_select(0, order);
      inverse = at::argsort(order).index_select(0, inverse);
    }
    return {y, first, inverse, counts};
  };
}

// ReverseSequence: for each batch entry b, the first sequence_lens[b] steps along time_axis are
// reversed; the rest stay.
Kernel ReverseSequenceKernel(const NodeView& n) {
  const int64_t batch_axis = n.Int("batch_axis", 1), time_axis = n.Int("time_axis", 0);
  if ((batch_axis != 0 && batch_axis != 1) || (time_axis != 0 && time_axis != 1) ||
      batch_axis == time_axis) {
    n.Fail("batch_axis {} and time_axis {} must be 0 and 1 in some order", batch_axis, time_axis);
  }
  return [=](const Tensors& in) -> Tensors {
    at::Tensor x = batch_axis == 0 ? in[0] : in[0].transpose(0, 1);  // [batch, time, ...]
    const int64_t b = x.size(0), steps = x.size(1);
    const at::Tensor lens = in[1].to(at::kLong).reshape({b, 1});
    const at::Tensor t = at::arange(steps, at::kLong).reshape({1, steps});
    at::Tensor index = at::where(t < lens, lens - 1 - t, t);  // [batch, time]
    Ints shape = {b, steps};
    for (int64_t k = 2; k < x.dim(); ++k) {
      index = index.unsqueeze(-1);
      shape.push_back(x.size(k));
    }
    at::Tensor y = at::gather(x, 1, index.expand(shape));
    return {batch_axis == 0 ? y : y.transpose(0, 1)};
  };
}

}  // namespace

void AddTensorOps(std::vector<OpEntry>* t) {
  AddPlain(t, "Unique", UniqueKernel, 11);
  AddPlain(t, "ReverseSequence", ReverseSequenceKernel, 10);
  AddPlain(
      t, "Det",
      [](const NodeView&) -> Kernel {
        return [](const Tensors& in) -> Tensors { return {at::linalg_det(in[0])}; };
      },
      11);
  AddPlain(t, "Identity", [](const NodeView&) -> Kernel {
    return [](const Tensors& in) -> Tensors { return {in[0]}; };
  });
  AddPlain(t, "Constant", ConstantKernel);
  AddPlain(t, "ConstantOfShape", [](const NodeView& n) -> Kernel {
    at::Tensor value = at::zeros({}, at::kFloat);
    if (const auto* v = n.TensorAttr("value")) value = ConstantFromProto(*v).reshape({});
    return [value](const Tensors& in) -> Tensors {
      return {at::full(IntsOf(in[0]), value.item(), value.options())};
    };
  });
  AddPlain(t, "Shape", [](const NodeView& n) -> Kernel {
    const int64_t start_attr = n.Int("start", 0);
    const bool has_end = n.Has("end");
    const int64_t end_attr = n.Int("end", 0);
    return [=](const Tensors& in) -> Tensors {
      const int64_t rank = in[0].dim();
      int64_t start = start_attr < 0 ? start_attr + rank : start_attr;
      int64_t end = has_end ? (end_attr < 0 ? end_attr + rank : end_attr) : rank;
      start = std::clamp<int64_t>(start, 0, rank);
      end = std::clamp<int64_t>(end, start, rank);
      Ints sizes = SizesOf(in[0]);
      return {at::tensor(Ints(sizes.begin() + start, sizes.begin() + end), at::kLong)};
    };
  });
  AddPlain(t, "Size", [](const NodeView&) -> Kernel {
    return
        [](const Tensors& in) -> Tensors { return {at::scalar_tensor(in[0].numel(), at::kLong)}; };
  });
  AddPlain(t, "Reshape", [](const NodeView& n) -> Kernel {
    const Ints attr_shape = n.Ints("shape");
    const bool allowzero = n.Int("allowzero", 0) != 0;
    const int opset = n.opset();
    return [=](const Tensors& in) -> Tensors {
      return {Reshape(in[0], opset >= 5 ? IntsOf(in[1]) : attr_shape, allowzero)};
    };
  });
  AddPlain(t, "Flatten", [](const NodeView& n) -> Kernel {
    const int64_t axis_attr = n.Int("axis", 1);
    return [=](const Tensors& in) -> Tensors {
      const int64_t rank = in[0].dim();
      const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
      TORCH_CHECK(axis >= 0 && axis <= rank, "Flatten: axis ", axis_attr, " for rank ", rank);
      int64_t outer = 1;
      for (int64_t k = 0; k < axis; ++k) outer *= in[0].size(k);
      return {in[0].reshape({outer, outer == 0 ? 0 : in[0].numel() / std::max<int64_t>(outer, 1)})};
    };
  });
  AddPlain(t, "Squeeze", [](const NodeView& n) -> Kernel {
    const Ints attr = n.Ints("axes");
    return [=](const Tensors& in) -> Tensors {
      const Ints axes = AxesFrom(in, attr, 1);
      Ints shape;
      for (int64_t k = 0; k < in[0].dim(); ++k) {
        bool drop = false;
        for (int64_t a : axes) drop |= RunAxisTorchCheck(a, in[0].dim()) == k;
        if (axes.empty()) drop = in[0].size(k) == 1;
        if (drop) TORCH_CHECK(in[0].size(k) == 1, "Squeeze: axis ", k, " has size ", in[0].size(k));
        if (!drop) shape.push_back(in[0].size(k));
      }
      return {in[0].reshape(shape)};
    };
  });
  AddPlain(t, "Unsqueeze", [](const NodeView& n) -> Kernel {
    const Ints attr = n.Ints("axes");
    return [=](const Tensors& in) -> Tensors {
      Ints axes = AxesFrom(in, attr, 1);
      const int64_t rank = in[0].dim() + static_cast<int64_t>(axes.size());
      for (auto& a : axes) a = RunAxisTorchCheck(a, rank);
      std::sort(axes.begin(), axes.end());
      Ints shape = SizesOf(in[0]);
      for (int64_t a : axes) shape.insert(shape.begin() + a, 1);
      return {in[0].reshape(shape)};
    };
  });
  AddPlain(t, "Transpose", [](const NodeView& n) -> Kernel {
    const Ints perm_attr = n.Ints("perm");
    return [=](const Tensors& in) -> Tensors {
      Ints perm = perm_attr;
      if (perm.empty()) {
        for (int64_t k = in[0].dim() - 1; k >= 0; --k) perm.push_back(k);
      }
      return {in[0].permute(perm)};
    };
  });
  AddPlain(t, "Concat", [](const NodeView& n) -> Kernel {
    const int64_t axis_attr = n.Int("axis", 0);
    return [=](const Tensors& in) -> Tensors {
      std::vector<at::Tensor> parts;
      for (const auto& x : in) {
        if (x.defined()) parts.push_back(x);
      }
      return {at::cat(parts, RunAxisTorchCheck(axis_attr, parts.at(0).dim()))};
    };
  });
  AddPlain(t, "Split", [](const NodeView& n) -> Kernel {
    const int64_t axis_attr = n.Int("axis", 0);
    const Ints attr = n.Ints("split");
    const auto outputs = static_cast<int64_t>(n.OutputCount());
    if (n.Has("num_outputs")) n.Fail("num_outputs (opset 18)");
    return [=](const Tensors& in) -> Tensors {
      const int64_t axis = RunAxisTorchCheck(axis_attr, in[0].dim());
      Ints sizes = AxesFrom(in, attr, 1);
      if (sizes.empty()) {
        const int64_t dim = in[0].size(axis);
        TORCH_CHECK(dim % outputs == 0, "Split: ", dim, " does not split evenly in ", outputs);
        sizes.assign(static_cast<size_t>(outputs), dim / outputs);
      }
      auto parts = in[0].split_with_sizes(sizes, axis);
      return {parts.begin(), parts.end()};
    };
  });
  AddPlain(t, "Slice", SliceKernel);
  AddPlain(t, "Gather", GatherKernel);
  AddPlain(t, "GatherElements", [](const NodeView& n) -> Kernel {
    const int64_t axis_attr = n.Int("axis", 0);
    return [=](const Tensors& in) -> Tensors {
      const int64_t axis = RunAxisTorchCheck(axis_attr, in[0].dim());
      at::Tensor idx = in[1].to(at::kLong);
      idx = at::where(idx < 0, idx + in[0].size(axis), idx);
      return {at::gather(in[0], axis, idx)};
    };
  });
  AddPlain(t, "GatherND", GatherNDKernel);
  AddPlain(t, "ScatterND", ScatterNDKernel);
  AddPlain(t, "ScatterElements", ScatterElementsKernel);
  AddPlain(t, "Scatter", ScatterElementsKernel, 9, 10);
  AddPlain(t, "Expand", [](const NodeView&) -> Kernel {
    return [](const Tensors& in) -> Tensors {
      // Bidirectional broadcast: a 1 in the requested shape keeps the input's size.
      Ints want = IntsOf(in[1]);
      Ints have = SizesOf(in[0]);
      const size_t rank = std::max(want.size(), have.size());
      Ints out(rank);
      for (size_t k = 0; k < rank; ++k) {
        const int64_t w = k < rank - want.size() ? 1 : want[k - (rank - want.size())];
        const int64_t h = k < rank - have.size() ? 1 : have[k - (rank - have.size())];
        TORCH_CHECK(w == h || w == 1 || h == 1, "Expand: ", h, " cannot broadcast to ", w);
        out[k] = w == 1 ? h : w;
      }
      return {in[0].expand(out)};
    };
  });
  AddPlain(t, "Tile", [](const NodeView&) -> Kernel {
    return [](const Tensors& in) -> Tensors { return {in[0].repeat(IntsOf(in[1]))}; };
  });
  AddPlain(t, "Pad", PadKernel);
  AddPlain(t, "Range", [](const NodeView&) -> Kernel {
    return [](const Tensors& in) -> Tensors {
      const auto type = in[0].scalar_type();
      if (at::isFloatingType(type)) {
        const double start = in[0].item<double>(), limit = in[1].item<double>(),
                     delta = in[2].item<double>();
        const auto n = static_cast<int64_t>(std::max(std::ceil((limit - start) / delta), 0.0));
        return {(at::arange(n, at::kDouble) * delta + start).to(type)};
      }
      const int64_t start = in[0].item<int64_t>(), limit = in[1].item<int64_t>(),
                    delta = in[2].item<int64_t>();
      TORCH_CHECK(delta != 0, "Range: delta 0");
      const int64_t n =
          std::max<int64_t>((limit - start + delta + (delta > 0 ? -1 : 1)) / delta, 0);
      return {(at::arange(n, at::kLong) * delta + start).to(type)};
    };
  });
  AddPlain(t, "Cast", [](const NodeView& n) { return CastKernel(n, false); });
  AddPlain(t, "CastLike", [](const NodeView& n) { return CastKernel(n, true); });
  AddPlain(t, "EyeLike", [](const NodeView& n) -> Kernel {
    const int64_t k = n.Int("k", 0);
    const bool has_dtype = n.Has("dtype");
    const at::ScalarType type = has_dtype ? ScalarTypeOf(static_cast<int32_t>(n.Int("dtype", 1)))
                                          : ScalarTypeOf(n.InputDtype(0) ? n.InputDtype(0) : 1);
    return [=](const Tensors& in) -> Tensors {
      at::Tensor rows = at::arange(in[0].size(0), at::kLong).unsqueeze(1);
      at::Tensor cols = at::arange(in[0].size(1), at::kLong).unsqueeze(0);
      return {(cols - rows == k).to(type)};
    };
  });
  AddPlain(t, "Compress", [](const NodeView& n) -> Kernel {
    const bool has_axis = n.Has("axis");
    const int64_t axis_attr = n.Int("axis", 0);
    return [=](const Tensors& in) -> Tensors {
      at::Tensor x = has_axis ? in[0] : in[0].reshape({-1});
      const int64_t axis = has_axis ? RunAxisTorchCheck(axis_attr, x.dim()) : 0;
      at::Tensor cond = in[1].to(at::kBool).reshape({-1});
      cond = cond.narrow(0, 0, std::min<int64_t>(cond.size(0), x.size(axis)));
      return {x.index_select(axis, at::nonzero(cond).reshape({-1}))};
    };
  });
}

}  // namespace plaster::engine::torch_engine
