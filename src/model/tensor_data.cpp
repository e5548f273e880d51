#include "model/tensor_data.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <system_error>

#include "core/error.h"
#include "core/units.h"
#include "model/dtype.h"
#include "model/model.h"

namespace plaster::model {
namespace {

namespace fs = std::filesystem;
using onnx::TensorProto;

int64_t ElementCount(const TensorProto& t) {
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    PLASTER_CHECK(d >= 0, "has a negative dimension {}", d);
    PLASTER_CHECK(d <= kMaxDim, "has a dimension of {}, more than plaster accepts ({})", d,
                  kMaxDim);
    PLASTER_CHECK(CheckedMul(n, d, &n) && n <= kMaxElements,
                  "has more than {} elements; refusing it", FormatCount(kMaxElements));
  }
  return n;
}

// How many entries the typed (non-raw) field holds, in units of the field's element.
int64_t TypedFieldCount(const TensorProto& t) {
  switch (t.data_type()) {
    case TensorProto::FLOAT:
    case TensorProto::COMPLEX64:
      return t.float_data_size();
    case TensorProto::DOUBLE:
    case TensorProto::COMPLEX128:
      return t.double_data_size();
    case TensorProto::INT64:
      return t.int64_data_size();
    case TensorProto::UINT32:
    case TensorProto::UINT64:
      return t.uint64_data_size();
    case TensorProto::STRING:
      return t.string_data_size();
    default:
      return t.int32_data_size();
  }
}

ExternalData ResolveExternal(const TensorProto& t, const std::optional<fs::path>& folder,
                             int64_t expected_bytes) {
  PLASTER_CHECK(folder.has_value(),
                "stores its data in an external file, which needs the model's folder; load the "
                "model from a file");
  std::string location;
  std::optional<uint64_t> offset, length;
  for (const auto& entry : t.external_data()) {
    auto number = [&](const std::string& text) -> uint64_t {
      PLASTER_CHECK(!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
                        text.size() <= 18,
                    "external data {} '{}' is not a non-negative integer", entry.key(), text);
      return std::stoull(text);
    };
    if (entry.key() == "location")
      location = entry.value();
    else if (entry.key() == "offset")
      offset = number(entry.value());
    else if (entry.key() == "length")
      length = number(entry.value());
  }
  PLASTER_CHECK(!location.empty(), "stores its data externally but gives no location");
  fs::path rel(location);
  PLASTER_CHECK(
      rel.is_relative() && !rel.has_root_name() && !rel.has_root_directory(),
      "external data location '{}' is absolute; it must be relative to the model's folder",
      location);
  for (const auto& part : rel) {
    PLASTER_CHECK(part != "..", "external data location '{}' leaves the model's folder", location);
  }
  std::error_code ec;
  const fs::path root = fs::canonical(*folder, ec);
  PLASTER_CHECK(!ec, "cannot resolve the model's folder '{}': {}", folder->string(), ec.message());
  const fs::path file = fs::weakly_canonical(root / rel, ec);
  PLASTER_CHECK(!ec, "external data location '{}': {}", location, ec.message());
  // Symlinks are resolved by canonicalisation: the target itself must be inside the folder.
  auto [root_end, file_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  PLASTER_CHECK(root_end == root.end(),
                "external data location '{}' resolves to '{}', outside the model's folder",
                location, file.string());
  PLASTER_CHECK(fs::is_regular_file(file, ec),
                "external data file '{}' does not exist or is not a regular file", location);
  const uint64_t file_size = fs::file_size(file, ec);
  PLASTER_CHECK(!ec, "external data file '{}': {}", location, ec.message());
  ExternalData data{file, offset.value_or(0), 0};
  PLASTER_CHECK(data.offset <= file_size,
                "external data offset {} is past the end of '{}' ({} bytes)", data.offset, location,
                file_size);
  data.length = length.value_or(file_size - data.offset);
  PLASTER_CHECK(data.length <= file_size - data.offset,
                "external data range {}+{} is past the end of '{}' ({} bytes)", data.offset,
                data.length, location, file_size);
  PLASTER_CHECK(static_cast<int64_t>(data.length) == expected_bytes,
                "external data holds {} bytes, but its dims and dtype need {}", data.length,
                expected_bytes);
  return data;
}

}  // namespace

std::optional<ExternalData> ValidateTensor(const TensorProto& t,
                                           const std::optional<fs::path>& folder) {
  try {
    PLASTER_CHECK(IsKnownDtype(t.data_type()), "has an unknown data type {}", t.data_type());
    const int64_t n = ElementCount(t);
    const int64_t size = DtypeSize(t.data_type());
    if (t.data_location() == TensorProto::EXTERNAL) {
      PLASTER_CHECK(size > 0, "stores {} data externally, which ONNX does not allow",
                    DtypeName(t.data_type()));
      return ResolveExternal(t, folder, n * size);
    }
    if (t.has_raw_data()) {
      PLASTER_CHECK(size > 0, "stores {} data as raw bytes, which ONNX does not allow",
                    DtypeName(t.data_type()));
      PLASTER_CHECK(static_cast<int64_t>(t.raw_data().size()) == n * size,
                    "holds {} bytes of raw data, but its dims {} need {}", t.raw_data().size(),
                    Shape::Of({t.dims().begin(), t.dims().end()}).ToString(), n * size);
      return std::nullopt;
    }
    const bool complex =
        t.data_type() == TensorProto::COMPLEX64 || t.data_type() == TensorProto::COMPLEX128;
    const int64_t want = complex ? 2 * n : n;
    PLASTER_CHECK(TypedFieldCount(t) == want, "holds {} values, but its dims {} need {}",
                  TypedFieldCount(t), Shape::Of({t.dims().begin(), t.dims().end()}).ToString(),
                  want);
    return std::nullopt;
  } catch (const Error& e) {
    throw e.WithContext(fmt::format("tensor '{}'", t.name()));
  }
}

std::string ReadTensorBytes(const TensorProto& t, const std::optional<fs::path>& folder) {
  auto external = ValidateTensor(t, folder);
  PLASTER_CHECK(DtypeSize(t.data_type()) > 0, "tensor '{}': {} data has no fixed-size layout",
                t.name(), DtypeName(t.data_type()));
  if (external) {
    std::ifstream in(external->file, std::ios::binary);
    PLASTER_CHECK(in.good(), "tensor '{}': cannot open '{}'", t.name(), external->file.string());
    std::string bytes(external->length, '\0');
    in.seekg(static_cast<std::streamoff>(external->offset));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    PLASTER_CHECK(in.good(), "tensor '{}': reading '{}' failed", t.name(), external->file.string());
    return bytes;
  }
  if (t.has_raw_data()) return t.raw_data();
  // Typed fields: convert to the dense little-endian layout of raw_data.
  const int64_t n = ElementCount(t);
  std::string bytes(static_cast<size_t>(n * DtypeSize(t.data_type())), '\0');
  char* out = bytes.data();
  switch (t.data_type()) {
    case TensorProto::FLOAT:
    case TensorProto::COMPLEX64:
      std::memcpy(out, t.float_data().data(), bytes.size());
      break;
    case TensorProto::DOUBLE:
    case TensorProto::COMPLEX128:
      std::memcpy(out, t.double_data().data(), bytes.size());
      break;
    case TensorProto::INT64:
      std::memcpy(out, t.int64_data().data(), bytes.size());
      break;
    case TensorProto::UINT64:
      std::memcpy(out, t.uint64_data().data(), bytes.size());
      break;
    case TensorProto::UINT32:
      for (int64_t i = 0; i < n; ++i) {
        auto v = static_cast<uint32_t>(t.uint64_data(static_cast<int>(i)));
        std::memcpy(out + 4 * i, &v, 4);
      }
      break;
    case TensorProto::INT32:
      std::memcpy(out, t.int32_data().data(), bytes.size());
      break;
    default: {
      // int8, uint8, bool, int16, uint16, float16, bfloat16: one int32 entry per element, holding
      // the element's bits in its low bytes.
      const int64_t size = DtypeSize(t.data_type());
      for (int64_t i = 0; i < n; ++i) {
        auto v = static_cast<uint32_t>(t.int32_data(static_cast<int>(i)));
        std::memcpy(out + size * i, &v, static_cast<size_t>(size));
      }
    }
  }
  return bytes;
}

}  // namespace plaster::model
