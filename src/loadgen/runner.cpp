#include "loadgen/runner.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "model/dtype.h"

namespace plaster::loadgen {
namespace {

// Note [Records without page faults]: a run reserves room for every query it may record (up to
// 10 million, 640 MB) but must not pay for it: the memory is an anonymous mapping the OS commits
// page by page. A first write to a page is a page fault (~1-2 µs), and for a query that would
// land inside its own latency (the dispatcher writes the record between "issued" and "started").
// So pages are committed ahead of use, outside any query's interval: the first stretch before
// timing, the rest by the calling thread as the run advances (MADV_POPULATE_WRITE, Linux 5.14+;
// on older kernels the pages fault on first use, and the harness overhead figures show it).
template <typename T>
class Reserved {
 public:
  explicit Reserved(int64_t count)
      : bytes_(std::max<size_t>(1, static_cast<size_t>(count) * sizeof(T))) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    PLASTER_CHECK(p != MAP_FAILED, "cannot reserve {} bytes for the run's records", bytes_);
    data_ = static_cast<T*>(p);
  }
  ~Reserved() { ::munmap(data_, bytes_); }
  Reserved(const Reserved&) = delete;
  Reserved& operator=(const Reserved&) = delete;

  T* get() const { return data_; }
  T& operator[](int64_t i) const { return data_[i]; }
  // Commits the pages holding elements [0, upto); cheap when already done.
  void Populate(int64_t upto) {
    const size_t end =
        std::min(bytes_, static_cast<size_t>(std::max<int64_t>(upto, 0)) * sizeof(T));
    constexpr size_t kPage = 4096;
    const size_t from = populated_ / kPage * kPage;
    const size_t to = (end + kPage - 1) / kPage * kPage;
    if (to <= populated_ || !supported_) return;
    if (::madvise(reinterpret_cast<char*>(data_) + from, std::min(to, RoundedBytes()) - from,
                  MADV_POPULATE_WRITE) != 0) {
      supported_ = false;
      return;
    }
    populated_ = to;
  }

 private:
  size_t RoundedBytes() const { return (bytes_ + 4095) / 4096 * 4096; }
  size_t bytes_;
  T* data_ = nullptr;
  size_t populated_ = 0;
  bool supported_ = true;
};

// How far ahead of the dispatcher the calling thread keeps records committed: 16 MiB of records,
// several seconds of queries even for the null engine.
constexpr int64_t kPopulateAhead = 1 << 18;

// One session and its buffers: the batch tensors that copy-in fills and the per-query response
// tensors that copy-out fills, both allocated before timing. See Note [The latency parts].
class Worker {
 public:
  Worker(engine::Session& session, const SampleLibrary& library, int64_t samples_per_query,
         uint16_t id)
      : session_(session), library_(library), spq_(samples_per_query), id_(id) {
    for (const auto& spec : session.inputs()) batch_.emplace_back(spec.dtype, spec.shape);
    for (const auto& spec : session.outputs()) {
      std::vector<int64_t> shape = spec.shape;
      // An output whose size depends on the data (a -1 dim) or that holds strings has no fixed
      // per-query slice: it is handed back whole, like an unbatched one.
      const bool fixed = spec.dtype != 8 /* STRING */ &&
                         std::all_of(shape.begin(), shape.end(), [](int64_t d) { return d >= 0; });
      const bool batched = fixed && !shape.empty() && shape[0] == library.batch_size();
      if (batched) shape[0] = 1;
      response_.push_back(batched ? engine::HostTensor(spec.dtype, shape) : engine::HostTensor());
      output_batched_.push_back(batched);
    }
  }

  // Untimed runs until both `runs` runs are done and the deadline has passed, or halt.
  void WarmUp(int64_t runs, int64_t deadline_ns, const std::atomic<bool>& halt) {
    Fill(0, library_.batch_size());
    for (int64_t k = 0; (k < runs || NowNs() < deadline_ns) && !halt.load(); ++k) {
      session_.Run(Inputs(0));
    }
  }

