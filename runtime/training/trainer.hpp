#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/compression/encoded_tensor.hpp"
#include "runtime/core/config_map.hpp"
#include "runtime/core/errors.hpp"
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
struct fit_output;

struct fit_input {
  span<const float> global;
  std::shared_ptr<const void> global_owner; ///< keeps `global` alive
  std::shared_ptr<const std::vector<int64_t>> samples;
  uint64_t seed = 0;
  /// The client's settings with the strategy's instructions applied.
  fit_config config;
  /// The strategy's instructions as sent (custom trainers read their own
  /// keys here).
  config_map instructions;
  /// SCAFFOLD: c - c_i, added to every gradient; empty = none.
  span<const float> control;
  std::shared_ptr<const void> control_owner; ///< keeps `control` alive
  /// Runs on the training worker's thread after a successful fit, before
  /// the output travels (attack simulation, compression): heavy work that
  /// must stay out of the client's mailbox. May replace out.params.
  std::function<caf::error(const fit_input&, fit_output&)> finish;
};

/// The result of one fit: the trained parameters (owned, so they can travel
/// to the aggregator without a copy) and the metrics; or, after a `finish`
/// that compressed it, the delta to the global model as `packed`.
struct fit_output {
  std::shared_ptr<std::vector<float>> params;
  std::shared_ptr<const encoded_tensor> packed;
  uint64_t num_samples = 0;
  train_metrics metrics;
  config_map extra; ///< the trainer's own metrics, sent with the update
};

/// Applies a strategy's instructions to a client's settings: "epochs",
/// "batch_size", "lr", "momentum", "weight_decay" and "prox_mu" (other keys
/// are left to custom trainers). Errors: `invalid_field` naming a value of
/// the wrong type or out of range.
caf::expected<fit_config> apply_instructions(fit_config base,
                                             const config_map& m);

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

  /// Evaluates `params` on samples of the training set (a client's held-out
  /// split, for client-side evaluation). Errors: `size_mismatch`,
  /// `invalid_field` (no samples); `not_implemented` by default.
  virtual caf::expected<eval_output>
  evaluate_samples(span<const float> params,
                   const std::vector<int64_t>& samples) {
    (void) params;
    (void) samples;
    return make_fl_error(errc::not_implemented,
                         "this trainer has no client-side evaluation");
  }

  /// The initial global model (seeded); the server starts from it.
  virtual std::vector<float> initial_params(uint64_t seed) = 0;
};

/// Makes one trainer per training worker.
using trainer_factory = std::function<std::unique_ptr<trainer>()>;

} // namespace fl
