#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/interfaces.hpp"
#include "actors/peer.hpp"
#include "runtime/gossip/mixing.hpp"
#include "runtime/training/synthetic_trainer.hpp"
#include "support/deterministic.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

using reports = std::shared_ptr<std::vector<peer_report>>;

/// A pool that trains in its own mailbox (the deterministic coordinator
/// runs it like any actor; the synthetic trainer is quick).
caf::behavior inline_pool(caf::event_based_actor*) {
  auto t = std::make_shared<synthetic_trainer>(test::synthetic_model_size);
  return {[t](fit_input& in) { return t->fit(in); }};
}

caf::behavior collecting_monitor(caf::event_based_actor*, reports got) {
  return {[got](peer_report& r) { got->push_back(std::move(r)); }};
}

struct fixture : test::deterministic_system {
  reports got = std::make_shared<std::vector<peer_report>>();
  caf::actor pool = sys.spawn(inline_pool);
  caf::actor monitor = sys.spawn(collecting_monitor, got);
  std::shared_ptr<std::vector<caf::actor>> routes
    = std::make_shared<std::vector<caf::actor>>();
  std::shared_ptr<const gossip::topology> topo;
  std::shared_ptr<const std::vector<float>> initial
    = std::make_shared<const std::vector<float>>(
      synthetic_trainer{test::synthetic_model_size}.initial_params(0));

  fixture(const std::string& topology, size_t n) {
    topo = std::make_shared<const gossip::topology>(
      *gossip::topology::make(topology, n));
  }

  peer_settings settings(size_t i, bool async, uint64_t rounds) {
    peer_settings s;
    s.index = i;
    s.topo = topo;
    s.asynchronous = async;
    s.rounds = rounds;
    s.neighbor_timeout_s = 5;
    s.max_staleness = 2;
    // Peers as synthetic clients 0, 10, 20, ...: targets far apart.
    s.client = test::synthetic_client(i * 10);
    s.initial = initial;
    return s;
  }

  /// Spawns peers for the listed indices (the others stay silent).
  void spawn(const std::vector<size_t>& which, bool async, uint64_t rounds) {
    routes->assign(topo->size(), caf::actor{});
    // Silent peers still need a route: an actor that drops everything.
    for (size_t i = 0; i < topo->size(); ++i)
      (*routes)[i] = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
        return {[](deliver_atom, envelope&) {}};
      });
    for (auto i : which)
      (*routes)[i] = spawn_peer(sys, settings(i, async, rounds),
                                [r = routes](size_t j) { return (*r)[j]; },
                                pool, monitor, logs.log());
    for (auto i : which)
      caf::anon_send((*routes)[i], start_atom::value);
    run();
  }

  /// The reports of round (or step) r, by peer.
  std::map<size_t, peer_report> at(uint64_t r) {
    std::map<size_t, peer_report> xs;
    for (const auto& x : *got)
      if (x.step == r)
        xs[x.index] = x;
    return xs;
  }

  /// Fires the earliest pending timer only, then delivers until quiet.
  void fire_one() {
    sched.trigger_timeout();
    run();
  }

  /// Peer i's model had it trained alone `steps` times (seeds as a
  /// peer's).
  std::vector<float> trained_alone(size_t i, uint64_t steps) {
    synthetic_trainer t{test::synthetic_model_size};
    auto w = *initial;
    auto s = settings(i, false, steps);
    for (uint64_t k = 1; k <= steps; ++k) {
      fit_input in;
      in.global = w;
      in.samples = s.client.samples;
      in.seed = s.client.seed * 1000003u + k;
      in.config = s.client.fit;
      w = *t.fit(in)->params;
    }
    return w;
  }

  /// Consensus distance of the peers had each trained alone `steps` times.
  double consensus_alone(size_t n, uint64_t steps) {
    std::vector<std::vector<float>> models;
    for (size_t i = 0; i < n; ++i)
      models.push_back(trained_alone(i, steps));
    std::vector<span<const float>> views(models.begin(), models.end());
    return gossip::consensus_of(views).distance;
  }

  double consensus_at(uint64_t r) {
    std::vector<span<const float>> views;
    for (auto& [i, x] : at(r))
      views.emplace_back(x.model.values);
    return gossip::consensus_of(views).distance;
  }

  gossip_msg share(const std::string& from, uint64_t step,
                   std::shared_ptr<std::vector<float>> values,
                   double weight = 1) {
    gossip_msg m;
    m.node_id = from;
    m.step = step;
    m.weight = weight;
    m.model.layout = test::synthetic_layout();
    m.model.values = span<const float>{*values};
    m.model.owner = values;
    return m;
  }
};

} // namespace