  // Runs one batch of `count` queries (records[0..count)), each of spq_ samples.
  void RunBatch(QueryRecord* records, int64_t count, int64_t origin_ns) {
    // Note [The latency parts]: copy-in is the harness assembling the batch from staged samples
    // (a memcpy per sample and input into the preallocated batch tensors; a partial batch is
    // padded by repeating its first sample). A batch of one sample needs no assembly: the engine
    // reads the staged tensors directly and copy-in is ~0. Compute is Session::Run as a caller
    // sees it: for the torch engine that includes wrapping the inputs and copying the outputs
    // into new HostTensors, which plaster cannot separate from the engine's work today. Copy-out
    // is handing results back: for a batch of several queries, each query's slice of every
    // output is copied into a response buffer; otherwise the outputs are kept as they are and
    // the previous ones freed.
    const int64_t started = NowNs();
    const int64_t samples = count * spq_;
    PLASTER_ASSERT(samples <= library_.batch_size());
    const std::vector<engine::HostTensor>* inputs;
    if (library_.batch_size() == 1) {
      inputs = &library_.sample(records[0].sample);
    } else {
      for (int64_t j = 0; j < library_.batch_size(); ++j) {
        const int64_t pos = j < samples ? j : 0;
        CopySample(j, records[pos / spq_].sample + pos % spq_);
      }
      inputs = &batch_;
    }
    const int64_t copied = NowNs();
    std::vector<engine::HostTensor> outputs = session_.Run(*inputs);
    const int64_t computed = NowNs();
    if (count > 1) {
      for (int64_t q = 0; q < count; ++q) {
        for (size_t k = 0; k < outputs.size() && k < response_.size(); ++k) {
          if (!output_batched_[k]) continue;
          const size_t slice = response_[k].size_bytes();
          if (slice * static_cast<size_t>(q + 1) > outputs[k].size_bytes()) continue;
          std::memcpy(response_[k].mutable_data(), outputs[k].data() + slice * q, slice);
        }
      }
    } else {
      held_ = std::move(outputs);
    }
    const int64_t finished = NowNs();
    for (int64_t q = 0; q < count; ++q) {
      QueryRecord& r = records[q];
      r.started_ns = started - origin_ns;
      r.copied_in_ns = copied - origin_ns;
      r.computed_ns = computed - origin_ns;
      r.finished_ns = finished - origin_ns;
      r.batch = static_cast<uint16_t>(count);
      r.worker = id_;
      r.reserved = 0;
    }
  }

 private:
  void CopySample(int64_t slot, int64_t sample) {
    const auto& src = library_.sample(sample);
    for (size_t k = 0; k < batch_.size(); ++k) {
      const size_t bytes = src[k].size_bytes();
      std::memcpy(batch_[k].mutable_data() + bytes * static_cast<size_t>(slot), src[k].data(),
                  bytes);
    }
  }
  void Fill(int64_t first, int64_t n) {
    if (library_.batch_size() == 1) return;
    for (int64_t j = 0; j < n; ++j) CopySample(j, first + j);
  }
  const std::vector<engine::HostTensor>& Inputs(int64_t sample) {
    return library_.batch_size() == 1 ? library_.sample(sample) : batch_;
  }

  engine::Session& session_;
  const SampleLibrary& library_;
  int64_t spq_;
  uint16_t id_;
  std::vector<engine::HostTensor> batch_;
  std::vector<engine::HostTensor> response_;
  std::vector<bool> output_batched_;
  std::vector<engine::HostTensor> held_;
};

// Hands out batches of queries. Closed loops (single-stream, offline) issue a query whenever a
// worker is free; open schedules (server, multi-stream) release queries at their scheduled
// times, and the batcher closes a batch when it is full, when nothing more has arrived and the
// oldest query has waited max_queue_delay, or when the schedule is over.
class Dispatcher {
 public:
  struct Claim {
    int64_t first = 0;
    int64_t count = 0;  // 0: the run is over
  };

  Dispatcher(const EffectiveSettings& s, const std::vector<int64_t>& schedule, QueryRecord* records,
             int64_t capacity, int64_t library_size, int64_t origin_ns, std::atomic<bool>& halt)
      : s_(s),
        schedule_(schedule),
        open_(!schedule.empty()),
        records_(records),
        capacity_(capacity),
        library_size_(library_size),
        origin_(origin_ns),
        halt_(halt),
        max_per_batch_(s.scenario == Scenario::kServer ? s.batch_size : 1) {}

