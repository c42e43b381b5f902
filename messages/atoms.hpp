#pragma once

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/types.hpp"

namespace fl {

/// One frame of wire bytes between two processes: the only registered
/// message type (messages/system_config.cpp registers it in every process).
struct wire_frame {
  byte_buffer bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_frame& x) {
  // vector<uint8_t> is serialised by CAF as one memcpy.
  return f(caf::meta::type_name("fl::wire_frame"), x.bytes);
}

// Every atom used between actors (text <= 10 characters).
using frame_atom = caf::atom_constant<caf::atom("fl_frame")>;     // wire_frame
using send_atom = caf::atom_constant<caf::atom("fl_send")>;       // to a peer
using joined_atom = caf::atom_constant<caf::atom("fl_joined")>;   // peer admitted
using lost_atom = caf::atom_constant<caf::atom("fl_lost")>;       // peer gone
using deliver_atom = caf::atom_constant<caf::atom("fl_deliver")>; // from wire
using connect_atom = caf::atom_constant<caf::atom("fl_connect")>;
using connected_atom = caf::atom_constant<caf::atom("fl_conn_ok")>;
using tick_atom = caf::atom_constant<caf::atom("fl_tick")>;
using deadline_atom = caf::atom_constant<caf::atom("fl_dline")>;
using done_atom = caf::atom_constant<caf::atom("fl_done")>;
using status_atom = caf::atom_constant<caf::atom("fl_status")>;
using stop_atom = caf::atom_constant<caf::atom("fl_stop")>;
using retry_atom = caf::atom_constant<caf::atom("fl_retry")>;
using start_atom = caf::atom_constant<caf::atom("fl_start")>;
using client_eval_deadline_atom = caf::atom_constant<caf::atom("fl_cedl")>;
// The aggregation actor's protocol (actors/interfaces.hpp).
using agg_reset_atom = caf::atom_constant<caf::atom("fl_areset")>;
using agg_begin_atom = caf::atom_constant<caf::atom("fl_abegin")>;
using agg_fold_atom = caf::atom_constant<caf::atom("fl_afold")>;
using agg_final_atom = caf::atom_constant<caf::atom("fl_afinal")>;
using agg_mix_atom = caf::atom_constant<caf::atom("fl_amix")>;
using agg_apply_atom = caf::atom_constant<caf::atom("fl_aapply")>;
using agg_control_atom = caf::atom_constant<caf::atom("fl_actrl")>;
using checkpoint_atom = caf::atom_constant<caf::atom("fl_ckpt")>;

} // namespace fl
