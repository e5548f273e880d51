#pragma once
/// ATen's CPU allocator for the process, replaced by one that keeps large freed blocks for reuse
/// (Note [Reused activation memory] in host_allocator.cpp).
///
/// Threading: thread-safe; installed once, before the first session compiles.

namespace plaster::engine::torch_engine {

/// Makes ATen allocate CPU tensors through the caching allocator from now on. Idempotent.
void InstallCachingHostAllocator();

}  // namespace plaster::engine::torch_engine
