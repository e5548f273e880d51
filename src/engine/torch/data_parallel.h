#pragma once
/// Data-parallel training on PyTorch's distributed backend, c10d (Note [Data parallelism] in
/// data_parallel.cpp): a Gloo process group met through a TCPStore, gradients all-reduced in
/// buckets while the backward pass still runs. The c10d and Gloo headers stay in the .cpp.

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "engine/trainer.h"

namespace plaster::engine::torch_engine {

class DataParallel {
 public:
  /// Joins the process group (made once per process and kept for later trainers, as --runs
  /// makes them). plaster::Error when the rendezvous fails within its timeout.
  explicit DataParallel(const ParallelOptions& options);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const;
  int world() const;

  /// Rank 0's values of `tensors` copied into every rank's (in place), so all start identical.
  void Broadcast(const std::vector<at::Tensor>& tensors);
  /// Hooks `weights` (leaves that require gradients) so that each bucket of their gradients is
  /// all-reduced as soon as the backward pass has produced all of it.
  void Attach(const std::vector<at::Tensor>& weights);

  /// After the forward pass: starts averaging `statistics` (BatchNormalization's running ones,
  /// updated from this rank's batch), the loss and the stop flag over the ranks.
  void BeginStep(const std::vector<at::Tensor>& statistics, double loss, bool stop);
  /// After the backward pass: waits for every bucket, puts the averaged gradients in the
  /// weights' .grad and the averaged statistics in place. Returns the mean loss over the ranks
  /// and whether any rank asked to stop. plaster::Error naming the lost rank's failure.
  Trainer::StepResult EndStep();

  std::vector<double> AllGather(double value);
  double wait_seconds() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace plaster::engine::torch_engine
