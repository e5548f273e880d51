#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace plaster {

std::string OneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_break = false;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      pending_break = !out.empty();
      continue;
    }
    if (pending_break) {
      if (c == ' ' || c == '\t') continue;  // indentation of the next line
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += "; ";
      pending_break = false;
    }
    out += c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

Error::Error(std::string_view message) : std::runtime_error(OneLine(message)) {}

Error Error::WithContext(std::string_view context) const {
  return Error(fmt::format("{}: {}", context, what()));
}

namespace detail {
void AssertFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "plaster: bug: internal check '%s' failed at %s:%d; please report it\n",
               condition, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace plaster
