#include "core/units.h"

#include <gtest/gtest.h>

#include <limits>

namespace plaster {
namespace {

TEST(FormatCount, GroupsThousands) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(25530472), "25,530,472");
  EXPECT_EQ(FormatCount(100000), "100,000");
}

TEST(FormatBytes, BinaryUnitsWithThreeDigits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(102121888), "97.4 MiB");
  EXPECT_EQ(FormatBytes(uint64_t{300} << 20), "300 MiB");
}

TEST(FormatSi, PrefixesAndRounding) {
  EXPECT_EQ(FormatSi(0, "FLOP"), "0 FLOP");
  EXPECT_EQ(FormatSi(0, ""), "0");
  EXPECT_EQ(FormatSi(4089184256.0, "MAC"), "4.09 GMAC");
  EXPECT_EQ(FormatSi(999.4, ""), "999");
  EXPECT_EQ(FormatSi(999.6, ""), "1.00 k");  // rounding crosses into the next prefix
  EXPECT_EQ(FormatSi(12.34, "B"), "12.3 B");
  EXPECT_EQ(FormatSi(-2500, "W"), "-2.50 kW");
  EXPECT_EQ(FormatSiSmall(0.00234, "J"), "2.34 mJ");
  EXPECT_EQ(FormatSiSmall(0.000456, "J"), "456 µJ");
  EXPECT_EQ(FormatSiSmall(0.9996, "J"), "1.00 J");
  EXPECT_EQ(FormatSiSmall(3e-8, "J"), "30.0 nJ");
  EXPECT_EQ(FormatSiSmall(2500, "W"), "2.50 kW");
  EXPECT_EQ(FormatSiSmall(0, "J"), "0 J");
}

TEST(CheckedMul, DetectsOverflowAndNegatives) {
  int64_t out = 7;
  EXPECT_TRUE(CheckedMul(3, 4, &out));
  EXPECT_EQ(out, 12);
  EXPECT_TRUE(CheckedMul(0, std::numeric_limits<int64_t>::max(), &out));
  EXPECT_EQ(out, 0);
  out = 7;
  EXPECT_FALSE(CheckedMul(int64_t{1} << 32, int64_t{1} << 31, &out));
  EXPECT_EQ(out, 7);
  EXPECT_FALSE(CheckedMul(-1, 2, &out));
}

}  // namespace
}  // namespace plaster
