#pragma once
/// The R letter in `plaster evaluate` (Note [Learning in evaluate] in learning_letter.cpp): each
/// case's child trains the model at the case's engine, precision, batch and threads, and
/// reports training samples/s; with --train-data and --target-accuracy, time-to-accuracy on the
/// case's --data.

#include <cstdint>
#include <string>

#include "engine/engine.h"
#include "evaluate/accuracy_letter.h"
#include "evaluate/case_record.h"
#include "evaluate/sweep.h"
#include "model/model.h"

namespace plaster::evaluate {

/// Measures R within `budget_ns` and adds its metrics to `record`, setting the letter. A
/// configuration the engine cannot train (a precision, an operator without gradients) leaves R
/// unavailable with the engine's reason; it never fails the case. `model_source` and `seed` are
/// the case's.
void MeasureLearningLetter(const std::string& model_source, const CaseConfig& config,
                           const CaseData& d, const model::Model& m, const engine::Engine& eng,
                           uint64_t seed, int64_t budget_ns, CaseRecord& record);

}  // namespace plaster::evaluate
