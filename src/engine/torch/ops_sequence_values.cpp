// Ops on ONNX sequence values, seq(tensor): SequenceEmpty, SequenceConstruct, SequenceInsert,
// SequenceAt, SequenceErase, SequenceLength, ConcatFromSequence, SplitToSequence.
//
// Note [Sequences]: a sequence lives only inside a run, between the steps that make and read it
// (a Value with `sequence` set; kernel.h). Sequences are never folded at compile time and are
// immutable: SequenceInsert and SequenceErase make a new list of the same tensors, so a
// sequence that two steps read stays as each expects. A model whose inputs or outputs are
// sequences is not supported (a Session exchanges tensors only).

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {

namespace {

const Sequence& SequenceOf(const Values& in, size_t i, const char* op) {
  if (i >= in.size() || !in[i].sequence) {
    RunError(fmt::format("{}: input {} is not a sequence", op, i));
  }
  return *in[i].sequence;
}

const at::Tensor& TensorOf(const Values& in, size_t i, const char* op) {
  if (i >= in.size() || !in[i].tensor.defined()) {
    RunError(fmt::format("{}: input {} is not a tensor", op, i));
  }
  return in[i].tensor;
}

bool HasTensor(const Values& in, size_t i) { return i < in.size() && in[i].tensor.defined(); }

Value Make(Sequence s) { return {at::Tensor(), std::make_shared<const Sequence>(std::move(s))}; }

// A position input: a scalar integer in [-n, n + extra - 1], normalised to [0, n + extra).
int64_t Position(const at::Tensor& p, int64_t n, int64_t extra, const char* op) {
  if (p.numel() != 1 || at::isFloatingType(p.scalar_type())) {
    RunError(fmt::format("{}: the position must be one integer, not {} values of {}", op, p.numel(),
                         at::toString(p.scalar_type())));
  }
  const int64_t v = p.item<int64_t>();
  const int64_t k = v < 0 ? v + n : v;
  if (k < 0 || k >= n + extra) {
    RunError(fmt::format("{}: position {} is out of range for a sequence of {}", op, v, n));
  }
  return k;
}

ValueKernel BuildSequenceEmpty(const NodeView& n) {
  ScalarTypeOf(static_cast<int32_t>(n.Int("dtype", 1)));  // Unsupported for types ATen lacks
  return [](const Values&) -> Values { return {Make({})}; };
}

ValueKernel BuildSequenceConstruct(const NodeView&) {
  return [](const Values& in) -> Values {
    Sequence s;
    for (size_t i = 0; i < in.size(); ++i) {
      s.push_back(TensorOf(in, i, "SequenceConstruct"));
      if (s.back().scalar_type() != s.front().scalar_type()) {
        RunError("SequenceConstruct: the tensors' types differ");
      }
    }
    return {Make(std::move(s))};
  };
}

ValueKernel BuildSequenceInsert(const NodeView&) {
  return [](const Values& in) -> Values {
    const Sequence& s = SequenceOf(in, 0, "SequenceInsert");
    const at::Tensor& t = TensorOf(in, 1, "SequenceInsert");
    if (!s.empty() && s.front().scalar_type() != t.scalar_type()) {
      RunError(fmt::format("SequenceInsert: a {} tensor into a sequence of {}",
                           at::toString(t.scalar_type()), at::toString(s.front().scalar_type())));
    }
    const auto size = static_cast<int64_t>(s.size());
    const int64_t at = HasTensor(in, 2) ? Position(in[2].tensor, size, 1, "SequenceInsert") : size;
    Sequence out = s;
    out.insert(out.begin() + at, t);
    return {Make(std::move(out))};
  };
}

ValueKernel BuildSequenceAt(const NodeView&) {
  return [](const Values& in) -> Values {
    const Sequence& s = SequenceOf(in, 0, "SequenceAt");
    const int64_t at =
        Position(TensorOf(in, 1, "SequenceAt"), static_cast<int64_t>(s.size()), 0, "SequenceAt");
    return {Value{s[static_cast<size_t>(at)], nullptr}};
  };
}

ValueKernel BuildSequenceErase(const NodeView&) {
  return [](const Values& in) -> Values {
    const Sequence& s = SequenceOf(in, 0, "SequenceErase");
    const auto size = static_cast<int64_t>(s.size());
    if (size == 0) RunError("SequenceErase: the sequence is empty");
    const int64_t at =
        HasTensor(in, 1) ? Position(in[1].tensor, size, 0, "SequenceErase") : size - 1;
    Sequence out = s;
    out.erase(out.begin() + at);
    return {Make(std::move(out))};
  };
}

ValueKernel BuildSequenceLength(const NodeView&) {
  return [](const Values& in) -> Values {
    const auto n = static_cast<int64_t>(SequenceOf(in, 0, "SequenceLength").size());
    return {Value{at::scalar_tensor(n, at::kLong), nullptr}};
  };
}

ValueKernel BuildConcatFromSequence(const NodeView& n) {
  if (!n.Has("axis")) n.Fail("attribute axis is missing");
  const int64_t axis = n.Int("axis", 0);
  const bool new_axis = n.Int("new_axis", 0) != 0;
  return [axis, new_axis](const Values& in) -> Values {
    const Sequence& s = SequenceOf(in, 0, "ConcatFromSequence");
    if (s.empty()) RunError("ConcatFromSequence: the sequence is empty");
    const int64_t rank = s.front().dim() + (new_axis ? 1 : 0);
    const int64_t a = RunAxis<std::invalid_argument>(axis, rank);
    return {Value{new_axis ? at::stack(s, a) : at::cat(s, a), nullptr}};
  };
}

ValueKernel BuildSplitToSequence(const NodeView& n) {
  const int64_t axis = n.Int("axis", 0);
  const bool keepdims = n.Int("keepdims", 1) != 0;
  return [axis, keepdims](const Values& in) -> Values {
    const at::Tensor& x = TensorOf(in, 0, "SplitToSequence");
    const int64_t a = RunAxis<std::invalid_argument>(axis, x.dim());
    const int64_t length = x.dim() == 0 ? 1 : x.size(a);
    std::vector<at::Tensor> parts;
    if (!HasTensor(in, 1)) {
      // No split: pieces of 1, with the axis dropped unless keepdims.
      parts = at::split(x, 1, a);
      if (!keepdims) {
        for (auto& p : parts) p = p.squeeze(a);
      }
    } else {
      const at::Tensor& split = in[1].tensor;
      if (split.dim() == 0) {
        const int64_t size = split.item<int64_t>();
        if (size <= 0) RunError(fmt::format("SplitToSequence: split {} is not positive", size));
        parts = at::split(x, size, a);  // the last piece may be shorter
      } else {
        const Ints sizes = IntsOf(split);
        int64_t total = 0;
        for (int64_t v : sizes) {
          if (v < 0)
            RunError(fmt::format("SplitToSequence: split {} has a negative size", Join(sizes)));
          total += v;
        }
        if (total != length) {
          RunError(fmt::format("SplitToSequence: split {} adds up to {}, not the axis' {}",
                               Join(sizes), total, length));
        }
        parts = at::split_with_sizes(x, sizes, a);
      }
    }
    return {Make(Sequence(parts.begin(), parts.end()))};
  };
}

void AddValueOp(std::vector<OpEntry>* t, const char* op, ValueBuilder build, int since) {
  t->push_back({op, nullptr, since, 1000, std::move(build)});
}

}  // namespace

void AddSequenceValueOps(std::vector<OpEntry>* t) {
  AddValueOp(t, "SequenceEmpty", BuildSequenceEmpty, 11);
  AddValueOp(t, "SequenceConstruct", BuildSequenceConstruct, 11);
  AddValueOp(t, "SequenceInsert", BuildSequenceInsert, 11);
  AddValueOp(t, "SequenceAt", BuildSequenceAt, 11);
  AddValueOp(t, "SequenceErase", BuildSequenceErase, 11);
  AddValueOp(t, "SequenceLength", BuildSequenceLength, 11);
  AddValueOp(t, "ConcatFromSequence", BuildConcatFromSequence, 11);
  AddValueOp(t, "SplitToSequence", BuildSplitToSequence, 11);
}

}  // namespace plaster::engine::torch_engine
