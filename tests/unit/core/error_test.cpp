#include "core/error.h"

#include <gtest/gtest.h>

namespace plaster {
namespace {

TEST(Error, MessagesAreOneLine) {
  EXPECT_EQ(OneLine("a\nb"), "a; b");
  EXPECT_EQ(OneLine("a  \n\n  b\n"), "a; b");
  EXPECT_EQ(OneLine("plain"), "plain");
  EXPECT_EQ(Error("x\r\ny").what(), std::string("x; y"));
}

TEST(Error, ContextIsPrefixed) {
  Error e = Error("attribute 'pads' has 3 values")
                .WithContext("node 'Conv_3' (Conv)")
                .WithContext("m.onnx");
  EXPECT_STREQ(e.what(), "m.onnx: node 'Conv_3' (Conv): attribute 'pads' has 3 values");
}

TEST(Error, CheckThrowsFormattedMessage) {
  try {
    PLASTER_CHECK(1 + 1 == 3, "expected {} got {}", 3, 2);
    FAIL() << "PLASTER_CHECK did not throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "expected 3 got 2");
  }
  EXPECT_NO_THROW(PLASTER_CHECK(true, "never"));
}

TEST(ErrorDeathTest, AssertSaysBug) {
  EXPECT_DEATH(PLASTER_ASSERT(1 == 2), "bug: internal check '1 == 2' failed");
}

}  // namespace
}  // namespace plaster