  Claim Next() {
    std::lock_guard<std::mutex> lock(mu_);
    for (;;) {
      if (halt_.load(std::memory_order_relaxed)) return Stop(RunEnd::kInterrupted);
      const int64_t now = NowNs() - origin_;
      if (!open_) {
        if (next_ >= s_.min_query_count && now >= s_.min_duration_ns) {
          return Stop(RunEnd::kCompleted);
        }
        if (now >= s_.max_duration_ns) return Stop(RunEnd::kMaxDuration);
        if (next_ >= capacity_) return Stop(RunEnd::kMaxQueries);
        const int64_t scheduled = s_.scenario == Scenario::kOffline ? 0 : now;
        return Take(
            1, [&](int64_t) { return scheduled; }, now);
      }
      if (next_ >= static_cast<int64_t>(schedule_.size())) return Stop(RunEnd::kCompleted);
      if (now >= s_.max_duration_ns) return Stop(RunEnd::kMaxDuration);
      const int64_t first = schedule_[static_cast<size_t>(next_)];
      if (first > now) {
        WaitUntilNs(origin_ + std::min(first, s_.max_duration_ns), &halt_);
        continue;
      }
      const auto n = static_cast<int64_t>(schedule_.size());
      int64_t arrived = 1;
      while (arrived < max_per_batch_ && next_ + arrived < n &&
             schedule_[static_cast<size_t>(next_ + arrived)] <= now) {
        ++arrived;
      }
      if (arrived == max_per_batch_ || next_ + arrived == n ||
          now - first >= s_.max_queue_delay_ns) {
        return Take(
            arrived, [&](int64_t q) { return schedule_[static_cast<size_t>(q)]; }, now);
      }
      const int64_t deadline =
          std::min(first + s_.max_queue_delay_ns, schedule_[static_cast<size_t>(next_ + arrived)]);
      WaitUntilNs(origin_ + std::min(deadline, s_.max_duration_ns), &halt_);
    }
  }

  int64_t issued() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_;
  }
  // For the calling thread's bookkeeping, without taking the lock.
  int64_t issued_relaxed() const { return issued_.load(std::memory_order_relaxed); }
  RunEnd end() {
    std::lock_guard<std::mutex> lock(mu_);
    return end_.value_or(RunEnd::kCompleted);
  }

 private:
  Claim Stop(RunEnd why) {
    if (!end_) end_ = why;
    return {};
  }
  template <typename Scheduled>
  Claim Take(int64_t count, Scheduled scheduled, int64_t now) {
    for (int64_t q = next_; q < next_ + count; ++q) {
      QueryRecord& r = records_[q];
      r.scheduled_ns = scheduled(q);
      r.issued_ns = now;
      r.query = static_cast<uint32_t>(q);
      r.sample = static_cast<uint32_t>((q * s_.samples_per_query) % library_size_);
    }
    Claim c{next_, count};
    next_ += count;
    issued_.store(next_, std::memory_order_relaxed);
    return c;
  }

  const EffectiveSettings& s_;
  const std::vector<int64_t>& schedule_;
  const bool open_;
  QueryRecord* records_;
  const int64_t capacity_;
  const int64_t library_size_;
  const int64_t origin_;
  std::atomic<bool>& halt_;
  const int64_t max_per_batch_;
  std::mutex mu_;
  int64_t next_ = 0;
  std::atomic<int64_t> issued_{0};
  std::optional<RunEnd> end_;
};

// The ids of the queries one worker completed, in completion order; written by that worker only,
// read by the calling thread up to `published` (release/acquire).
struct CompletionLog {
  explicit CompletionLog(int64_t capacity) : ids(capacity) {}
  Reserved<uint32_t> ids;
  std::atomic<int64_t> published{0};
  int64_t read = 0;  // the calling thread's cursor
};

