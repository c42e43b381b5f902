#include "cli/gossip_setup.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <caf/send.hpp>

#include "actors/training_pool.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/storage/manifest.hpp"

namespace fl::cli {

caf::expected<std::shared_ptr<const gossip::topology>>
make_topology(const node_config& cfg, size_t n) {
  const auto& name = cfg.gossip.topology;
  const auto& known = gossip::topology_names();
  // A name that is neither built in nor an existing file gets the list of
  // the known names.
  std::error_code ec;
  auto t = std::find(known.begin(), known.end(), name) != known.end()
               || !std::filesystem::exists(name, ec)
             ? gossip::topology::make(name, n)
             : gossip::topology::from_file(name, n);
  if (!t)
    return std::move(t.error());
  return std::make_shared<const gossip::topology>(std::move(*t));
}

caf::error validate_gossip(const node_config& cfg) {
  auto bad = [](std::string what) {
    return make_fl_error(errc::invalid_config, std::move(what));
  };
  if (cfg.output.resume)
    return bad("gossip runs cannot resume from a checkpoint (there is no "
               "global model to save); drop --resume");
  if (!cfg.output.checkpoint_dir.empty())
    return bad("gossip runs keep no checkpoints; drop --checkpoint-dir");
  if (cfg.strategy.name != "fedavg")
    return bad("gossip averages with neighbors; --strategy "
               + cfg.strategy.name + " is for servers");
  if (cfg.compression.method != "none")
    return bad("gossip sends dense models; --compress is for clients of a "
               "server");
  if (cfg.federation.byzantine_fraction > 0)
    return bad("--byzantine-fraction is not simulated in gossip mode");
  return {};
}

peer_settings make_peer_settings(
  const node_config& cfg, const client_roster& roster, size_t index,
  std::shared_ptr<const gossip::topology> topo,
  std::shared_ptr<const std::vector<float>> initial,
  const std::shared_ptr<const client_profiles>& profiles) {
  peer_settings s;
  s.index = index;
  s.topo = std::move(topo);
  s.asynchronous = cfg.gossip.asynchronous;
  s.rounds = static_cast<uint64_t>(cfg.federation.rounds);
  s.neighbor_timeout_s = cfg.gossip.neighbor_timeout_s;
  s.max_staleness = static_cast<uint64_t>(cfg.gossip.max_staleness);
  s.max_distance_ratio = cfg.guard.max_change_ratio;
  s.guard = guard_settings_of(cfg);
  s.client = roster.settings(index);
  if (profiles)
    s.client.slowdown = std::max(1.0, profiles->speed(index));
  s.initial = std::move(initial);
  s.catch_up = cfg.gossip.rejoin;
  // A rejoining peer waits for an answer at least 10 s: a neighbor under
  // load must not make it start over from the initial model.
  s.catch_up_timeout_s = std::max(10.0, cfg.gossip.neighbor_timeout_s);
  return s;
}

std::shared_ptr<const std::vector<float>>
peer_initial(const node_config& cfg, trainer& t, size_t index,
             const std::shared_ptr<const std::vector<float>>& common) {
  if (!cfg.gossip.independent_init)
    return common;
  return std::make_shared<const std::vector<float>>(t.initial_params(
    static_cast<uint64_t>(cfg.federation.seed) + 1 + index));
}

caf::expected<gossip_inputs> prepare_gossip(const node_config& cfg,
                                            const node_plugins& plug,
                                            size_t n, size_t first,
                                            size_t count) {
  gossip_inputs in;
  auto topo = make_topology(cfg, n);
  if (!topo)
    return std::move(topo.error());
  in.topo = std::move(*topo);
  auto training = make_training(cfg, plug);
  if (!training)
    return std::move(training.error());
  in.training = std::move(*training);
  auto roster = client_roster::make(cfg, in.training, first, count, n);
  if (!roster)
    return std::move(roster.error());
  in.roster = std::move(*roster);
  auto profiles = make_profiles(cfg, n);
  if (!profiles)
    return std::move(profiles.error());
  in.profiles = std::move(*profiles);
  auto t = in.training.make();
  // The same seed gives every peer, in any process, the same model.
  auto common = std::make_shared<const std::vector<float>>(
    t->initial_params(static_cast<uint64_t>(cfg.federation.seed)));
  for (size_t i = first; i < first + count; ++i)
    in.initial.push_back(peer_initial(cfg, *t, i, common));
  in.layout = t->layout();
  return in;
}

gossip_workers spawn_gossip_workers(caf::actor_system& sys,
                                    const node_config& cfg,
                                    const gossip_inputs& in, size_t peers,
                                    const std::string& command,
                                    const loggers& log) {
  gossip_monitor_settings m;
  m.peers = peers;
  m.asynchronous = cfg.gossip.asynchronous;
  m.rounds = static_cast<uint64_t>(cfg.federation.rounds);
  m.eval_every = static_cast<uint64_t>(cfg.federation.eval_every);
  m.eval_peers = static_cast<uint64_t>(cfg.gossip.eval_peers);
  m.snapshot_s = cfg.gossip.snapshot_s;
  m.metrics_path = cfg.output.metrics;
  m.manifest = run_manifest(cfg, command);
  gossip_workers w;
  w.evaluator = spawn_training_pool(sys, eval_workers(cfg), in.training.make,
                                    log);
  w.pool = spawn_training_pool(
    sys, static_cast<size_t>(cfg.training.workers), in.training.make, log);
  w.out = std::make_shared<gossip_log>();
  w.monitor = spawn_gossip_monitor(sys, std::move(m), w.evaluator, w.out,
                                   log);
  return w;
}

void gossip_workers::stop() const {
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
}

const char* gossip_kind_text(const node_config& cfg) {
  return cfg.gossip.asynchronous ? "asynchronous push-sum"
                                 : "synchronous rounds";
}

int gossip_exit_code(const node_config& cfg, const gossip_log& out,
                     const caf::error& reason,
                     std::chrono::steady_clock::time_point start,
                     const loggers& log, bool print) {
  auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - start)
                .count();
  log.progress_done();
  if (print) {
    std::printf("\n%s gossip over %s, %zu record(s), %.2f s\n",
                cfg.gossip.asynchronous ? "asynchronous" : "synchronous",
                cfg.gossip.topology.c_str(), out.records.size(), wall);
    const gossip_record* last_eval = nullptr;
    for (const auto& r : out.records)
      if (r.test_accuracy)
        last_eval = &r;
    if (last_eval != nullptr) {
      std::printf("final average model: test accuracy %.4f, loss %.4f "
                  "(%s %llu)\n",
                  *last_eval->test_accuracy, *last_eval->test_loss,
                  cfg.gossip.asynchronous ? "snapshot" : "round",
                  static_cast<unsigned long long>(last_eval->round));
      if (last_eval->peer_accuracy_mean && last_eval->peers > 1)
        std::printf("peers' own models: %.4f +- %.4f (min %.4f, max "
                    "%.4f)\n",
                    *last_eval->peer_accuracy_mean,
                    *last_eval->peer_accuracy_std,
                    *last_eval->peer_accuracy_min,
                    *last_eval->peer_accuracy_max);
      if (last_eval->consensus_distance)
        std::printf("consensus distance %.4f\n",
                    *last_eval->consensus_distance);
    }
    std::fflush(stdout);
  }
  if (out.failed || (reason && reason != caf::exit_reason::normal)) {
    log.node->error("gossip run failed: {}",
                    reason ? describe(reason) : std::string{"a peer failed"});
    return 1;
  }
  return 0;
}

} // namespace fl::cli
