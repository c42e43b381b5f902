#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "runtime/core/model_layout.hpp"

namespace fl {

/// What a node says about itself when it joins (the validated Join fields a
/// serving actor needs).
struct join_request {
  std::string node_id;
  uint32_t protocol = 0;
  uint64_t num_samples = 0;
  uint64_t layout_hash = 0; ///< of the model the joiner trains
  uint64_t numel = 0;       ///< its element count
};

/// Why a join was refused, or how it was admitted.
enum class join_outcome {
  admitted,        ///< a new member
  rejoined,        ///< a known id came back (new route or after a loss)
  bad_protocol,    ///< another protocol version
  id_in_use,       ///< another live route holds the id
  layout_mismatch, ///< the joiner trains another model
};

/// One admitted node.
struct member_info {
  caf::actor route;         ///< where its messages go (client or connector)
  uint64_t num_samples = 0; ///< announced at join: the bound for updates
  bool alive = true;
};

/// The members of one serving actor (server, async server, scheduler):
/// admission (protocol, id uniqueness, model layout), losses and re-joins.
/// A plain class with no actor inside: the actor owns one and tells it what
/// happened. Lookups, joins and losses are O(1) on average; the count of
/// live members is kept, never recounted.
class membership {
public:
  /// `layout` is the model every member must train; `protocol` the wire
  /// protocol version spoken.
  membership(model_layout layout, uint32_t protocol);

  /// Admits `req` reached through `route`, or says why not. A known id may
  /// re-join through the same route at any time, and through another route
  /// once the old one was lost.
  join_outcome join(const join_request& req, const caf::actor& route);

  /// A human-readable reason for a refused join (for the Error reply).
  std::string explain(join_outcome x, const join_request& req) const;

  /// Marks `id` lost. Returns false if it was unknown or already lost.
  bool lose(const std::string& id);

  /// The live member `id`, or null.
  const member_info* find(const std::string& id) const;

  /// Ids of the live members routed through the actor at `addr` (one local
  /// client, or every client behind one connector).
  std::vector<std::string> routed_by(const caf::actor_addr& addr) const;

  /// Ids of all live members, in id order (deterministic sampling).
  std::vector<std::string> alive_ids() const;

  /// The most samples the live member `id` may claim in one update: what it
  /// announced at join, capped by `max_samples` when that is not 0; 0 for
  /// an unknown id.
  uint64_t sample_limit(const std::string& id, uint64_t max_samples) const;

  /// The weight budget of a round of `ids`: the sum of their sample_limit(),
  /// each capped at `budget_spread` times the median limit (>= 1, as a
  /// double). The aggregation actor normalises its exact sum by it and
  /// refuses an update weighing more, so one member announcing an absurd
  /// sample count can neither take the round nor, by inflating the budget,
  /// erase the precision of the others' updates.
  double sample_budget(const std::vector<std::string>& ids,
                       uint64_t max_samples) const;

  /// How many times the median announced samples one member may weigh.
  static constexpr double budget_spread = 1024;

  /// Sum of the samples the live members announced.
  uint64_t alive_samples() const;

  size_t alive() const noexcept { return alive_; }
  size_t size() const noexcept { return members_.size(); }
  const model_layout& layout() const noexcept { return layout_; }

private:
  model_layout layout_;
  uint32_t protocol_;
  std::unordered_map<std::string, member_info> members_;
  size_t alive_ = 0;
};

} // namespace fl