std::vector<int64_t> BuildSchedule(const EffectiveSettings& s) {
  if (s.scenario == Scenario::kServer) {
    const double wanted =
        std::ceil(s.server_rate_qps * static_cast<double>(s.min_duration_ns) / 1e9);
    const auto count = std::clamp<int64_t>(
        std::max<int64_t>(static_cast<int64_t>(std::min(wanted, 9e18)), s.min_query_count), 1,
        s.max_query_count);
    return PoissonSchedule(s.server_rate_qps, count, s.schedule_seed);
  }
  if (s.scenario == Scenario::kMultiStream) {
    const int64_t count = std::clamp<int64_t>(
        std::max(s.min_query_count,
                 (s.min_duration_ns + s.multistream_interval_ns - 1) / s.multistream_interval_ns),
        1, s.max_query_count);
    std::vector<int64_t> schedule(static_cast<size_t>(count));
    for (int64_t q = 0; q < count; ++q)
      schedule[static_cast<size_t>(q)] = q * s.multistream_interval_ns;
    return schedule;
  }
  return {};
}

}  // namespace

const char* RunEndName(RunEnd end) {
  switch (end) {
    case RunEnd::kCompleted:
      return "completed";
    case RunEnd::kMaxDuration:
      return "max-duration";
    case RunEnd::kMaxQueries:
      return "max-queries";
    case RunEnd::kInterrupted:
      return "interrupted";
  }
  return "?";
}

std::vector<int64_t> PoissonSchedule(double rate_qps, int64_t count, uint64_t seed) {
  PLASTER_ASSERT(rate_qps > 0 && count >= 0);
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(rate_qps / 1e9);  // per ns
  std::vector<int64_t> schedule(static_cast<size_t>(count));
  double t = 0;
  for (auto& s : schedule) {
    t += gap(rng);
    s = static_cast<int64_t>(t);
  }
  return schedule;
}

