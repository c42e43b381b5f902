#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "messages/types.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/training/trainer.hpp"
#include "runtime/training/update_transforms.hpp"

namespace fl {

/// Everything one federated client is: an id, its data partition (indices
/// into the trainers' training set) and its local hyper-parameters. The
/// model itself lives in the training pool's workers, so a process can host
/// thousands of clients at the cost of their index lists.
struct client_settings {
  std::string id;
  std::shared_ptr<const std::vector<int64_t>> samples;
  /// The layout of the model it trains (announced at join: a server with
  /// another model refuses it).
  model_layout layout;
  fit_config fit;
  uint64_t seed = 0;
  /// Simulated slowness: the client reports its update only after
  /// (slowdown - 1) x its training time more (1 = no delay).
  double slowdown = 1;
  /// Held-out samples for client-side evaluation (Evaluate); none = the
  /// client answers Evaluate with an Error.
  std::shared_ptr<const std::vector<int64_t>> holdout;
  /// How its updates are compressed ("none": dense). The compressor and
  /// its error-feedback state live with the client actor.
  compression_settings compression;
  /// A simulated Byzantine client ("none": honest).
  byzantine_settings attack;
  /// Set when a host of virtual clients starts it for one task: it was
  /// joined and welcomed in this mode already, so it sends no Join and
  /// asks for no model when it starts.
  std::optional<federation_mode> welcomed_in;
  /// Its compressor when someone else keeps it between fits (a host of
  /// virtual clients); null = the client makes its own.
  std::shared_ptr<compressor> comp;
};

/// The Join of client `id` training on `num_samples` samples of a model of
/// `layout`.
join_msg client_join(const std::string& id, uint64_t num_samples,
                     const model_layout& layout);

/// The error a client ends with when upstream refuses its join with `e`
/// (layout_mismatch for another model, else unauthorized).
caf::error join_refusal(const error_msg& e);

/// The compressor client `s` uses (null for "none"), seeded by its id so
/// that a client's compression is the same wherever it runs.
std::shared_ptr<compressor> make_client_compressor(const client_settings& s);

/// Spawns a client: it joins `upstream` (a server, scheduler or upstream
/// connector). The Welcome's mode decides how it works: sync (passive: on
/// each Activation, train in `pool` and send an Update) or async/fedbuff
/// (active: Request a model, train, send an Update -- params, or the delta
/// in fedbuff -- and repeat). A failed fit is reported upstream at once as
/// an Error naming the client and round. The activation's configuration
/// (the strategy's instructions) overrides its own fit settings for that
/// fit, and a SCAFFOLD correction is added to every gradient. On Evaluate
/// it scores the model on its held-out samples and answers EvalResult.
/// It ends on Exit, when its upstream
/// is lost (with that error) or refuses its join (with the refusal).
caf::actor spawn_client(caf::actor_system& sys, client_settings s,
                        caf::actor upstream, caf::actor pool, loggers log);

} // namespace fl
