#pragma once
/// The optimizer's decisions, apart from the measuring (Note [The optimizer's search] in
/// optimize.cpp): when a batch ladder stops, which configurations form the Pareto front of
/// accuracy against throughput, and which one is recommended. Pure functions over figures, so
/// that every rule is tested on its own.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace plaster::optimize {

/// One rung of a batch ladder (one engine, device, precision and thread count; batches
/// ascending): the case's single-stream p99 latency of one batch and its offline throughput.
struct Rung {
  int64_t batch = 1;
  bool passed = false;  ///< the case ended "passed" with both figures
  double p99_ms = 0;
  double samples_per_s = 0;
  std::string failure;  ///< the case's reason when it did not pass
  double inferences_per_joule = 0;  ///< E at the offline rate (0: none)
  bool energy_estimated = false;
};

/// A rung must beat the ladder's best throughput so far by this factor to count as a gain.
inline constexpr double kLadderGain = 1.03;

/// Why the ladder stops after its last rung, or nullopt to go on to the next batch size:
/// - the last case failed (a larger batch needs more memory and time, not less);
/// - its p99 is over the bound (a larger batch takes longer: every larger one is over too);
/// - the last two rungs each failed to raise the best throughput before them by kLadderGain
///   (the engine is saturated: a larger batch adds latency, not throughput).
std::optional<std::string> StopLadder(const std::vector<Rung>& rungs,
                                      std::optional<double> bound_ms);

/// What the recommendation maximises (--objective): offline samples/s, or inferences per joule
/// (the E letter's gross figure at the offline rate).
enum class Objective { kThroughput, kEnergy };
const char* ObjectiveName(Objective objective);
/// "throughput" or "energy"; plaster::Error naming --objective otherwise.
Objective ParseObjective(const std::string& text);

/// A measured configuration, for the front.
struct Point {
  std::string id;
  double accuracy = 0;          ///< the accuracy figure of its engine and precision
  bool higher_is_better = true; ///< false for an error (MSE)
  bool meets_accuracy = false;  ///< within --max-accuracy-drop of fp32
  double samples_per_s = 0;
  double p99_ms = 0;
  double inferences_per_joule = 0;  ///< 0: E has no figure for it
  bool energy_estimated = false;    ///< the figure is the TDP estimate's
};

/// The point's figure for the objective (higher is better; 0 when unknown).
double ObjectiveValue(const Point& p, Objective objective);

/// The indices of the points on the Pareto front among those whose p99 meets the bound (all
/// without one) and that have a figure for the objective: no other such point has both accuracy
/// and the objective at least as good and one of them better. Sorted by the objective, highest
/// first.
std::vector<size_t> ParetoFront(const std::vector<Point>& points, std::optional<double> bound_ms,
                                Objective objective = Objective::kThroughput);

/// The recommendation: the front's point with the most of the objective among those that meet
/// the accuracy target (ties: the better accuracy, then the lower latency); nullopt when none
/// does.
std::optional<size_t> Recommend(const std::vector<Point>& points, const std::vector<size_t>& front,
                                Objective objective = Objective::kThroughput);

}  // namespace plaster::optimize
