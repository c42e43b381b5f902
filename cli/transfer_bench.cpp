#include "cli/transfer_bench.hpp"

#include "actors/downstream_connector.hpp"
#include "actors/interfaces.hpp"
#include "actors/upstream_connector.hpp"
#include "cli/edges.hpp"
#include "cli/node_security.hpp"
#include "messages/receive_budget.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace fl::cli {

namespace {

node_config config_of(const transfer_bench_options& o) {
  node_config cfg;
  cfg.node.host = o.host;
  cfg.node.port = o.port;
  cfg.node.port_file = o.port_file;
  cfg.node.upstream = o.to;
  cfg.node.token = o.token;
  cfg.node.id = o.serve ? "bench-receiver" : "bench-sender";
  cfg.transport.chunk_mib = static_cast<int64_t>(o.chunk_mib);
  cfg.transport.window = static_cast<int64_t>(o.window);
  cfg.transport.max_message_mib
      = std::max<int64_t>(8192, static_cast<int64_t>(o.mib) + 1);
  return cfg;
}

/// Receives `count` updates (writing each into its buffer as the pieces
/// come, then dropping it), then answers with an Exit and ends.
int serve(const transfer_bench_options& o, const node_config& cfg,
          const loggers& log, caf::actor_system& sys,
          const net::secure_transport& transport) {
  auto owner = sys.spawn([&o](caf::event_based_actor* self) {
    auto got = std::make_shared<uint64_t>(0);
    return caf::behavior{
        [self, got, &o](deliver_atom, envelope& env) {
          if (auto* j = std::get_if<join_msg>(&env.body)) {
            welcome_msg w;
            w.node_id = j->node_id;
            w.server_id = "bench-receiver";
            self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                       deliver_atom::value, envelope{j->node_id, w});
            return;
          }
          auto* up = std::get_if<update_msg>(&env.body);
          if (!up)
            return;
          if (++*got == o.count) {
            self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                       deliver_atom::value,
                       envelope{up->node_id, exit_msg{"received"}});
            self->quit();
          }
        },
        [](lost_atom, const std::string&, const caf::error&) {},
    };
  });
  auto connector = spawn_downstream_connector(
      sys, owner, downstream_for(cfg, transport, cfg.node.id, true), log);
  auto port = publish_node(sys, transport, connector, cfg, log);
  if (!port) {
    log.node->error("{}", describe(port.error()));
    caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
    return 1;
  }
  caf::scoped_actor waiter{sys};
  waiter->wait_for(owner);
  // Let the Exit reach the sender before the connector goes.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  caf::anon_send_exit(connector, caf::exit_reason::user_shutdown);
  return 0;
}

int send(const transfer_bench_options& o, const node_config& cfg,
         const loggers& log, caf::actor_system& sys,
         const net::secure_transport& transport) {
  auto us = upstream_for(cfg, transport);
  if (!us) {
    log.node->error("{}", describe(us.error()));
    return 2;
  }
  auto upstream = spawn_upstream_connector(sys, *us, log);
  const uint64_t n = (o.mib << 20) / sizeof(float);
  auto model = allocate_floats(n);
  for (uint64_t i = 0; i < n; ++i)
    model.get()[i] = static_cast<float>(i % 4093) * 1e-3f;
  caf::scoped_actor self{sys};
  join_msg j;
  j.node_id = "bench-0";
  j.num_samples = 1;
  j.numel = n;
  j.layout_hash = flat_layout(n).hash();
  self->send(upstream, deliver_atom::value, envelope{"", j});
  // As a client does: models go once the receiver admitted the join (by
  // then it offered its bulk link, and the connector dials it first).
  bool welcomed = false;
  self->receive_while([&] { return !welcomed; })(
    [&](deliver_atom, envelope& env) {
      welcomed = std::holds_alternative<welcome_msg>(env.body);
    },
    caf::after(std::chrono::seconds(30)) >> [&] { welcomed = true; });
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t k = 0; k < o.count; ++k) {
    update_msg up;
    up.node_id = "bench-0";
    up.round = k + 1;
    up.num_samples = 1;
    up.model.layout = flat_layout(n);
    up.model.values = span<const float>{model.get(), n};
    up.model.owner = model; // shared, never copied
    self->send(upstream, deliver_atom::value, envelope{"", std::move(up)});
  }
  bool done = false;
  std::string failure;
  self->receive_while([&] { return !done && failure.empty(); })(
      [&](deliver_atom, envelope& env) {
        if (std::holds_alternative<exit_msg>(env.body))
          done = true;
      },
      [&](lost_atom, const std::string&, const caf::error& why) {
        failure = describe(why);
      },
      caf::after(std::chrono::seconds(600)) >> [&] { failure = "timeout"; });
  const double s
      = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
  caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
  if (!done) {
    std::fprintf(stderr, "transfer failed: %s\n", failure.c_str());
    return 1;
  }
  const double bytes = static_cast<double>(o.count * n * sizeof(float));
  std::printf("fedactor: %llu x %llu MiB in %.3f s = %.0f MB/s (pieces of "
              "%llu MiB, window %llu)\n",
              static_cast<unsigned long long>(o.count),
              static_cast<unsigned long long>(o.mib), s, bytes / s / 1e6,
              static_cast<unsigned long long>(o.chunk_mib),
              static_cast<unsigned long long>(o.window));
  return 0;
}

} // namespace

int run_transfer_bench(const transfer_bench_options& o) {
  auto cfg = config_of(o);
  if (auto err = validate(cfg)) {
    std::fprintf(stderr, "%s\n", describe(err).c_str());
    return 2;
  }
  auto log = make_loggers(std::getenv("FL_BENCH_LOG") ? std::getenv("FL_BENCH_LOG") : "warn");
  if (!log) {
    std::fprintf(stderr, "%s\n", describe(log.error()).c_str());
    return 2;
  }
  auto gate = gate_settings_for(cfg, o.serve, *log);
  if (!gate) {
    (*log).node->error("{}", describe(gate.error()));
    return 2;
  }
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto transport = start_node_transport(sys, std::move(*gate), *log);
  return o.serve ? serve(o, cfg, *log, sys, *transport)
                 : send(o, cfg, *log, sys, *transport);
}

} // namespace fl::cli
