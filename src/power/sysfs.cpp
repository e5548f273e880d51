#include "power/sysfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>

namespace plaster::power::sysfs {

std::optional<std::string> ReadText(const std::string& path, std::string* why) {
  // open/read rather than streams: sysfs attributes are read in one read(2), and errno says
  // why one failed (a stream only says it did).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (why) {
      *why = std::strerror(errno);
      if (errno == EACCES) *why += " (readable by root only?)";
    }
    return std::nullopt;
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (why) *why = std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::optional<double> ReadNumber(const std::string& path, std::string* why) {
  const auto text = ReadText(path, why);
  if (!text) return std::nullopt;
  double value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || text->empty()) {
    if (why) *why = "not a number: '" + text->substr(0, 40) + "'";
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> List(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

OpenNumber::OpenNumber(const std::string& path, std::string* why) {
  if (!ReadNumber(path, why)) return;  // the reason, in ReadNumber's words
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0 && why) *why = std::strerror(errno);
}

OpenNumber::~OpenNumber() {
  if (fd_ >= 0) ::close(fd_);
}

OpenNumber::OpenNumber(OpenNumber&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

double OpenNumber::Read() const {
  char buffer[64];
  const ssize_t n = ::pread(fd_, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return std::numeric_limits<double>::quiet_NaN();
  double value = 0;
  const char* end = buffer + n;
  while (end > buffer && (end[-1] == '\n' || end[-1] == ' ')) --end;
  const auto [ptr, ec] = std::from_chars(buffer, end, value);
  if (ec != std::errc() || ptr != end) return std::numeric_limits<double>::quiet_NaN();
  return value;
}

}  // namespace plaster::power::sysfs
