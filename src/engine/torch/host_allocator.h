#pragma once
/// ATen's CPU allocator for the process, replaced by one that keeps large freed blocks for reuse
/// (Note [Reused activation memory] in host_allocator.cpp).
///
/// Threading: thread-safe; installed once, before the first session compiles.

#include <cstddef>

namespace plaster::engine::torch_engine {

/// Makes ATen allocate CPU tensors through the caching allocator from now on. Idempotent.
void InstallCachingHostAllocator();

/// Bytes held in the cache (freed by ATen, kept for reuse), for tests and reports.
size_t CachedHostBytes();

}  // namespace plaster::engine::torch_engine
