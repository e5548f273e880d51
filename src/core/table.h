#pragma once
/// A plain-text table for console reports: a header row, data rows, columns aligned
/// (text left, numbers right). Cells are pre-formatted strings.

#include <ostream>
#include <string>
#include <vector>

namespace plaster {

class TextTable {
 public:
  enum class Align { kLeft, kRight };

  /// One column per header; align says how its cells line up.
  TextTable(std::vector<std::string> headers, std::vector<Align> align);

  /// Adds a row; it must have exactly one cell per column (a bug otherwise).
  void AddRow(std::vector<std::string> cells);

  /// Writes the table, each line prefixed by indent, two spaces between columns.
  void Print(std::ostream& out, const std::string& indent = "  ") const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace plaster
