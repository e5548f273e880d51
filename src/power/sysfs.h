#pragma once
/// Reading the small text files of sysfs and procfs (power sources only). A file that cannot be
/// read gives the reason, errno's words with a hint for the usual cause, never an exception:
/// one unreadable sensor must not hide the others.

#include <optional>
#include <string>
#include <vector>

namespace plaster::power::sysfs {

/// The file's text without the trailing newline, or nullopt with `why` set.
std::optional<std::string> ReadText(const std::string& path, std::string* why = nullptr);

/// The file's text as a number (sysfs counters are decimal integers), or nullopt with `why`.
std::optional<double> ReadNumber(const std::string& path, std::string* why = nullptr);

/// The entries of a directory whose names start with `prefix`, sorted by name, as full paths
/// (none when the directory does not exist).
std::vector<std::string> List(const std::string& dir, const std::string& prefix);

/// A file kept open and read again from the start each time: a sysfs attribute shows its
/// current value on every read at offset 0, so a sensor is read without an open(2) per sample.
class OpenNumber {
 public:
  /// Opens and reads the file once; nullopt-like state (ok() false) with `why` when it fails.
  OpenNumber(const std::string& path, std::string* why);
  ~OpenNumber();
  OpenNumber(const OpenNumber&) = delete;
  OpenNumber& operator=(const OpenNumber&) = delete;
  OpenNumber(OpenNumber&& other) noexcept;
  OpenNumber& operator=(OpenNumber&&) = delete;

  bool ok() const { return fd_ >= 0; }
  /// The current value, NaN when this read failed.
  double Read() const;

 private:
  int fd_ = -1;
};

}  // namespace plaster::power::sysfs
