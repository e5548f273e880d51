// Note [Data parallelism]: `plaster learn --nproc N` (and --nnodes) trains on PyTorch's
// distributed backend, c10d, as PyTorch's DistributedDataParallel does, in C++:
// - Rendezvous: rank 0 listens on a c10d TCPStore at the master address; the others connect to
//   it. Over the store they form a ProcessGroupGloo whose collectives run on Gloo's TCP
//   transport, bound to the local address that routes to the master (the loopback for local
//   ranks). One group per process, kept for every trainer it makes (--runs).
// - Start: rank 0's weights and statistics are broadcast, so every replica starts identical.
// - Each step, each rank runs forward and backward on its own share of the global batch. A hook
//   on each weight copies its gradient into a flat bucket as soon as autograd has produced it;
//   a bucket that is complete is all-reduced at once (asynchronously, while the backward pass
//   goes on with earlier layers). Buckets hold the weights in reverse order (the order their
//   gradients appear), the first one up to 1 MiB so communication starts early, the others up
//   to 25 MiB (DistributedDataParallel's defaults), and they are launched strictly in order, so
//   every rank issues the same collectives in the same sequence.
// - After the backward pass each bucket is waited for, divided by the number of ranks and
//   copied into the weights' gradients: the mean of the ranks' mean-loss gradients, which is
//   the gradient of the mean loss over the global batch. The optimizer then makes the same
//   update on every rank, from the same bytes (Gloo's ring all-reduce gives every rank the same
//   result), so the weights stay bit-identical; learn checks a digest of them at the end.
// - One more all-reduce per step, started right after the forward pass, averages the loss, the
//   stop flag (Ctrl-C on any rank stops every rank after the same step) and BatchNormalization's
//   running statistics. Each rank normalizes by its own share's statistics (as PyTorch's DDP
//   without SyncBatchNorm); the running statistics are averaged, not taken from rank 0 as DDP's
//   broadcast_buffers does, so their running mean moves as a single process's would.
// - A collective that does not complete within --timeout is an error naming it; a rank that
//   dies closes its sockets, and the others fail at once ("connection reset by peer").

#include "engine/torch/data_parallel.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/error.h"

namespace plaster::engine::torch_engine {
namespace {

constexpr size_t kFirstBucketBytes = 1 << 20;
constexpr size_t kBucketBytes = 25 << 20;
// Waiting for every rank to join: generous, since the ranks of other hosts may start later.
constexpr std::chrono::seconds kRendezvousTimeout{120};

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The local IPv4/IPv6 address from which `host` is reached (a UDP "connection" sends nothing,
// it only picks the route), so Gloo listens where the other ranks can reach it.
std::string LocalAddressTowards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  PLASTER_CHECK(rc == 0 && found != nullptr, "--master {}: cannot resolve it: {}", host,
                gai_strerror(rc));
  std::string address;
  const int fd = socket(found->ai_family, SOCK_DGRAM, 0);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_storage local{};
    socklen_t length = sizeof(local);
    char text[INET6_ADDRSTRLEN] = {};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
      const void* raw = local.ss_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr);
      if (inet_ntop(local.ss_family, raw, text, sizeof(text)) != nullptr) address = text;
    }
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  PLASTER_CHECK(!address.empty(), "--master {}: no local address routes to it", host);
  return address;
}

