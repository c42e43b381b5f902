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
//   out: (deliver_atom, envelope{welcome|activation|exit}) to member routes
//
// client (actors/client.hpp)
//   in : (deliver_atom, envelope{welcome|activation|exit|error})
//        (lost_atom, std::string node_id, caf::error)   upstream gone
//   out: (deliver_atom, envelope{join|update}) to its upstream
//   uses: training pool: request(fit_input) -> fit_output
//
// training worker (actors/training_pool.hpp)
//   in : fit_input -> fit_output | error; eval_input -> eval_output | error
//
// downstream connector (actors/downstream_connector.hpp), published
//   in : (frame_atom, wire_frame) from remote upstream connectors
//        (deliver_atom, envelope) from its owner, for envelope.target
//   out: (deliver_atom, envelope) and (lost_atom, id, error) to its owner
//
// upstream connector (actors/upstream_connector.hpp)
//   in : (deliver_atom, envelope) from local nodes (join registers them)
//        (frame_atom, wire_frame) from the remote downstream connector
//   out: (deliver_atom, envelope) to the local node named by target

#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "messages/atoms.hpp"
#include "messages/types.hpp"
#include "runtime/trainer.hpp"

namespace fl {

/// Evaluate `params` on the worker's test set (server-side evaluation).
struct eval_input {
  std::shared_ptr<const std::vector<float>> params;
};

} // namespace fl

// In-process only (see messages/types.hpp for the reasoning).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::fit_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::fit_output)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::eval_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::eval_output)
