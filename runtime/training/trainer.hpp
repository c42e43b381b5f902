#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/train_metrics.hpp"
#include "runtime/core/model_layout.hpp"
#include "runtime/core/span.hpp"

namespace fl {

/// The local hyper-parameters of one fit (from [training] in the config).
struct fit_config {
  int64_t epochs = 1;
  int64_t batch_size = 32;
  double lr = 0.05;
  double momentum = 0;
  double weight_decay = 0;
  double prox_mu = 0; ///< FedProx: adds mu/2 * ||w - w_global||^2 to the loss
};

/// What a trainer needs for one fit: the global model to start from, the
/// client's data (indices into the trainer's training set) and a seed.
struct fit_input {
  span<const float> global;
  std::shared_ptr<const void> global_owner; ///< keeps `global` alive
  std::shared_ptr<const std::vector<int64_t>> samples;
  uint64_t seed = 0;
  fit_config config;
};

/// The result of one fit: the trained parameters (owned, so they can travel
/// to the aggregator without a copy) and the metrics.
struct fit_output {
  std::shared_ptr<std::vector<float>> params;
  uint64_t num_samples = 0;
  train_metrics metrics;
};

/// The result of evaluating a model on a trainer's test set.
struct eval_output {
  uint64_t num_samples = 0;
  double loss = 0;
  double accuracy = 0;
};

/// Trains and evaluates one model. An embedding application implements this
/// to plug in its own model and data. A trainer is used by ONE thread at a
/// time (the training pool gives each worker its own instance), so it may
/// keep a model, an optimizer and scratch buffers between calls.
class trainer {
public:
  virtual ~trainer() = default;

  /// The flat layout of the model this trainer trains.
  virtual const model_layout& layout() const = 0;

  /// Loads `in.global`, trains on `in.samples`, returns the new parameters.
  /// Errors: `size_mismatch` if the global model has the wrong size; any
  /// trainer-specific failure.
  virtual caf::expected<fit_output> fit(const fit_input& in) = 0;

  /// Evaluates `params` on the trainer's test data.
  /// Errors: `size_mismatch`; `not_implemented` if it has no test data.
  virtual caf::expected<eval_output> evaluate(span<const float> params) = 0;

  /// The initial global model (seeded); the server starts from it.
  virtual std::vector<float> initial_params(uint64_t seed) = 0;
};

/// Makes one trainer per training worker.
using trainer_factory = std::function<std::unique_ptr<trainer>()>;

} // namespace fl
