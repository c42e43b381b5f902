// How responsive is the sync server while it aggregates big updates?
//
// One server with a synthetic model of N floats (default 1e8 = 400 MB) and
// ten scripted clients that answer every activation at once with the same
// pre-made update (no training, no allocation). While the server aggregates
// those updates, a probe sends it a small message that it must answer (a join
// with an unsupported protocol version, answered with an Error) every
// millisecond and records the round trip. Prints p50/p99/max of the round
// trips taken while rounds were running.
//
//   fl_bench_responsiveness [floats] [rounds] [probe interval ms]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/server.hpp"
#include "runtime/core/errors.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "runtime/training/synthetic_trainer.hpp"

using namespace fl;
using clock_type = std::chrono::steady_clock;

namespace {

/// A client that answers each activation with `update` at once.
caf::behavior instant_client(caf::event_based_actor* self, std::string id,
                             caf::actor server,
                             std::shared_ptr<const std::vector<float>> update,
                             model_layout layout) {
  join_msg j;
  j.node_id = id;
  j.num_samples = 100;
  j.layout_hash = layout.hash();
  j.numel = layout.numel();
  self->send(server, deliver_atom::value, envelope{"", std::move(j)});
  return {
    [=](deliver_atom, envelope& env) {
      if (auto* act = std::get_if<activation_msg>(&env.body)) {
        update_msg up;
        up.node_id = id;
        up.round = act->round;
        up.base_version = act->model_version;
        up.num_samples = 100;
        up.model.layout = layout;
        up.model.values = span<const float>{*update};
        up.model.owner = update;
        self->send(server, deliver_atom::value, envelope{"", std::move(up)});
      } else if (std::holds_alternative<exit_msg>(env.body)) {
        self->quit();
      }
    },
  };
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(p * static_cast<double>(xs.size() - 1));
  return xs[i];
}

} // namespace

int main(int argc, char** argv) {
  const uint64_t floats = argc > 1 ? std::strtoull(argv[1], nullptr, 10)
                                   : 100000000ull;
  const uint64_t rounds = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 3;
  const int interval_ms = argc > 3 ? std::atoi(argv[3]) : 1;
  const uint64_t clients = 10;
  node_config cfg;
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto log = make_loggers("error");
  if (!log) {
    std::fprintf(stderr, "%s\n", describe(log.error()).c_str());
    return 1;
  }
  synthetic_trainer t{floats};
  flat_model initial{t.layout()};
  auto params = t.initial_params(0);
  initial.assign(span<const float>{params});
  // Every client sends the initial model slightly moved: a plausible update.
  for (auto& x : params)
    x *= 0.99f;
  auto update = std::make_shared<const std::vector<float>>(std::move(params));
  auto rlog = std::make_shared<round_log>();
  server_settings s;
  s.rounds = rounds;
  s.min_clients = clients;
  s.round_deadline_s = 600;
  s.log_sink = rlog;
  auto server = spawn_server(sys, s,
                             std::make_shared<fedavg>(clients, 1.0, 0),
                             std::move(initial), caf::actor{}, *log);
  std::printf("server responsiveness: %llu floats (%.0f MB) per update, %llu "
              "clients, %llu rounds\n",
              static_cast<unsigned long long>(floats),
              static_cast<double>(floats) * 4 / 1e6,
              static_cast<unsigned long long>(clients),
              static_cast<unsigned long long>(rounds));
  std::vector<double> rtts_ms;
  caf::scoped_actor probe{sys};
  probe->monitor(server);
  auto start = clock_type::now();
  for (uint64_t i = 0; i < clients; ++i)
    sys.spawn(instant_client, "client-" + std::to_string(i), server, update,
              t.layout());
  bool done = false;
  while (!done) {
    join_msg bad;
    bad.node_id = "probe";
    bad.protocol = 0; // refused at once with an Error
    auto sent = clock_type::now();
    probe->send(server, deliver_atom::value, envelope{"", std::move(bad)});
    bool answered = false;
    while (!answered && !done) {
      probe->receive(
        [&](deliver_atom, envelope&) {
          answered = true;
          rtts_ms.push_back(std::chrono::duration<double, std::milli>(
                              clock_type::now() - sent)
                              .count());
        },
        [&](caf::down_msg&) { done = true; },
        caf::after(std::chrono::seconds(600)) >> [&] { done = true; });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  const double total = std::chrono::duration<double>(clock_type::now()
                                                     - start)
                         .count();
  size_t accepted = 0;
  for (const auto& r : rlog->records())
    accepted += r.accepted ? 1 : 0;
  std::printf("  rounds accepted: %zu of %zu, wall %.2f s\n", accepted,
              rlog->records().size(), total);
  std::printf("  probe round trips: %zu | p50 %.3f ms | p99 %.3f ms | max "
              "%.3f ms\n",
              rtts_ms.size(), percentile(rtts_ms, 0.5),
              percentile(rtts_ms, 0.99), percentile(rtts_ms, 1.0));
  return accepted == rounds ? 0 : 1;
}
