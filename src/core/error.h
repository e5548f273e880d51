#pragma once
/// Errors. Two kinds, kept apart (as PyTorch keeps TORCH_CHECK apart from TORCH_INTERNAL_ASSERT):
///  - plaster::Error: the user's input is wrong (a file, an option, a model). The CLI prints its
///    message as one line and exits with status 2. Context is added as the error travels up, so the
///    user reads "resnet.onnx: node 'Conv_3' (Conv): attribute 'pads' has 3 values, expected 4".
///  - PLASTER_ASSERT: an internal invariant broke; that is a bug in plaster, and it aborts.

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace plaster {

/// Bad input. The message is a single line (newlines are folded into "; ").
class Error : public std::runtime_error {
 public:
  explicit Error(std::string_view message);

  /// A copy whose message is "<context>: <message>".
  [[nodiscard]] Error WithContext(std::string_view context) const;
};

/// Throws plaster::Error with a formatted message.
template <typename... Args>
[[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

/// Folds a possibly multi-line message (from a library) into one line.
std::string OneLine(std::string_view text);

namespace detail {
[[noreturn]] void AssertFailed(const char* condition, const char* file, int line);
}  // namespace detail

}  // namespace plaster

/// Checks user input: throws plaster::Error with the formatted message when cond is false.
#define PLASTER_CHECK(cond, ...)    \
  do {                              \
    if (!(cond)) {                  \
      ::plaster::Fail(__VA_ARGS__); \
    }                               \
  } while (false)

/// Checks an internal invariant; failure is a bug in plaster, reported as such, and aborts.
#define PLASTER_ASSERT(cond)                                      \
  do {                                                            \
    if (!(cond)) {                                                \
      ::plaster::detail::AssertFailed(#cond, __FILE__, __LINE__); \
    }                                                             \
  } while (false)
