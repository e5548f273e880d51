#include "engine/tensor_file.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <regex>

#include "core/error.h"
#include "core/units.h"
#include "model/dtype.h"
#include "model/model.h"
#include "model/shape.h"
#include "model/tensor_data.h"

namespace plaster::engine {
namespace {

using onnx::TensorProto;

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct NpyType {
  const char* descr;  // without the byte-order character
  int32_t dtype;
};
constexpr NpyType kTypes[] = {
    {"f4", TensorProto::FLOAT},  {"f8", TensorProto::DOUBLE}, {"f2", TensorProto::FLOAT16},
    {"i8", TensorProto::INT64},  {"i4", TensorProto::INT32},  {"i2", TensorProto::INT16},
    {"i1", TensorProto::INT8},   {"u8", TensorProto::UINT64}, {"u4", TensorProto::UINT32},
    {"u2", TensorProto::UINT16}, {"u1", TensorProto::UINT8},  {"b1", TensorProto::BOOL},
};

std::string Slurp(const std::filesystem::path& path) {
  std::error_code ec;
  PLASTER_CHECK(std::filesystem::is_regular_file(path, ec), "{}: no such file", path.string());
  std::ifstream in(path, std::ios::binary);
  PLASTER_CHECK(in.good(), "{}: cannot be opened for reading", path.string());
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

size_t NpyDataOffset(std::string_view bytes, const std::string& name) {
  try {
    PLASTER_CHECK(bytes.size() >= 10 && bytes.compare(0, kMagicSize, kMagic) == 0,
                  "not a .npy file (no \\x93NUMPY magic)");
    const auto major = static_cast<uint8_t>(bytes[6]);
    PLASTER_CHECK(major >= 1 && major <= 3, ".npy format version {} is not supported", major);
    size_t header_len = 0, offset = 0;
    if (major == 1) {
      header_len = static_cast<uint8_t>(bytes[8]) |
                   (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
      offset = 10;
    } else {
      PLASTER_CHECK(bytes.size() >= 12, "truncated .npy header");
      for (int k = 3; k >= 0; --k)
        header_len = (header_len << 8) | static_cast<uint8_t>(bytes[8 + static_cast<size_t>(k)]);
      offset = 12;
    }
    // Readers allocate the header before parsing it; numpy itself refuses headers over 10 kB
    // unless told otherwise, so 1 MiB only stops a corrupt length from allocating gigabytes.
    PLASTER_CHECK(header_len <= (size_t{1} << 20), ".npy header of {} bytes is implausibly large",
                  header_len);
    return offset + header_len;
  } catch (const Error& e) {
    throw e.WithContext(name);
  }
}

NpyHeader ParseNpyHeader(std::string_view bytes, const std::string& name) {
  NpyHeader out;
  out.data_offset = NpyDataOffset(bytes, name);
  try {
    PLASTER_CHECK(bytes.size() >= out.data_offset, "truncated .npy header");
    const size_t at = bytes[6] == 1 ? 10 : 12;
    const std::string header(bytes.substr(at, out.data_offset - at));
    std::smatch m;
    PLASTER_CHECK(std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=])([a-z]\d+)')")),
                  ".npy header has no 'descr'");
    const std::string order = m[1], code = m[2];
    PLASTER_CHECK(order != ">", "big-endian .npy data ('{}{}') is not supported", order, code);
    for (const auto& t : kTypes) {
      if (code == t.descr) out.dtype = t.dtype;
    }
    PLASTER_CHECK(out.dtype != 0, ".npy dtype '{}' is not supported", code);
    PLASTER_CHECK(std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")),
                  ".npy header has no 'fortran_order'");
    PLASTER_CHECK(m[1] == "False",
                  "Fortran-ordered arrays are not supported; save np.ascontiguousarray(a)");
    PLASTER_CHECK(std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")),
                  ".npy header has no 'shape'");
    const std::string dims = m[1];
    static const std::regex kNumber(R"(-?\d+)");
    std::sregex_iterator it(dims.begin(), dims.end(), kNumber), end;
    for (; it != end; ++it) {
      const std::string digits = it->str();
      PLASTER_CHECK(digits.size() <= 15, ".npy shape has an absurd dimension {}", digits);
      out.shape.push_back(std::stoll(digits));
    }
    // The same limits as HostTensor's, checked here because piecewise readers never build one
    // tensor of the whole shape.
    int64_t elements = 1;
    for (int64_t d : out.shape) {
      PLASTER_CHECK(d >= 0, "negative dimension {} in shape {}", d,
                    model::Shape::Of(out.shape).ToString());
      PLASTER_CHECK(CheckedMul(elements, d, &elements) && elements <= model::kMaxElements,
                    "shape {} has more than {} elements", model::Shape::Of(out.shape).ToString(),
                    FormatCount(model::kMaxElements));
    }
    return out;
  } catch (const Error& e) {
    throw e.WithContext(name);
  }
}

HostTensor ParseNpy(const std::string& bytes, const std::string& name) {
  const NpyHeader header = ParseNpyHeader(bytes, name);
  try {
    HostTensor tensor(header.dtype, header.shape);  // checks the shape before allocating from it
    const size_t data_at = header.data_offset;
    PLASTER_CHECK(bytes.size() - data_at == tensor.size_bytes(),
                  ".npy data holds {} bytes, but shape {} of {} needs {}", bytes.size() - data_at,
                  model::Shape::Of(header.shape).ToString(), model::DtypeName(header.dtype),
                  tensor.size_bytes());
    std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(data_at), bytes.end(),
              tensor.mutable_data());
    return tensor;
  } catch (const Error& e) {
    throw e.WithContext(name);
  }
}

HostTensor ReadNpy(const std::filesystem::path& path) {
  return ParseNpy(Slurp(path), path.string());
}

std::string SerializeNpy(const HostTensor& t) {
  std::string descr;
  for (const auto& type : kTypes) {
    if (type.dtype == t.dtype())
      descr = std::string(model::DtypeSize(t.dtype()) == 1 ? "|" : "<") + type.descr;
  }
  PLASTER_CHECK(!descr.empty(), "tensors of type {} cannot be written as .npy",
                model::DtypeName(t.dtype()));
  std::string shape;  // "()", "(5,)", "(2, 3)": Python's tuple syntax
  for (size_t k = 0; k < t.shape().size(); ++k) {
    shape += (k == 0 ? "" : ", ") + std::to_string(t.shape()[k]);
  }
  if (t.shape().size() == 1) shape += ",";
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // Pad with spaces so that the data starts on a 64-byte boundary, newline-terminated.
  const bool v2 = header.size() + 11 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  const size_t len = header.size();
  for (size_t k = 0; k < (v2 ? 4u : 2u); ++k) out += static_cast<char>((len >> (8 * k)) & 0xFF);
  out += header;
  out += t.bytes();
  return out;
}

void WriteNpy(const std::filesystem::path& path, const HostTensor& tensor) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  PLASTER_CHECK(out.good(), "{}: cannot be opened for writing", path.string());
  out << SerializeNpy(tensor);
  out.close();
  PLASTER_CHECK(out.good(), "{}: writing failed", path.string());
}

HostTensor ReadTensorProto(const std::filesystem::path& path) {
  const std::string bytes = Slurp(path);
  TensorProto proto;
  PLASTER_CHECK(proto.ParseFromString(bytes), "{}: not a serialized ONNX TensorProto",
                path.string());
  try {
    if (proto.data_type() == TensorProto::STRING) {
      return HostTensor::Strings({proto.dims().begin(), proto.dims().end()},
                                 {proto.string_data().begin(), proto.string_data().end()});
    }
    std::string data = model::ReadTensorBytes(proto, std::nullopt);
    return HostTensor(proto.data_type(), {proto.dims().begin(), proto.dims().end()},
                      std::move(data));
  } catch (const Error& e) {
    throw e.WithContext(path.string());
  }
}

HostTensor ReadTensorFile(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".npy") return ReadNpy(path);
  if (ext == ".pb") return ReadTensorProto(path);
  Fail("{}: unknown tensor file type '{}' (expected .npy or .pb)", path.string(), ext);
}

}  // namespace plaster::engine