TEST_CASE("peer ids name an index below the number of peers") {
  CHECK(peer_id(12) == "peer-12");
  CHECK(peer_index("peer-12", 16) == 12u);
  CHECK_FALSE(peer_index("peer-16", 16));
  CHECK_FALSE(peer_index("peer-012", 16));
  CHECK_FALSE(peer_index("peer-", 16));
  CHECK_FALSE(peer_index("client-1", 16));
  CHECK_FALSE(peer_index("peer-99999999999999999999", 16));
}

TEST_CASE("synchronous gossip: every peer runs every round and the peers "
          "draw together") {
  fixture f{"ring", 4};
  f.spawn({0, 1, 2, 3}, false, 6);
  REQUIRE(f.got->size() == 24);
  for (uint64_t r = 1; r <= 6; ++r)
    CHECK(f.at(r).size() == 4);
  // Each peer trains towards its own target, so they never agree exactly;
  // averaging keeps them much closer than training alone would.
  CHECK(f.consensus_at(6) < 0.5 * f.consensus_alone(4, 6));
  for (auto& [i, x] : f.at(6)) {
    CHECK(x.finished);
    CHECK(x.models_sent == 6 * 2); // two out-neighbors on a ring of 4
    CHECK(x.neighbors_missed == 0);
    CHECK(x.bytes_sent == 12 * test::synthetic_model_size * sizeof(float));
  }
}

TEST_CASE("synchronous gossip: a silent neighbor delays a round only until "
          "its deadline, then is averaged out") {
  fixture f{"ring", 4};
  f.spawn({0, 1, 2}, false, 5); // peer 3 never starts
  // Peers 0 and 2 wait for 3; peer 1 (in-neighbors 0 and 2) does not.
  CHECK(f.at(1).size() == 1);
  CHECK(f.at(2).empty());
  f.fire_one(); // peer 0's round-1 deadline
  f.fire_one(); // peer 1's (stale)
  f.fire_one(); // peer 2's
  CHECK(f.at(1).size() == 3);
  for (int guard = 0; guard < 20 && f.at(5).size() < 3; ++guard)
    f.fire_one();
  // After two misses peer 3 is taken as gone: no more waiting.
  CHECK(f.at(5).size() == 3);
  auto last = f.at(5);
  CHECK(last[0].neighbors_missed == 2);
  CHECK(last[2].neighbors_missed == 2);
  CHECK(last[1].neighbors_missed == 0);
  CHECK(f.logs.text().find("peer-3 sent nothing for 2 rounds")
        != std::string::npos);
}

