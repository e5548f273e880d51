#pragma once
/// A tensor shape as the analysis sees it: a rank (or unknown rank), and per dimension either a
/// value or unknown (with the symbolic name where the model gives one).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace plaster::model {

struct Shape {
  /// Rank unknown: nothing else is meaningful.
  bool rank_known = false;
  /// One per axis; kUnknownDim where the value is not known.
  std::vector<int64_t> dims;
  /// One per axis; the symbolic name ("batch") or empty.
  std::vector<std::string> symbols;

  static constexpr int64_t kUnknownDim = -1;

  static Shape Unknown() { return {}; }
  static Shape Of(std::vector<int64_t> values);

  size_t rank() const { return dims.size(); }
  /// Rank known and every dimension known.
  bool IsFullyKnown() const;
  /// The element count, when fully known and it fits in int64; nullopt otherwise.
  std::optional<int64_t> NumElements() const;
  /// "1x3x224x224", "batchx128x768" (symbols), "?x10" (unknown dims), "scalar", "unknown".
  std::string ToString() const;
};

}  // namespace plaster::model
