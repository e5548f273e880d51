#pragma once
/// `plaster learn --nproc N [--nnodes M --node-rank K --master ADDR:PORT]`: starts this host's
/// ranks of a data-parallel run, as torchrun does (Note [Launching ranks] in launch.cpp). Each
/// rank is this same binary with the same arguments, told its place by the environment
/// (kRankVariable, ...); rank 0 prints the report.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/trainer.h"

namespace plaster::learn {

inline constexpr const char* kRankVariable = "PLASTER_RANK";
inline constexpr const char* kWorldVariable = "PLASTER_WORLD_SIZE";
inline constexpr const char* kLocalRankVariable = "PLASTER_LOCAL_RANK";
inline constexpr const char* kLocalWorldVariable = "PLASTER_LOCAL_WORLD_SIZE";
inline constexpr const char* kMasterVariable = "PLASTER_MASTER";  ///< ADDR:PORT
inline constexpr const char* kTimeoutVariable = "PLASTER_TIMEOUT";

struct LaunchOptions {
  int nproc = 1;      ///< ranks on this host
  int nnodes = 1;     ///< hosts
  int node_rank = 0;  ///< this host, from 0
  std::string master;  ///< ADDR:PORT of global rank 0; empty: loopback, a free port (one host)
  double timeout_s = 30;
};

/// "ADDR:PORT" (ADDR may be [v6]) → address and port; plaster::Error naming --master otherwise.
std::pair<std::string, int> ParseMaster(const std::string& text);

/// Starts this host's ranks and waits for them. Returns rank 0's exit status when every rank
/// ended well; otherwise a rank's failure goes to `err` (e.g. "rank 1 (pid 4242) was killed by
/// signal 9 (SIGKILL)") and the status is 2. A rank that fails gets the others --timeout (plus
/// a grace period) to stop on their own, then they are killed. Ctrl-C is passed to every rank
/// once, so they stop together after the same step.
int LaunchRanks(const LaunchOptions& o, const std::vector<std::string>& argv, std::ostream& err);

/// This process's place in a data-parallel run, read from the environment LaunchRanks sets;
/// nullopt when it is not one of its ranks. `local_world` receives the ranks on this host.
std::optional<engine::ParallelOptions> RankFromEnvironment(int* local_world);

}  // namespace plaster::learn