struct Group {
  ParallelOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

// Note [Data parallelism]: one process group per process.
c10::intrusive_ptr<c10d::ProcessGroupGloo> JoinGroup(const ParallelOptions& o) {
  static std::mutex mutex;
  static std::unique_ptr<Group> group;
  std::lock_guard<std::mutex> lock(mutex);
  if (group) {
    const ParallelOptions& g = group->options;
    PLASTER_CHECK(g.rank == o.rank && g.world == o.world &&
                      g.master_address == o.master_address && g.master_port == o.master_port,
                  "data parallel: this process already belongs to another process group");
    return group->pg;
  }
  PLASTER_CHECK(o.world >= 2 && o.rank >= 0 && o.rank < o.world,
                "data parallel: rank {} of {} is not a rank", o.rank, o.world);
  PLASTER_CHECK(o.master_port > 0 && o.master_port < 65536, "--master port {}: not a port",
                o.master_port);
  PLASTER_CHECK(o.timeout_s > 0, "--timeout {}: must be positive", o.timeout_s);
  auto g = std::make_unique<Group>();
  g->options = o;
  const std::string local = LocalAddressTowards(o.master_address, o.master_port);
  try {
    c10d::TCPStoreOptions store;
    store.port = static_cast<uint16_t>(o.master_port);
    store.isServer = o.rank == 0;
    store.numWorkers = static_cast<size_t>(o.world);
    store.waitWorkers = true;
    store.timeout = kRendezvousTimeout;
    g->store = c10::make_intrusive<c10d::TCPStore>(o.master_address, store);
    auto options = c10d::ProcessGroupGloo::Options::create(
        std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)));
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(local));
    g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, o.rank, o.world, options);
  } catch (const std::exception& e) {
    Fail("data parallel: could not join the {} ranks at {}:{} within {} s: {}", o.world,
         o.master_address, o.master_port, kRendezvousTimeout.count(), OneLine(e.what()));
  }
  group = std::move(g);
  return group->pg;
}

}  // namespace

struct DataParallel::State {
  ParallelOptions options;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;

  struct Slot {
    at::Tensor weight;
    size_t bucket = 0;
    int64_t offset = 0;  // in the bucket's flat buffer, in elements
    bool got = false;    // its gradient arrived this step
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> slots;
    size_t pending = 0;  // gradients still to arrive this step
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  size_t next = 0;  // the next bucket to launch (they go strictly in order)

  std::vector<at::Tensor> statistics;
  at::Tensor control;  // statistics, loss, stop
  c10::intrusive_ptr<c10d::Work> control_work;
  double waited = 0;

  // Waits for `work`, turning a lost rank into one line.
  void Wait(c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      Fail("data parallel: lost the other ranks while {} (a rank died, or did not answer "
           "within --timeout {:g} s): {}",
           what, options.timeout_s, OneLine(e.what()));
    }
    work.reset();
  }

  void Launch(size_t b) {
    Bucket& bucket = buckets[b];
    for (size_t s : bucket.slots) {
      if (!slots[s].got) {
        bucket.flat.narrow(0, slots[s].offset, slots[s].weight.numel()).zero_();
      }
    }
    std::vector<at::Tensor> tensors = {bucket.flat};
    bucket.work = pg->allreduce(tensors);
  }

  void OnGradient(size_t s, const at::Tensor& grad) {
    Slot& slot = slots[s];
    Bucket& bucket = buckets[slot.bucket];
    bucket.flat.narrow(0, slot.offset, slot.weight.numel())
        .view(slot.weight.sizes())
        .copy_(grad);
    slot.got = true;
    if (--bucket.pending == 0) {
      while (next < buckets.size() && buckets[next].pending == 0) Launch(next++);
    }
  }
};

DataParallel::DataParallel(const ParallelOptions& options) : state_(std::make_unique<State>()) {
  state_->options = options;
  state_->pg = JoinGroup(options);
}

DataParallel::~DataParallel() = default;

int DataParallel::rank() const { return state_->options.rank; }
int DataParallel::world() const { return state_->options.world; }
double DataParallel::wait_seconds() const { return state_->waited; }

void DataParallel::Broadcast(const std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> flat;
  for (const at::Tensor& t : tensors) flat.push_back(t.detach().reshape({-1}));
  std::vector<at::Tensor> buffer = {at::cat(flat)};
  c10d::BroadcastOptions root;
  root.rootRank = 0;
  auto work = state_->pg->broadcast(buffer, root);
  state_->Wait(work, "receiving rank 0's initial weights");
  int64_t offset = 0;
  for (const at::Tensor& t : tensors) {
    t.detach().view({-1}).copy_(buffer[0].narrow(0, offset, t.numel()));
    offset += t.numel();
  }
}

