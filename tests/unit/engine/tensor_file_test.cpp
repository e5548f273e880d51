#include "engine/tensor_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "support/fixtures.h"

namespace plaster::engine {
namespace {

using plaster::testing::ErrorOf;
using ::testing::HasSubstr;

// A .npy file as numpy 1.24 writes np.arange(6, dtype='<f4').reshape(2, 3).
std::string NumpyBytes() {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  header.append(128 - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  for (int k = 0; k < 6; ++k) {
    float v = static_cast<float>(k);
    out.append(reinterpret_cast<const char*>(&v), 4);
  }
  return out;
}

TEST(Npy, ParsesWhatNumpyWrites) {
  HostTensor t = ParseNpy(NumpyBytes(), "a.npy");
  EXPECT_EQ(t.dtype(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.data_as<float>()[5], 5.0f);
  EXPECT_EQ(t.Describe(), "float32[2x3]");
}

TEST(Npy, SerializesTheSameBytesNumpyWould) {
  HostTensor t = ParseNpy(NumpyBytes(), "a.npy");
  EXPECT_EQ(SerializeNpy(t), NumpyBytes());
}

TEST(Npy, RoundTripsEveryTypeAndRank) {
  for (int32_t dtype : {onnx::TensorProto::INT64, onnx::TensorProto::UINT8, onnx::TensorProto::BOOL,
                        onnx::TensorProto::DOUBLE}) {
    for (const std::vector<int64_t>& shape : {std::vector<int64_t>{}, {5}, {2, 0, 3}}) {
      HostTensor t(dtype, shape);
      for (size_t k = 0; k < t.size_bytes(); ++k) t.mutable_data()[k] = static_cast<char>(k % 2);
      HostTensor back = ParseNpy(SerializeNpy(t), "x.npy");
      EXPECT_EQ(back.dtype(), dtype);
      EXPECT_EQ(back.shape(), shape);
      EXPECT_EQ(back.bytes(), t.bytes());
      EXPECT_EQ(SerializeNpy(t).size() % 64, t.size_bytes() % 64);  // data 64-byte aligned
    }
  }
}

TEST(Npy, RefusesWhatItCannotReadCorrectly) {
  std::string bytes = NumpyBytes();
  EXPECT_THAT(ErrorOf([] { ParseNpy("hello world, not numpy", "t.npy"); }),
              HasSubstr("t.npy: not a .npy file"));
  std::string big = bytes;
  big.replace(big.find("'<f4'"), 5, "'>f4'");
  EXPECT_EQ(ErrorOf([&] { ParseNpy(big, "b.npy"); }),
            "b.npy: big-endian .npy data ('>f4') is not supported");
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_THAT(ErrorOf([&] { ParseNpy(fortran, "f.npy"); }), HasSubstr("Fortran-ordered"));
  EXPECT_EQ(ErrorOf([&] { ParseNpy(bytes.substr(0, bytes.size() - 4), "c.npy"); }),
            "c.npy: .npy data holds 20 bytes, but shape 2x3 of float32 needs 24");
  std::string huge = bytes;
  huge.replace(huge.find("(2, 3)"), 6, "(99999999999, 99999)");
  EXPECT_THAT(ErrorOf([&] { ParseNpy(huge, "h.npy"); }), HasSubstr("has more than"));
  std::string complex = bytes;
  complex.replace(complex.find("'<f4'"), 5, "'<c8'");
  EXPECT_EQ(ErrorOf([&] { ParseNpy(complex, "z.npy"); }),
            "z.npy: .npy dtype 'c8' is not supported");
}

TEST(TensorProtoFile, ReadsOnnxTestData) {
  plaster::testing::TempDir dir;
  onnx::TensorProto proto;
  proto.set_data_type(onnx::TensorProto::INT64);
  proto.add_dims(3);
  for (int64_t v : {7, 8, 9}) proto.add_int64_data(v);
  plaster::testing::WriteFile(dir / "input_0.pb", proto.SerializeAsString());
  HostTensor t = ReadTensorFile(dir / "input_0.pb");
  EXPECT_EQ(t.shape(), std::vector<int64_t>{3});
  EXPECT_EQ(t.data_as<int64_t>()[2], 9);
  EXPECT_THAT(ErrorOf([&] { ReadTensorFile(dir / "x.txt"); }),
              HasSubstr("unknown tensor file type '.txt'"));
  EXPECT_THAT(ErrorOf([&] { ReadTensorFile(dir / "missing.npy"); }), HasSubstr("no such file"));
}

}  // namespace
}  // namespace plaster::engine
