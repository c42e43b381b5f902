#pragma once

// The message protocols between fedactor's actors, in one place. Actors are
// dynamically typed CAF actors (`caf::actor`); this header is the contract.
//
// Everywhere, protocol messages travel as `(deliver_atom, envelope)`: the
// envelope's `target` names the node it is for (empty = the receiver). A
// server talks to its clients the same way whether they live in its process
// (sim) or behind a downstream connector (remote): it only keeps, per node
// id, the actor to deliver to.
//
// server (actors/server.hpp)
//   in : (deliver_atom, envelope{join|update|eval_result|heartbeat|error})
//        (lost_atom, std::string node_id, caf::error reason)
//        down_msg of local members
//   out: (deliver_atom, envelope{welcome|activation|evaluate|exit}) to
//        member routes
//
// client (actors/client.hpp)
//   in : (deliver_atom, envelope{welcome|activation|model|evaluate|exit|error})
//        (lost_atom, std::string node_id, caf::error)   upstream gone
//   out: (deliver_atom, envelope{join|request|update|eval_result|error}) to
//        its upstream
//   uses: training pool: request(fit_input) -> fit_output,
//         request(client_eval_input) -> eval_output
//
// training worker (actors/training_pool.hpp)
//   in : fit_input -> fit_output | error; eval_input -> eval_output | error
//        client_eval_input -> eval_output | error
//
// downstream connector (actors/downstream_connector.hpp), published
//   in : (frame_atom, wire_frame) from remote upstream connectors
//        (deliver_atom, envelope) from its owner, for envelope.target
//   out: (deliver_atom, envelope) and (lost_atom, id, error) to its owner
//
// aggregation actor (actors/aggregation_actor.hpp): `aggregation_actor`
//   below is its typed interface; servers, the scheduler and the async server
//   hand it updates and never fold, copy or checkpoint a model themselves.
//
// relay (actors/relay.hpp): a scheduler in the async modes
//   in : (deliver_atom, envelope) from its members and from its upstream
//   out: members' joins, requests, updates upstream; replies down
//
// peer (actors/peer.hpp): decentralized mode, no server
//   in : (start_atom); (deliver_atom, envelope{gossip|request}) from
//        neighbors; (lost_atom, node_id, error); (status_atom) ->
//        peer_report; (stop_atom)
//   out: (deliver_atom, envelope{gossip}) to its route for each neighbor
//        (the neighbor itself, or peer links across processes);
//        peer_report to its monitor (actors/gossip_monitor.hpp)
//
// peer links (actors/peer_links.hpp): one upstream connector per neighbor
//
// upstream connector (actors/upstream_connector.hpp)
//   in : (deliver_atom, envelope) from local nodes (join registers them)
//        (frame_atom, wire_frame) from the remote downstream connector
//   out: (deliver_atom, envelope) to the local node named by target

#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/types.hpp"
#include "runtime/compression/encoded_tensor.hpp"
#include "runtime/training/trainer.hpp"

namespace fl {

/// One immutable version of a global model: shared by activations, model
/// replies, evaluation and checkpoints, never written after it is made.
/// `owner` keeps `values` alive (a buffer of the aggregation actor, or the
/// received frame of an activation).
struct model_state {
  uint64_t version = 0;
  span<const float> values;
  std::shared_ptr<const void> owner;
};

/// Evaluate `model` on the worker's test set (server-side evaluation).
struct eval_input {
  model_state model;
};

/// Evaluate `model` on a client's held-out samples (client-side
/// evaluation).
struct client_eval_input {
  model_state model;
  std::shared_ptr<const std::vector<int64_t>> samples;
};

/// What a running sum holds: the weighted mean of client parameters (sync
/// rounds, the scheduler; deltas are added to the base model first) or the
/// weighted mean of deltas (FedBuff, applied to the current model).
enum class sum_kind : uint8_t { params, delta };

/// One client update handed to the aggregation actor. Ownership of the
/// bytes passes with `owner`: the sender never touches them again, and
/// nothing is copied (`values` points into the received frame or the
/// trainer's output).
struct agg_update {
  std::string node_id;
  tensor_kind kind = tensor_kind::params;
  span<const float> values;
  std::shared_ptr<const void> owner;
  double weight = 0; ///< > 0: samples (FedAvg) or s(staleness) (FedBuff)
  /// A compressed delta (then `values` is empty and kind is delta): folded
  /// block by block, never decoded whole (unless a robust rule must keep
  /// it resident).
  std::shared_ptr<const encoded_tensor> packed;
  uint64_t local_steps = 0; ///< the client's optimizer steps (SCAFFOLD)
};

/// The reply to a fold: the update is in the sum.
struct fold_receipt {
  std::string node_id;
  double change_norm = 0; ///< L2 norm of its change to the base model
  bool clipped = false;   ///< scaled down to guard.clip_update_norm
};

/// The reply to finalize, mix and apply: whether the candidate became the
/// global model, and the global model now (the new one, or the previous one
/// when rejected).
struct agg_outcome {
  bool accepted = false;
  caf::error reason;                ///< why the candidate was rejected
  bool update_refused = false;      ///< mix: the update itself was refused
  uint64_t consecutive_rejections = 0;
  model_state model;
};

/// The aggregation actor's protocol. One per serving node; it owns the
/// aggregator backend (CPU or CUDA), the accumulator and the current global
/// model (or, in a scheduler, the round's base model), and guards every
/// candidate (runtime/aggregation/model_guard.hpp). Requests from one sender
/// are handled in order, so a finalize sees every fold sent before it.
///
///   reset(model_state)        the current model; starts an empty params sum
///   begin(sum_kind, budget)   discards the sum; starts an empty one whose
///                             updates' weights add up to at most budget
///                             (the backend's exact sum is normalised by
///                             it: same updates, same bits, any order)
///   fold(agg_update)          -> fold_receipt | error (size_mismatch,
///                                invalid_field, rejected_update, device)
///   finalize(scale)           -> agg_outcome: the round's combined model m
///                                (the params mean, or the plan's robust
///                                rule over the resident updates) gives the
///                                candidate x + scale (m - x), stepped by
///                                the plan's server optimizer; the sum
///                                restarts empty
///   control(node_id)          -> model_state: SCAFFOLD's correction
///                                c - c_i for that client
///   mix(agg_update, alpha)    -> agg_outcome: FedAsync, candidate =
///                                (1 - alpha) current + alpha update
///   apply(server_lr)          -> agg_outcome: FedBuff, candidate =
///                                current + server_lr * sum(w_i d_i) / K
///                                (K deltas folded); the sum restarts empty
///   checkpoint(round)         -> version written | io_error
using aggregation_actor = caf::typed_actor<
  caf::reacts_to<agg_reset_atom, model_state>,
  caf::reacts_to<agg_begin_atom, sum_kind, double>,
  caf::replies_to<agg_fold_atom, agg_update>::with<fold_receipt>,
  caf::replies_to<agg_final_atom, double>::with<agg_outcome>,
  caf::replies_to<agg_control_atom, std::string>::with<model_state>,
  caf::replies_to<agg_mix_atom, agg_update, double>::with<agg_outcome>,
  caf::replies_to<agg_apply_atom, double>::with<agg_outcome>,
  caf::replies_to<checkpoint_atom, uint64_t>::with<uint64_t>>;

} // namespace fl

// In-process only (see messages/types.hpp for the reasoning).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::fit_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::fit_output)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::eval_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::client_eval_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::eval_output)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::model_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::sum_kind)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::agg_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::fold_receipt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::agg_outcome)