void DataParallel::Attach(const std::vector<at::Tensor>& weights) {
  State& s = *state_;
  // Note [Data parallelism]: buckets in reverse order, the first one small.
  size_t bytes = 0;
  for (size_t k = weights.size(); k-- > 0;) {
    const size_t size = static_cast<size_t>(weights[k].numel()) * sizeof(float);
    const size_t cap = s.buckets.size() == 1 ? kFirstBucketBytes : kBucketBytes;
    if (s.buckets.empty() || (bytes > 0 && bytes + size > cap)) {
      s.buckets.emplace_back();
      bytes = 0;
    }
    State::Slot slot;
    slot.weight = weights[k];
    slot.bucket = s.buckets.size() - 1;
    slot.offset = static_cast<int64_t>(bytes / sizeof(float));
    s.buckets.back().slots.push_back(s.slots.size());
    s.slots.push_back(slot);
    bytes += size;
  }
  for (State::Bucket& bucket : s.buckets) {
    int64_t elements = 0;
    for (size_t k : bucket.slots) elements += s.slots[k].weight.numel();
    bucket.flat = at::zeros({elements}, at::kFloat);
  }
  for (size_t k = 0; k < s.slots.size(); ++k) {
    State* state = state_.get();
    s.slots[k].weight.register_hook([state, k](const at::Tensor& grad) {
      state->OnGradient(k, grad);
    });
  }
}

void DataParallel::BeginStep(const std::vector<at::Tensor>& statistics, double loss, bool stop) {
  State& s = *state_;
  at::NoGradGuard no_grad;
  if (!s.control.defined()) {
    int64_t elements = 2;
    for (const at::Tensor& t : statistics) elements += t.numel();
    s.control = at::zeros({elements}, at::kDouble);
    s.statistics = statistics;
  }
  int64_t offset = 0;
  for (const at::Tensor& t : s.statistics) {
    s.control.narrow(0, offset, t.numel()).copy_(t.reshape({-1}));
    offset += t.numel();
  }
  s.control[offset] = loss;
  s.control[offset + 1] = stop ? 1.0 : 0.0;
  std::vector<at::Tensor> tensors = {s.control};
  s.control_work = s.pg->allreduce(tensors);
  for (State::Bucket& bucket : s.buckets) bucket.pending = bucket.slots.size();
  for (State::Slot& slot : s.slots) slot.got = false;
  s.next = 0;
}

Trainer::StepResult DataParallel::EndStep() {
  State& s = *state_;
  at::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  // Weights that got no gradient this step (all ranks alike) complete their buckets now.
  while (s.next < s.buckets.size()) s.Launch(s.next++);
  s.Wait(s.control_work, "averaging the loss");
  const double world = s.options.world;
  Trainer::StepResult result;
  int64_t offset = 0;
  for (const at::Tensor& t : s.statistics) {
    t.view({-1}).copy_(s.control.narrow(0, offset, t.numel()) / world);
    offset += t.numel();
  }
  result.loss = s.control[offset].item<double>() / world;
  result.stop = s.control[offset + 1].item<double>() > 0;
  for (State::Bucket& bucket : s.buckets) {
    s.Wait(bucket.work, "all-reducing gradients");
    bucket.flat.div_(world);
    for (size_t k : bucket.slots) {
      State::Slot& slot = s.slots[k];
      if (!slot.got) continue;  // as alone: no gradient, no update
      at::Tensor& grad = slot.weight.mutable_grad();
      const at::Tensor mean = bucket.flat.narrow(0, slot.offset, slot.weight.numel())
                                  .view(slot.weight.sizes());
      if (grad.defined()) {
        grad.copy_(mean);
      } else {
        grad = mean.clone();
      }
    }
  }
  s.waited += Seconds(std::chrono::steady_clock::now() - start);
  return result;
}

std::vector<double> DataParallel::AllGather(double value) {
  State& s = *state_;
  at::Tensor slots = at::zeros({s.options.world}, at::kDouble);
  slots[s.options.rank] = value;
  std::vector<at::Tensor> tensors = {slots};
  auto work = s.pg->allreduce(tensors);
  s.Wait(work, "exchanging figures with them");
  std::vector<double> out(static_cast<size_t>(s.options.world));
  for (int k = 0; k < s.options.world; ++k) out[static_cast<size_t>(k)] = slots[k].item<double>();
  return out;
}

}  // namespace plaster::engine::torch_engine
