#include "loadgen/records.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace plaster::loadgen {

RawWriter::RawWriter(const std::string& path) : path_(path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  PLASTER_CHECK(ext == ".csv" || ext == ".jsonl" || ext == ".ndjson",
                "--raw {}: unknown format '{}' (use .csv, .jsonl or .ndjson)", path,
                ext.empty() ? std::string("no extension") : ext);
  csv_ = ext == ".csv";
  file_ = std::fopen(path.c_str(), "w");
  PLASTER_CHECK(file_ != nullptr, "--raw {}: cannot write: {}", path, std::strerror(errno));
  if (csv_) {
    std::fputs(
        "query,sample,batch,worker,scheduled_ns,issued_ns,started_ns,copied_in_ns,computed_ns,"
        "finished_ns\n",
        file_);
  }
}

RawWriter::~RawWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void RawWriter::Write(const QueryRecord& r) {
  if (csv_) {
    std::fprintf(file_, "%u,%u,%u,%u,%lld,%lld,%lld,%lld,%lld,%lld\n", r.query, r.sample,
                 static_cast<unsigned>(r.batch), static_cast<unsigned>(r.worker),
                 static_cast<long long>(r.scheduled_ns), static_cast<long long>(r.issued_ns),
                 static_cast<long long>(r.started_ns), static_cast<long long>(r.copied_in_ns),
                 static_cast<long long>(r.computed_ns), static_cast<long long>(r.finished_ns));
  } else {
    std::fprintf(file_,
                 "{\"query\":%u,\"sample\":%u,\"batch\":%u,\"worker\":%u,\"scheduled_ns\":%lld,"
                 "\"issued_ns\":%lld,\"started_ns\":%lld,\"copied_in_ns\":%lld,"
                 "\"computed_ns\":%lld,\"finished_ns\":%lld}\n",
                 r.query, r.sample, static_cast<unsigned>(r.batch), static_cast<unsigned>(r.worker),
                 static_cast<long long>(r.scheduled_ns), static_cast<long long>(r.issued_ns),
                 static_cast<long long>(r.started_ns), static_cast<long long>(r.copied_in_ns),
                 static_cast<long long>(r.computed_ns), static_cast<long long>(r.finished_ns));
  }
  ++written_;
}

void RawWriter::Flush() {
  PLASTER_CHECK(std::fflush(file_) == 0 && !std::ferror(file_), "--raw {}: write failed: {}", path_,
                std::strerror(errno));
}

}  // namespace plaster::loadgen