TEST_CASE("synchronous gossip: hostile shares are dropped") {
  fixture f{"ring", 4};
  f.spawn({0}, false, 3); // peer 0 alone; its neighbors 1 and 3 are us
  auto p0 = (*f.routes)[0];
  auto good = std::make_shared<std::vector<float>>(
    test::synthetic_model_size, 0.5f);
  auto small = std::make_shared<std::vector<float>>(10, 0.5f);
  auto other = f.share("peer-1", 1, good);
  other.model.layout = model_layout{};
  other.model.layout.add("w", {1000});
  caf::anon_send(p0, deliver_atom::value, envelope{"peer-0", other});
  // Not an in-neighbor, a stranger, the wrong size, a far-future round,
  // and a share sent as peer 0 itself.
  caf::anon_send(p0, deliver_atom::value,
                 envelope{"peer-0", f.share("peer-2", 1, good)});
  caf::anon_send(p0, deliver_atom::value,
                 envelope{"peer-0", f.share("intruder", 1, good)});
  auto wrong_size = f.share("peer-1", 1, small);
  wrong_size.model.layout = test::synthetic_layout(); // claims 1000
  caf::anon_send(p0, deliver_atom::value, envelope{"peer-0", wrong_size});
  caf::anon_send(p0, deliver_atom::value,
                 envelope{"peer-0", f.share("peer-1", 1000, good)});
  caf::anon_send(p0, deliver_atom::value,
                 envelope{"peer-0", f.share("peer-0", 1, good)});
  caf::anon_send(p0, deliver_atom::value,
                 envelope{"peer-0", f.share("peer-1", 1, good, 5.0)});
  f.run();
  CHECK(f.at(1).empty()); // still waiting for 1 and 3
  auto log = f.logs.text();
  CHECK(log.find("peer-2 is not an in-neighbor") != std::string::npos);
  CHECK(log.find("unknown peer 'intruder'") != std::string::npos);
  CHECK(log.find("has 10 values, not 1000") != std::string::npos);
  CHECK(log.find("is of another model") != std::string::npos);
  CHECK(log.find("share of round 1000 from peer-1 dropped")
        != std::string::npos);
  CHECK(log.find("unknown peer 'peer-0'") != std::string::npos);
  CHECK(log.find("claims weight 5 (more than 4 peers hold)")
        != std::string::npos);
  // Round 1 completes with peer 1's honest share and peer 3's poisoned
  // one, which is refused for its distance; a duplicate is dropped.
  auto poison = std::make_shared<std::vector<float>>(
    test::synthetic_model_size, 1e4f);
  caf::anon_send(p0, deliver_atom::value,
                 envelope{"peer-0", f.share("peer-1", 1, good)});
  caf::anon_send(p0, deliver_atom::value,
                 envelope{"peer-0", f.share("peer-1", 1, good)});
  caf::anon_send(p0, deliver_atom::value,
                 envelope{"peer-0", f.share("peer-3", 1, poison)});
  f.run();
  REQUIRE(f.at(1).size() == 1);
  CHECK(f.at(1)[0].refused == 1);
  // Ring weights are 1/3 each; without peer 3 the row is renormalised:
  // (trained + honest) / 2, element by element.
  auto trained = f.trained_alone(0, 1);
  auto mixed = f.at(1)[0].model.values;
  REQUIRE(mixed.size() == trained.size());
  for (size_t k = 0; k < trained.size(); ++k)
    REQUIRE(mixed[k] == Approx((trained[k] + 0.5f) / 2).epsilon(1e-6));
  CHECK(f.logs.text().find("peer-3's model is") != std::string::npos);
  for (auto v : f.at(1)[0].model.values)
    REQUIRE(std::abs(v) < 10);
  CHECK(f.logs.text().find("a second share of round 1 from peer-1")
        != std::string::npos);
}

TEST_CASE("asynchronous push-sum: peers finish without barriers and agree") {
  fixture f{"exp2-one-peer", 4};
  f.spawn({0, 1, 2, 3}, true, 8);
  std::vector<span<const float>> views;
  size_t finished = 0;
  for (const auto& r : *f.got)
    if (r.finished) {
      ++finished;
      CHECK(r.refused == 0);
      views.emplace_back(r.model.values);
      CHECK(r.models_sent == 8); // one out-neighbor per iteration
    }
  CHECK(finished == 4);
  // Mixing pulls the peers together: far closer than training alone.
  CHECK(gossip::consensus_of(views).distance < 0.6 * f.consensus_alone(4, 8));
}

TEST_CASE("asynchronous push-sum: a peer waits at the staleness bound, then "
          "goes on without a silent neighbor") {
  fixture f{"ring", 3};
  f.spawn({0, 1}, true, 10); // peer 2 never starts
  // max_staleness 2: peers 0 and 1 stop after 3 iterations ahead of 2.
  CHECK(f.got->empty()); // nobody finished
  f.expire_timers();     // the bound's wait ends: peer 2 is gone
  f.run();
  size_t finished = 0;
  for (const auto& r : *f.got)
    finished += r.finished ? 1 : 0;
  CHECK(finished == 2);
  CHECK(f.logs.text().find("peer-2 is more than 2 iterations behind")
        != std::string::npos);
}
