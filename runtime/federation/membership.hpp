#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "runtime/aggregation/client_info.hpp"
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

/// What the membership's bulk operations have cost so far: entries visited
/// by scans and sorts of the live set. Tests check by these counts that no
/// path scans every member per client (a million members join, leave and
/// are sampled in linear time).
struct membership_costs {
  uint64_t visited = 0; ///< entries read by routed_by() and view rebuilds
  uint64_t rebuilds = 0; ///< times the sorted view of live members was made
};

/// The members of one serving actor (server, async server, scheduler):
/// admission (protocol, id uniqueness, model layout), losses and re-joins.
/// A plain class with no actor inside: the actor owns one and tells it what
/// happened. Lookups, joins and losses are O(1) on average; the count of
/// live members and their samples are kept, never recounted; the members of
/// one route are indexed by route, so losing a connector (or a host of
/// virtual clients) costs its own members only; the sorted list of live
/// members is made once and reused until the live set changes.
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

  /// Whether any member ever joined through the actor at `addr` (a route
  /// needs watching once, not once per member it carries).
  bool knows_route(const caf::actor_addr& addr) const {
    return by_route_.count(addr) > 0;
  }

  /// The live member `id`, or null.
  const member_info* find(const std::string& id) const;

  /// Ids of the live members routed through the actor at `addr` (one local
  /// client, or every client behind one connector), in id order. Costs the
  /// number of members that route ever carried, not the whole membership.
  std::vector<std::string> routed_by(const caf::actor_addr& addr) const;

  /// The live members in id order (deterministic sampling). Made when the
  /// live set changed since the last call, else the same list.
  const std::vector<client_info>& alive_view() const;

  /// Ids of all live members, in id order.
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
  const membership_costs& costs() const noexcept { return costs_; }

private:
  struct entry {
    std::string id;
    member_info info;
  };

  void set_alive(entry& e, bool alive);

  model_layout layout_;
  uint32_t protocol_;
  /// Members by slot; a slot is never reused (a member that leaves stays,
  /// lost, and re-joins into its slot).
  std::vector<entry> members_;
  std::unordered_map<std::string, uint32_t> slot_of_;
  /// Slots that joined through each route (a slot whose route changed
  /// since is skipped, and dropped, when that route is read).
  mutable std::unordered_map<caf::actor_addr, std::vector<uint32_t>>
    by_route_;
  size_t alive_ = 0;
  uint64_t alive_samples_ = 0;
  mutable std::vector<client_info> view_;
  mutable bool view_stale_ = true;
  mutable membership_costs costs_;
};

} // namespace fl