RunResult RunScenario(const std::vector<engine::Session*>& sessions, const SampleLibrary& library,
                      const EffectiveSettings& settings, const RunHooks& hooks) {
  PLASTER_ASSERT(static_cast<int>(sessions.size()) >= settings.sessions);
  PLASTER_ASSERT(library.batch_size() == settings.batch_size);
  RunResult result;
  result.settings = settings;
  std::atomic<bool> halt{false};
  auto poll_stop = [&] {
    if (hooks.stop != nullptr && hooks.stop->load()) halt.store(true);
  };

  std::vector<std::unique_ptr<Worker>> workers;
  for (int w = 0; w < settings.sessions; ++w) {
    workers.push_back(std::make_unique<Worker>(*sessions[static_cast<size_t>(w)], library,
                                               settings.samples_per_query,
                                               static_cast<uint16_t>(w)));
  }
  // Everything the timed phase needs is made before it: the schedule, the records (reserved,
  // not touched: the OS commits pages as they are written), the completion logs.
  const std::vector<int64_t> schedule = BuildSchedule(settings);
  const int64_t capacity =
      schedule.empty() ? settings.max_query_count : static_cast<int64_t>(schedule.size());
  Reserved<QueryRecord> records(capacity);
  records.Populate(kPopulateAhead);
  std::vector<std::unique_ptr<CompletionLog>> logs;
  for (size_t w = 0; w < workers.size(); ++w)
    logs.push_back(std::make_unique<CompletionLog>(capacity));

  std::exception_ptr error;
  std::mutex error_mu;
  std::atomic<int> running{0};
  // Runs body(w) on one thread per worker; an exception stops every worker and is kept.
  auto spawn = [&](auto body) {
    running.store(static_cast<int>(workers.size()));
    std::vector<std::thread> threads;
    for (size_t w = 0; w < workers.size(); ++w) {
      threads.emplace_back([&, body, w] {
        try {
          body(w);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (!error) error = std::current_exception();
          halt.store(true);
        }
        running.fetch_sub(1);
      });
    }
    return threads;
  };

  // Warm-up: every session, in parallel, untimed and unrecorded.
  poll_stop();
  if (!halt.load() && (settings.warmup_queries > 0 || settings.warmup_ns > 0)) {
    const int64_t deadline = NowNs() + settings.warmup_ns;
    std::vector<std::thread> threads =
        spawn([&](size_t w) { workers[w]->WarmUp(settings.warmup_queries, deadline, halt); });
    while (running.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      poll_stop();
    }
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
  }

  const int64_t origin = NowNs();
  Dispatcher dispatcher(settings, schedule, records.get(), capacity, library.size(), origin, halt);
  std::vector<std::thread> threads = spawn([&](size_t w) {
    CompletionLog& log = *logs[w];
    for (;;) {
      const Dispatcher::Claim c = dispatcher.Next();
      if (c.count == 0) return;
      workers[w]->RunBatch(records.get() + c.first, c.count, origin);
      int64_t at = log.published.load(std::memory_order_relaxed);
      for (int64_t q = c.first; q < c.first + c.count; ++q)
        log.ids[at++] = static_cast<uint32_t>(q);
      log.published.store(at, std::memory_order_release);
    }
  });

  // The calling thread: streams completed records, reports progress, watches for Ctrl-C.
  std::vector<double> recent;
  constexpr size_t kRecent = 65536;
  size_t recent_at = 0;
  int64_t completed = 0;
  auto drain = [&] {
    for (auto& log : logs) {
      const int64_t upto = log->published.load(std::memory_order_acquire);
      for (; log->read < upto; ++log->read) {
        const QueryRecord& r = records[log->ids[log->read]];
        if (hooks.raw != nullptr) hooks.raw->Write(r);
        if (hooks.on_progress) {
          const auto latency = static_cast<double>(r.finished_ns - r.scheduled_ns);
          if (recent.size() < kRecent) {
            recent.push_back(latency);
          } else {
            recent[recent_at] = latency;
            recent_at = (recent_at + 1) % kRecent;
          }
        }
        ++completed;
      }
    }
    if (hooks.raw != nullptr) hooks.raw->Flush();
  };
  int64_t next_tick = origin + hooks.progress_interval_ns;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    poll_stop();
    const int64_t issued = dispatcher.issued_relaxed();
    records.Populate(issued + kPopulateAhead);
    for (auto& log : logs) log->ids.Populate(issued + kPopulateAhead);
    if (NowNs() < next_tick) continue;
    next_tick += hooks.progress_interval_ns;
    try {
      drain();
    } catch (...) {  // the raw file failed: stop measuring what cannot be kept
      std::lock_guard<std::mutex> lock(error_mu);
      if (!error) error = std::current_exception();
      halt.store(true);
    }
    if (hooks.on_progress) {
      Progress p;
      p.elapsed_ns = NowNs() - origin;
      p.queries = completed;
      if (!recent.empty()) {
        std::vector<double> copy = recent;
        const size_t k =
            static_cast<size_t>(std::ceil(0.99 * static_cast<double>(copy.size()) - 1e-9)) - 1;
        std::nth_element(copy.begin(), copy.begin() + static_cast<ptrdiff_t>(k), copy.end());
        p.recent_p99_ns = copy[k];
      }
      hooks.on_progress(p);
    }
  }
  for (auto& t : threads) t.join();
  drain();
  if (error) std::rethrow_exception(error);

  result.origin_ns = origin;
  result.end = dispatcher.end();
  if (hooks.stop != nullptr && hooks.stop->load()) result.end = RunEnd::kInterrupted;
  result.queries_issued = dispatcher.issued();
  result.queries_scheduled =
      schedule.empty() ? result.queries_issued : static_cast<int64_t>(schedule.size());
  result.records.reserve(static_cast<size_t>(completed));
  for (auto& log : logs) {
    for (int64_t i = 0; i < log->read; ++i) result.records.push_back(records[log->ids[i]]);
  }
  std::sort(result.records.begin(), result.records.end(),
            [](const QueryRecord& a, const QueryRecord& b) { return a.query < b.query; });
  for (const auto& r : result.records)
    result.duration_ns = std::max(result.duration_ns, r.finished_ns);
  return result;
}

RunResult RunScenario(const std::vector<engine::Session*>& sessions, const TestSettings& requested,
                      const RunHooks& hooks) {
  PLASTER_ASSERT(!sessions.empty());
  const auto& specs = sessions[0]->inputs();
  const int64_t batch = SampleLibrary::BatchOf(specs);
  int64_t sample_bytes = 0;
  for (const auto& spec : specs) {
    int64_t n = std::max<int64_t>(1, model::DtypeSize(spec.dtype));
    for (size_t d = 1; d < spec.shape.size(); ++d) n *= spec.shape[d];
    sample_bytes += n;
  }
  const EffectiveSettings settings =
      Resolve(requested, batch, static_cast<int>(sessions.size()), sample_bytes);
  const SampleLibrary library(specs, settings.library_size, settings.sample_seed);
  return RunScenario(sessions, library, settings, hooks);
}

}  // namespace plaster::loadgen
