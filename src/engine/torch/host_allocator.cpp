// Note [Reused activation memory]: every run allocates its activations afresh (at::empty), and
// glibc serves a large allocation with new pages: from mmap above its threshold, or from a heap
// it trims when the top is free, or, on a thread other than the main one (a load generator's
// worker), from an arena heap it shrinks with MADV_DONTNEED. Each new page costs a fault and the
// kernel's zeroing: MobileNetV2 at batch 8 writes about 150 MB of activations per run, and took
// 62 ms that way against 35 ms with glibc told to keep its memory (MALLOC_MMAP_THRESHOLD_,
// MALLOC_TRIM_THRESHOLD_), measured side by side on a 2-core AVX-512 guest. ONNX Runtime keeps
// an arena for the same reason. Here ATen's CPU allocator is replaced for the process by one that
// keeps freed blocks of 64 KiB and more on free lists by size (rounded up to 4 KiB), so from the
// second run on a run's activations reuse the pages of the run before. Smaller blocks go to
// glibc, which reuses those without faults. The cache holds at most a quarter of physical memory;
// a block freed beyond that goes back to the system. It never shrinks otherwise: a benchmark's
// process runs one model at one shape, and its peak resident memory is the same either way.

#include "engine/torch/host_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace plaster::engine::torch_engine {
namespace {

constexpr size_t kAlignment = 64;       // what ATen's own allocator guarantees
constexpr size_t kSmallest = 64 << 10;  // below this, glibc's reuse is good enough
constexpr size_t kGranule = 4 << 10;    // sizes round up to whole pages

size_t CacheLimit() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return size_t{1} << 30;
  return static_cast<size_t>(pages) * static_cast<size_t>(page) / 4;
}

class CachingAllocator final : public c10::Allocator {
 public:
  CachingAllocator() : limit_(CacheLimit()) {}

  c10::DataPtr allocate(size_t n) const override {
    void* p = Take(n);
    return {p, p, &Release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &Release; }

 private:
  static void Release(void* p);

  void* Take(size_t n) const {
    if (n == 0) n = 1;
    const size_t size = n < kSmallest ? n : (n + kGranule - 1) / kGranule * kGranule;
    if (size >= kSmallest) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        in_use_[p] = size;
        return p;
      }
    }
    void* p = nullptr;
    if (::posix_memalign(&p, kAlignment, size) != 0 || p == nullptr) throw std::bad_alloc();
    if (size >= kSmallest) {
      std::lock_guard<std::mutex> lock(mutex_);
      in_use_[p] = size;
    }
    return p;
  }

  void Give(void* p) const {
    if (p == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = in_use_.find(p);
      if (it != in_use_.end()) {
        const size_t size = it->second;
        in_use_.erase(it);
        if (cached_ + size <= limit_) {
          free_[size].push_back(p);
          cached_ += size;
          return;
        }
      }
    }
    std::free(p);  // a small block, or one the cache has no room for
  }

  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;  // by rounded size
  mutable std::unordered_map<void*, size_t> in_use_;             // large blocks handed out
  mutable size_t cached_ = 0;
  const size_t limit_;
};

CachingAllocator& Cache() {
  static auto* allocator = new CachingAllocator();  // never destroyed: tensors outlive statics
  return *allocator;
}

void CachingAllocator::Release(void* p) { Cache().Give(p); }

}  // namespace

void InstallCachingHostAllocator() {
  static std::once_flag once;
  // Priority 1 outranks ATen's own registration (0). Tensors allocated before keep their own
  // deleter, so the switch is safe at any time.
  std::call_once(once, [] { c10::SetCPUAllocator(&Cache(), 1); });
}

}  // namespace plaster::engine::torch_engine
