#pragma once
/// Raw per-query records: what was measured, before any statistics. Times are nanoseconds on the
/// core clock since the run's origin (the end of warm-up). docs/metrics.md ("the latency parts")
/// says exactly what each interval covers:
///   queue wait = started − scheduled, copy-in = copied_in − started,
///   compute = computed − copied_in, copy-out = finished − computed,
///   latency = finished − scheduled (server, multi-stream: the *scheduled* arrival, so time spent
///   queueing behind a slow system counts; single-stream: scheduled = issued).

#include <cstdint>
#include <cstdio>
#include <string>

namespace plaster::loadgen {

/// A plain aggregate (no initialisers), so a run can reserve millions of records without
/// touching their memory until they are written.
struct QueryRecord {
  int64_t scheduled_ns;  ///< when the query arrives (offline: 0, all at once)
  int64_t issued_ns;     ///< when the batcher took it for a batch
  int64_t started_ns;    ///< when its batch began (copy-in starts)
  int64_t copied_in_ns;  ///< inputs in the session's batch tensors; Session::Run called
  int64_t computed_ns;   ///< Session::Run returned
  int64_t finished_ns;   ///< outputs handed back
  uint32_t query;        ///< 0-based, in arrival order
  uint32_t sample;       ///< the library index of its first sample
  uint16_t batch;        ///< queries in the batch that served it
  uint16_t worker;       ///< the worker session that ran it
  uint32_t reserved;
};
static_assert(sizeof(QueryRecord) == 64, "one cache line per record");

/// Streams records to a file as they are measured: CSV for a ".csv" name, JSON Lines for
/// ".jsonl" or ".ndjson". Writes are buffered; Flush pushes them to the OS (the run flushes at
/// every progress tick, so a crash loses at most the last half second). Not thread-safe: one
/// writer thread.
class RawWriter {
 public:
  /// Opens (truncates) path. Throws plaster::Error naming it when the extension is unknown or the
  /// file cannot be written.
  explicit RawWriter(const std::string& path);
  ~RawWriter();
  RawWriter(const RawWriter&) = delete;
  RawWriter& operator=(const RawWriter&) = delete;

  void Write(const QueryRecord& record);
  /// Throws plaster::Error when the OS refuses the data (disk full...).
  void Flush();
  const std::string& path() const { return path_; }
  int64_t written() const { return written_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  bool csv_ = true;
  int64_t written_ = 0;
};

}  // namespace plaster::loadgen
