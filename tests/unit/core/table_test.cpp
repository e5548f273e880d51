#include "core/table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace plaster {
namespace {

TEST(TextTable, AlignsColumnsAndTrimsTrailingSpace) {
  TextTable t({"op", "MACs"}, {TextTable::Align::kLeft, TextTable::Align::kRight});
  t.AddRow({"Conv", "4.09 G"});
  t.AddRow({"Gemm", "2 M"});
  std::ostringstream out;
  t.Print(out, "");
  EXPECT_EQ(out.str(),
            "op      MACs\n"
            "Conv  4.09 G\n"
            "Gemm     2 M\n");
}

TEST(TextTable, CountsUtf8CharactersNotBytes) {
  TextTable t({"a", "b"}, {TextTable::Align::kLeft, TextTable::Align::kLeft});
  t.AddRow({"×2", "x"});
  std::ostringstream out;
  t.Print(out, "");
  EXPECT_EQ(out.str(), "a   b\n×2  x\n");
}

TEST(TextTableDeathTest, WrongCellCountIsABug) {
  TextTable t({"a", "b"}, {TextTable::Align::kLeft, TextTable::Align::kLeft});
  EXPECT_DEATH(t.AddRow({"only one"}), "bug");
}

}  // namespace
}  // namespace plaster
