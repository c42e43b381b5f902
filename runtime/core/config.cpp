#include "runtime/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <variant>

#include <toml++/toml.h>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_text.hpp"

namespace fl {

namespace {

using field_ref = std::variant<int64_t*, double*, bool*, std::string*>;

struct setting {
  setting_info info;
  std::function<field_ref(node_config&)> field;
};

#define FL_SETTING(key, flag, scope, member, help)                             \
  setting {                                                                    \
    setting_info{key, flag, help, scope},                                      \
      [](node_config& c) -> field_ref { return &c.member; }                    \
  }

const std::vector<setting>& settings() {
  static const std::vector<setting> xs{
    FL_SETTING("node.host", "host",
               for_sim | for_server | for_client | for_scheduler, node.host,
               "address to publish on (server, scheduler)"),
    FL_SETTING("node.port", "port", for_server | for_scheduler, node.port,
               "port to publish on; 0 picks a free one"),
    FL_SETTING("node.upstream", "upstream", for_client | for_scheduler,
               node.upstream, "HOST:PORT of the server to join"),
    FL_SETTING("node.id", "id", for_all, node.id,
               "node id (default: derived from host and pid)"),
    FL_SETTING("node.token", "token", for_all, node.token,
               "shared secret a node must present to join"),
    FL_SETTING("node.port_file", "port-file", for_server | for_scheduler,
               node.port_file, "write the bound port to this file"),
    FL_SETTING("federation.mode", "mode",
               for_sim | for_server | for_scheduler, federation.mode,
               "sync | async | fedbuff (a scheduler relays in async modes) | "
               "gossip (no server: sim, or fl-node peer)"),
    FL_SETTING("guard.max_change_ratio", "max-change-ratio",
               for_sim | for_server | for_scheduler | for_peer,
               guard.max_change_ratio,
               "refuse an update or model that moves the model by more than "
               "this times its norm (L2; 0 = no bound)"),
    FL_SETTING("guard.clip_update_norm", "clip-update-norm",
               for_sim | for_server | for_scheduler, guard.clip_update_norm,
               "scale each update's change down to this L2 norm (0 = off)"),
    FL_SETTING("guard.max_samples", "max-samples",
               for_sim | for_server | for_scheduler, guard.max_samples,
               "refuse updates claiming more samples (0 = the count the "
               "client announced at join)"),
    FL_SETTING("guard.max_rejections", "max-rejections",
               for_sim | for_server | for_scheduler, guard.max_rejections,
               "stop the run (exit 1) after this many rejected models in a "
               "row (0 = never)"),
    FL_SETTING("federation.rounds", "rounds", for_sim | for_server | for_peer,
               federation.rounds, "rounds to run"),
    FL_SETTING("federation.clients", "clients",
               for_sim | for_server | for_client | for_scheduler,
               federation.clients,
               "clients (sim, server: in the federation; client: hosted by "
               "this process; scheduler: in its group)"),
    FL_SETTING("federation.clients_per_round", "clients-per-round",
               for_sim | for_server | for_scheduler,
               federation.clients_per_round, "clients sampled per round"),
    FL_SETTING("federation.quorum", "quorum",
               for_sim | for_server | for_scheduler,
               federation.quorum,
               "fraction of sampled clients a round waits for, in (0, 1]"),
    FL_SETTING("federation.round_deadline_s", "round-deadline",
               for_sim | for_server | for_scheduler,
               federation.round_deadline_s,
               "seconds after which a round closes with what it has"),
    FL_SETTING("federation.seed", "seed", for_all, federation.seed,
               "seed for sampling, partitioning and initialisation"),
    FL_SETTING("federation.min_clients", "min-clients",
               for_server | for_scheduler,
               federation.min_clients,
               "clients that must join before round 1 (0 = --clients)"),
    FL_SETTING("federation.client_offset", "client-offset", for_client,
               federation.client_offset,
               "global index of this process's first client"),
    FL_SETTING("federation.total_clients", "total-clients", for_client,
               federation.total_clients,
               "clients in the whole federation, for partitioning "
               "(0 = --clients)"),
    FL_SETTING("federation.eval_every", "eval-every", for_sim | for_server | for_peer,
               federation.eval_every,
               "evaluate every N rounds (sync) or versions (async); 0 = 1 "
               "in sync, 10 in async; the last model always"),
    FL_SETTING("federation.eval_workers", "eval-workers", for_sim | for_server | for_peer,
               federation.eval_workers,
               "evaluations running at once, each on its own thread (0 = "
               "max(1, cores / 4)); more wait, holding training back"),
    FL_SETTING("federation.eval_skip_superseded", "eval-skip-superseded",
               for_sim | for_server, federation.eval_skip_superseded,
               "skip a model waiting for evaluation once a newer one is due "
               "(training never waits for evaluation)"),
    FL_SETTING("federation.target_accuracy", "target-accuracy",
               for_sim | for_server, federation.target_accuracy,
               "stop once the test accuracy reaches this (0 = off)"),
    FL_SETTING("federation.straggler_fraction", "straggler-fraction",
               for_sim | for_client | for_peer, federation.straggler_fraction,
               "share of clients that are stragglers (chosen by seed)"),
    FL_SETTING("federation.straggler_slowdown", "straggler-slowdown",
               for_sim | for_client | for_peer, federation.straggler_slowdown,
               "stragglers take this many times longer"),
    FL_SETTING("federation.speed_sigma", "speed-sigma", for_sim | for_client,
               federation.speed_sigma,
               "clients' compute time factors are log-normal with median 1 "
               "and this sigma (0 = as measured)"),
    FL_SETTING("federation.availability", "availability",
               for_sim | for_client, federation.availability,
               "share of time each client is online (1 = always): online "
               "for that share of every --availability-period, at a seeded "
               "phase"),
    FL_SETTING("federation.availability_period_s", "availability-period",
               for_sim | for_client, federation.availability_period_s,
               "seconds of one online/offline cycle"),
    FL_SETTING("federation.client_trace", "client-trace",
               for_sim | for_client, federation.client_trace,
               "CSV with the header client,speed,availability: per client "
               "a compute time factor and online windows 'start-end;...' in "
               "seconds (empty = always); clients not listed follow the "
               "seeded profile"),
    FL_SETTING("federation.time_scale", "sim-time-scale",
               for_sim | for_client, federation.time_scale,
               "simulated seconds per wall-clock second (for online "
               "windows)"),
    FL_SETTING("federation.byzantine_fraction", "byzantine-fraction",
               for_sim | for_client, federation.byzantine_fraction,
               "share of simulated clients that are malicious (chosen by "
               "seed)"),
    FL_SETTING("federation.byzantine_attack", "byzantine-attack",
               for_sim | for_client, federation.byzantine_attack,
               "what malicious clients send: signflip (-scale x update) | "
               "noise (Gaussian, std scale) | huge (scale everywhere)"),
    FL_SETTING("federation.byzantine_scale", "byzantine-scale",
               for_sim | for_client, federation.byzantine_scale,
               "attack scale (0 = 4 for signflip, 1 for noise, 100 for "
               "huge)"),
    FL_SETTING("strategy.name", "strategy", for_sim | for_server,
               strategy.name,
               "fedavg | fedavgm | fedadam | fedyogi | fedadagrad | fedprox "
               "| scaffold | fednova | median | trimmed-mean | krum | "
               "multi-krum | norm-bound (or a registered one)"),
    FL_SETTING("strategy.server_lr", "server-opt-lr", for_sim | for_server,
               strategy.server_lr,
               "server optimizer learning rate (0 = 1 for fedavgm and "
               "scaffold, 0.01 for fedadam, fedyogi, fedadagrad)"),
    FL_SETTING("strategy.server_momentum", "server-momentum",
               for_sim | for_server, strategy.server_momentum,
               "fedavgm: server momentum"),
    FL_SETTING("strategy.beta1", "beta1", for_sim | for_server,
               strategy.beta1, "fedadam, fedyogi, fedadagrad: first moment"),
    FL_SETTING("strategy.beta2", "beta2", for_sim | for_server,
               strategy.beta2, "fedadam, fedyogi: second moment"),
    FL_SETTING("strategy.tau", "tau", for_sim | for_server, strategy.tau,
               "adaptive optimizers: degree of adaptivity (epsilon)"),
    FL_SETTING("strategy.trim_beta", "trim-beta", for_sim | for_server,
               strategy.trim_beta,
               "trimmed-mean: share cut from each end per coordinate"),
    FL_SETTING("strategy.krum_f", "krum-f", for_sim | for_server,
               strategy.krum_f, "krum, multi-krum: Byzantine updates "
                                "tolerated per round"),
    FL_SETTING("strategy.multi_krum_m", "multi-krum-m", for_sim | for_server,
               strategy.multi_krum_m,
               "multi-krum: updates averaged (0 = sampled - f)"),
    FL_SETTING("strategy.norm_bound", "norm-bound", for_sim | for_server,
               strategy.norm_bound,
               "norm-bound: L2 bound of each update's change (0 = 1.0)"),
    FL_SETTING("strategy.client_eval_every", "client-eval-every",
               for_sim | for_server, strategy.client_eval_every,
               "client-side evaluation on held-out data every N rounds (async: "
               "model versions; 0 = off; needs --holdout on the clients)"),
    FL_SETTING("strategy.client_eval_clients", "client-eval-clients",
               for_sim | for_server, strategy.client_eval_clients,
               "clients asked to evaluate (0 = --clients-per-round)"),
    FL_SETTING("compression.method", "compress", for_sim | for_client,
               compression.method,
               "update compression: none | topk | qsgd | fp16 | bf16"),
    FL_SETTING("compression.topk_ratio", "topk-ratio", for_sim | for_client,
               compression.topk_ratio, "top-k: share of values kept"),
    FL_SETTING("compression.qsgd_bits", "qsgd-bits", for_sim | for_client,
               compression.qsgd_bits, "QSGD: 8 (127 levels) or 4 (7 levels)"),
    FL_SETTING("compression.qsgd_bucket", "qsgd-bucket", for_sim | for_client,
               compression.qsgd_bucket, "QSGD: values per norm"),
    FL_SETTING("compression.no_error_feedback", "no-error-feedback",
               for_sim | for_client, compression.no_error_feedback,
               "drop what compression loses instead of adding it to the "
               "next update (error feedback)"),
    FL_SETTING("compression.momentum", "compress-momentum",
               for_sim | for_client, compression.momentum,
               "DGC momentum correction (0 = plain error feedback)"),
    FL_SETTING("async.alpha", "alpha", for_sim | for_server, async.alpha,
               "FedAsync mixing weight alpha in (0, 1]"),
    FL_SETTING("async.staleness", "staleness", for_sim | for_server,
               async.staleness, "staleness function: constant | polynomial "
                                "| hinge"),
    FL_SETTING("async.staleness_a", "staleness-a", for_sim | for_server,
               async.staleness_a, "staleness parameter a"),
    FL_SETTING("async.staleness_b", "staleness-b", for_sim | for_server,
               async.staleness_b, "hinge threshold b (versions)"),
    FL_SETTING("async.max_staleness", "max-staleness", for_sim | for_server,
               async.max_staleness, "drop updates staler than this"),
    FL_SETTING("async.buffer_k", "buffer-k", for_sim | for_server,
               async.buffer_k, "FedBuff: apply every K updates"),
    FL_SETTING("async.server_lr", "server-lr", for_sim | for_server,
               async.server_lr, "FedBuff: server learning rate"),
    FL_SETTING("async.concurrency", "concurrency", for_sim | for_server,
               async.concurrency,
               "clients training at once (0 = --clients-per-round)"),
    FL_SETTING("async.max_updates", "max-updates", for_sim | for_server,
               async.max_updates,
               "stop after this many updates (0 = rounds x clients per "
               "round)"),
    FL_SETTING("async.max_seconds", "max-seconds", for_sim | for_server,
               async.max_seconds, "stop after this many seconds (0 = off)"),
    FL_SETTING("async.clock", "clock", for_sim | for_server, async.clock,
               "FedBuff order: logical (reproducible: planned on a logical "
               "clock) | arrival | auto (logical in sim, arrival on a "
               "server)"),
    FL_SETTING("gossip.topology", "topology", for_sim | for_peer,
               gossip.topology,
               "gossip: ring | exp2 | exp2-one-peer | mesh | star | full | "
               "the path of a file of weighted edges 'i j w'"),
    FL_SETTING("gossip.asynchronous", "async-gossip", for_sim | for_peer,
               gossip.asynchronous,
               "gossip without rounds: push-sum, no barriers"),
    FL_SETTING("gossip.max_staleness", "gossip-max-staleness",
               for_sim | for_peer, gossip.max_staleness,
               "async gossip: a peer waits when this many iterations ahead "
               "of a live in-neighbor"),
    FL_SETTING("gossip.neighbor_timeout_s", "neighbor-timeout",
               for_sim | for_peer, gossip.neighbor_timeout_s,
               "gossip: seconds a peer waits for a silent neighbor before "
               "averaging without it"),
    FL_SETTING("gossip.eval_peers", "eval-peers", for_sim | for_peer,
               gossip.eval_peers,
               "gossip: peers whose own model is evaluated per record (the "
               "accuracy spread; 0 = none)"),
    FL_SETTING("gossip.snapshot_s", "snapshot-interval", for_sim | for_peer,
               gossip.snapshot_s,
               "async gossip: seconds between metrics records"),
    FL_SETTING("gossip.independent_init", "independent-init",
               for_sim | for_peer, gossip.independent_init,
               "gossip: each peer starts from its own random model (seed + "
               "1 + index), not the common one"),
    FL_SETTING("gossip.peers", "peers", for_peer, gossip.peers,
               "every peer's HOST:PORT, comma separated, in index order"),
    FL_SETTING("gossip.index", "peer-index", for_peer, gossip.index,
               "this peer's index in --peers"),
    FL_SETTING("gossip.rejoin", "rejoin", for_peer, gossip.rejoin,
               "first take the current model and round from a neighbor "
               "(a peer restarted into a running federation)"),
    FL_SETTING("gossip.linger_s", "linger", for_peer, gossip.linger_s,
               "seconds a peer stays up after its last round, for slower "
               "neighbors"),
    FL_SETTING("training.model", "model", for_all, training.model,
               "model: mlp | cnn | synthetic (no data, any size) | the path "
               "of a TorchScript file (torch.jit.save)"),
    FL_SETTING("training.loss", "loss", for_all, training.loss,
               "auto (cross-entropy for classification, mse for "
               "regression) | cross-entropy | mse"),
    FL_SETTING("training.synthetic_params", "synthetic-params", for_all,
               training.synthetic_params,
               "parameters of the synthetic model"),
    FL_SETTING("training.epochs", "epochs", for_sim | for_client | for_peer,
               training.epochs, "local epochs per round"),
    FL_SETTING("training.batch_size", "batch-size", for_sim | for_client | for_peer,
               training.batch_size, "local batch size"),
    FL_SETTING("training.lr", "lr", for_sim | for_client | for_peer, training.lr,
               "local SGD learning rate"),
    FL_SETTING("training.momentum", "momentum", for_sim | for_client | for_peer,
               training.momentum, "local SGD momentum"),
    FL_SETTING("training.weight_decay", "weight-decay", for_sim | for_client | for_peer,
               training.weight_decay, "local SGD weight decay"),
    FL_SETTING("training.prox_mu", "prox-mu", for_sim | for_client,
               training.prox_mu, "FedProx proximal coefficient (0 = off)"),
    FL_SETTING("training.workers", "workers", for_sim | for_client | for_peer,
               training.workers, "training threads (0 = number of cores)"),
    FL_SETTING("data.format", "data-format", for_all, data.format,
               "fashion-mnist (--data-dir) | idx | csv | npy (--train-data, "
               "--train-labels, --test-data, --test-labels)"),
    FL_SETTING("data.dir", "data-dir", for_all, data.dir,
               "folder with the Fashion-MNIST IDX .gz files"),
    FL_SETTING("data.train_data", "train-data", for_all, data.train_data,
               "train samples: IDX or .npy array [n, ...], or the CSV file"),
    FL_SETTING("data.train_labels", "train-labels", for_all,
               data.train_labels, "train labels: IDX or .npy array [n]"),
    FL_SETTING("data.test_data", "test-data", for_all, data.test_data,
               "test samples (the server's evaluation), like --train-data"),
    FL_SETTING("data.test_labels", "test-labels", for_all, data.test_labels,
               "test labels, like --train-labels"),
    FL_SETTING("data.owners", "owners", for_all, data.owners,
               "per-sample owner ids for --partition by-owner: a CSV column "
               "(name or index) or an IDX/.npy file [n]"),
    FL_SETTING("data.label_column", "label-column", for_all,
               data.label_column, "CSV label column, name or 0-based index "
               "(\"\" = last)"),
    FL_SETTING("data.csv_header", "csv-header", for_all, data.csv_header,
               "CSV first row is a header: yes | no | auto"),
    FL_SETTING("data.task", "task", for_all, data.task,
               "classification | regression (real-valued labels, mse)"),
    FL_SETTING("data.num_classes", "num-classes", for_all, data.num_classes,
               "classes (0 = largest label + 1)"),
    FL_SETTING("data.partition", "partition", for_sim | for_client | for_peer,
               data.partition,
               "iid | iid-unbalanced | shards | dirichlet | labels | "
               "by-owner"),
    FL_SETTING("data.dirichlet_alpha", "dirichlet-alpha", for_sim | for_client | for_peer,
               data.dirichlet_alpha, "Dirichlet concentration (dirichlet)"),
    FL_SETTING("data.dirichlet_min_samples", "dirichlet-min-samples",
               for_sim | for_client | for_peer, data.dirichlet_min_samples,
               "samples every client must get, else redraw (dirichlet; 0 = "
               "number of classes, as FedLab)"),
    FL_SETTING("data.shards_per_client", "shards-per-client",
               for_sim | for_client | for_peer, data.shards_per_client,
               "shards per client (shards)"),
    FL_SETTING("data.labels_per_client", "labels-per-client",
               for_sim | for_client | for_peer, data.labels_per_client,
               "classes per client (labels)"),
    FL_SETTING("data.unbalance_sigma", "unbalance-sigma", for_sim | for_client | for_peer,
               data.unbalance_sigma, "log-normal sigma (iid-unbalanced)"),
    FL_SETTING("data.holdout", "holdout", for_sim | for_client, data.holdout,
               "share of each client's samples held out for client-side "
               "evaluation (0 = none)"),
    FL_SETTING("aggregation.device", "aggregation-device",
               for_sim | for_server | for_scheduler, aggregation.device,
               "auto | cpu | cuda"),
    FL_SETTING("aggregation.strategy", "aggregation-strategy",
               for_sim | for_server | for_scheduler, aggregation.strategy,
               "CUDA: layer-by-layer | bucket-flatten | bucket-coalesced | "
               "size-balanced"),
    FL_SETTING("aggregation.streams", "aggregation-streams",
               for_sim | for_server | for_scheduler, aggregation.streams,
               "CUDA streams"),
    FL_SETTING("aggregation.bucket_mib", "aggregation-bucket-mib",
               for_sim | for_server | for_scheduler, aggregation.bucket_mib,
               "CUDA bucket size (MiB)"),
    FL_SETTING("aggregation.threads", "aggregation-threads",
               for_sim | for_server | for_scheduler, aggregation.threads,
               "CPU aggregation threads (0 = cores)"),
    FL_SETTING("transport.chunk_mib", "chunk-mib", for_all,
               transport.chunk_mib,
               "frame payload (MiB): larger models stream in pieces of this size"),
    FL_SETTING("transport.window", "window", for_all, transport.window,
               "pieces a sender may have unanswered by the receiver"),
    FL_SETTING("transport.bulk_link", "bulk-link", for_all,
               transport.bulk_link,
               "big models' values on a direct TCP stream next to the "
               "connection (plaintext only; with --tls they stay in TLS); "
               "--bulk-link=false turns it off"),
    FL_SETTING("transport.max_message_mib", "max-message-mib", for_all,
               transport.max_message_mib,
               "largest model or message sent or accepted (MiB)"),
    FL_SETTING("transport.receive_budget_mib", "receive-budget-mib",
               for_server | for_scheduler, transport.receive_budget_mib,
               "model bytes received or awaiting the fold at once (MiB); "
               "further transfers wait; 0 = no bound"),
    FL_SETTING("transport.request_timeout_s", "request-timeout", for_all,
               transport.request_timeout_s, "timeout of remote requests (s)"),
    FL_SETTING("transport.heartbeat_s", "heartbeat", for_all,
               transport.heartbeat_s, "heartbeat interval between nodes (s)"),
    FL_SETTING("transport.connection_timeout_s", "connection-timeout",
               for_all, transport.connection_timeout_s,
               "drop a peer silent for this long (s)"),
    FL_SETTING("security.tls", "tls", for_nodes, security.tls,
               "mutual TLS with the startup kit in this folder (ca.pem, "
               "cert.pem, key.pem; see fl-node certs)"),
    FL_SETTING("security.access", "access",
               for_server | for_scheduler | for_peer, security.access,
               "access file: who may connect, per-node tokens, node-id "
               "grants, deny list (re-read when it changes)"),
    FL_SETTING("security.identity", "identity", for_nodes, security.identity,
               "identity this node proves (default: its certificate's name, "
               "else its node id, else the host name)"),
    FL_SETTING("security.token_file", "token-file", for_nodes,
               security.token_file,
               "read this node's token from a file (a kit's token) instead "
               "of --token"),
    FL_SETTING("security.insecure", "insecure",
               for_server | for_scheduler | for_peer, security.insecure,
               "listen on a non-loopback address with neither TLS nor a "
               "token (anyone who reaches the port can join)"),
    FL_SETTING("security.auth_timeout_s", "auth-timeout", for_nodes,
               security.auth_timeout_s,
               "close a connection that has not authenticated by then (s)"),
    FL_SETTING("security.max_pending", "max-pending", for_nodes,
               security.max_pending,
               "unauthenticated connections at once; more are closed"),
    FL_SETTING("security.max_connections", "max-connections", for_nodes,
               security.max_connections, "connections at once"),
    FL_SETTING("output.resume", "resume", for_sim | for_server, output.resume,
               "continue from the checkpoint in --checkpoint-dir"),
    FL_SETTING("output.metrics", "metrics", for_sim | for_server | for_peer,
               output.metrics, "metrics JSONL file (\"\" = none)"),
    FL_SETTING("output.client_metrics", "client-metrics", for_sim | for_server,
               output.client_metrics,
               "per-client JSONL records: each update's samples, loss, "
               "training time and bytes, and each failure (\"\" = none)"),
    FL_SETTING("output.checkpoint_dir", "checkpoint-dir", for_sim | for_server,
               output.checkpoint_dir, "write checkpoints here (\"\" = none)"),
    FL_SETTING("output.log_level", "log-level", for_all, output.log_level,
               "trace | debug | info | warn | error | off"),
    FL_SETTING("output.log_file", "log-file", for_all, output.log_file,
               "also write logs to this file"),
  };
  return xs;
}

#undef FL_SETTING

const setting* find_setting(const std::string& key) {
  for (const auto& s : settings())
    if (s.info.key == key)
      return &s;
  return nullptr;
}

caf::error bad(const std::string& what) {
  return make_fl_error(errc::invalid_config, what);
}

caf::error parse_into(int64_t* dst, const std::string& key,
                      const std::string& text) {
  try {
    size_t pos = 0;
    auto v = std::stoll(text, &pos);
    if (pos != text.size())
      throw std::invalid_argument(text);
    *dst = v;
    return caf::none;
  } catch (const std::exception&) {
    return bad(key + ": expected an integer, got '" + text + "'");
  }
}

caf::error parse_into(double* dst, const std::string& key,
                      const std::string& text) {
  try {
    size_t pos = 0;
    auto v = std::stod(text, &pos);
    if (pos != text.size() || !std::isfinite(v))
      throw std::invalid_argument(text);
    *dst = v;
    return caf::none;
  } catch (const std::exception&) {
    return bad(key + ": expected a number, got '" + text + "'");
  }
}

caf::error parse_into(bool* dst, const std::string& key,
                      const std::string& text) {
  if (text == "true" || text == "1" || text == "yes") {
    *dst = true;
    return caf::none;
  }
  if (text == "false" || text == "0" || text == "no") {
    *dst = false;
    return caf::none;
  }
  return bad(key + ": expected true or false, got '" + text + "'");
}

caf::error parse_into(std::string* dst, const std::string&,
                      const std::string& text) {
  *dst = text;
  return caf::none;
}

std::string where(const toml::node& n, const std::string& origin) {
  return origin + ":" + std::to_string(n.source().begin.line);
}

caf::error set_from_toml(node_config& cfg, const std::string& key,
                         const toml::node& n, const std::string& origin) {
  auto* s = find_setting(key);
  if (s == nullptr)
    return bad(where(n, origin) + ": unknown key '" + key + "'");
  auto mismatch = [&](const char* expected) {
    return bad(where(n, origin) + ": '" + key + "' must be " + expected);
  };
  return std::visit(
    [&](auto* dst) -> caf::error {
      using T = std::remove_pointer_t<decltype(dst)>;
      if constexpr (std::is_same<T, int64_t>::value) {
        if (auto v = n.value_exact<int64_t>()) {
          *dst = *v;
          return caf::none;
        }
        return mismatch("an integer");
      } else if constexpr (std::is_same<T, double>::value) {
        if (auto v = n.value<double>()) { // integers are fine here
          *dst = *v;
          return caf::none;
        }
        return mismatch("a number");
      } else if constexpr (std::is_same<T, bool>::value) {
        if (auto v = n.value_exact<bool>()) {
          *dst = *v;
          return caf::none;
        }
        return mismatch("true or false");
      } else {
        if (auto v = n.value_exact<std::string>()) {
          *dst = *v;
          return caf::none;
        }
        return mismatch("a string");
      }
    },
    s->field(cfg));
}

caf::error load_table(node_config& cfg, const toml::table& tbl,
                      const std::string& prefix, const std::string& origin) {
  for (auto&& [k, v] : tbl) {
    std::string key = prefix.empty() ? std::string{k.str()}
                                     : prefix + "." + std::string{k.str()};
    if (auto* sub = v.as_table()) {
      if (!prefix.empty())
        return bad(where(v, origin) + ": unknown section '" + key + "'");
      if (auto err = load_table(cfg, *sub, key, origin))
        return err;
    } else if (auto err = set_from_toml(cfg, key, v, origin)) {
      return err;
    }
  }
  return caf::none;
}

} // namespace

bool is_model_file(const std::string& m) {
  auto ends = [&](const std::string& suffix) {
    return m.size() > suffix.size()
           && m.compare(m.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return m.find('/') != std::string::npos || ends(".pt") || ends(".pth")
         || ends(".ts");
}

namespace {

bool one_of(const std::string& x, std::initializer_list<const char*> xs) {
  for (auto* y : xs)
    if (x == y)
      return true;
  return false;
}

} // namespace

const std::vector<setting_info>& all_settings() {
  static const std::vector<setting_info> xs = [] {
    std::vector<setting_info> result;
    node_config probe;
    for (const auto& s : settings()) {
      result.push_back(s.info);
      result.back().boolean = std::holds_alternative<bool*>(s.field(probe));
    }
    return result;
  }();
  return xs;
}

caf::error set_from_string(node_config& cfg, const std::string& key,
                           const std::string& text) {
  auto* s = find_setting(key);
  if (s == nullptr)
    return bad("unknown setting '" + key + "'");
  return std::visit([&](auto* dst) { return parse_into(dst, key, text); },
                    s->field(cfg));
}

std::string value_text(const node_config& cfg, const std::string& key) {
  auto* s = find_setting(key);
  if (s == nullptr)
    return "";
  node_config copy = cfg; // the accessors hand out mutable pointers
  return std::visit(
    [](auto* v) -> std::string {
      using T = std::remove_pointer_t<decltype(v)>;
      if constexpr (std::is_same<T, std::string>::value) {
        return "\"" + *v + "\"";
      } else if constexpr (std::is_same<T, bool>::value) {
        return *v ? "true" : "false";
      } else if constexpr (std::is_same<T, double>::value) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%g", *v);
        return buf;
      } else {
        return std::to_string(*v);
      }
    },
    s->field(copy));
}

caf::error load_toml_string(node_config& cfg, const std::string& text,
                            const std::string& origin) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return make_fl_error(errc::io_error,
                         origin + ":" + std::to_string(e.source().begin.line)
                           + ": " + std::string{e.description()});
  }
  return load_table(cfg, tbl, "", origin);
}

caf::error load_toml_file(node_config& cfg, const std::string& path) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    if (e.source().begin.line == 0)
      return make_fl_error(errc::io_error, "cannot read config file '" + path
                                             + "': "
                                             + std::string{e.description()});
    return make_fl_error(errc::io_error,
                         path + ":" + std::to_string(e.source().begin.line)
                           + ": " + std::string{e.description()});
  }
  return load_table(cfg, tbl, "", path);
}

namespace {

/// The exact text of one setting's value, as TOML and JSON both take it
/// (non-finite doubles, which neither validate nor JSON accepts, as 0).
std::string exact_value(node_config& cfg, const setting& s) {
  return std::visit(
    [](auto* v) -> std::string {
      using T = std::remove_pointer_t<decltype(v)>;
      if constexpr (std::is_same<T, std::string>::value) {
        return json_quote(*v);
      } else if constexpr (std::is_same<T, bool>::value) {
        return *v ? "true" : "false";
      } else if constexpr (std::is_same<T, double>::value) {
        if (!std::isfinite(*v))
          return "0.0";
        char buf[40];
        std::snprintf(buf, sizeof(buf), "%.17g", *v);
        std::string text = buf;
        if (text.find_first_of(".e") == std::string::npos)
          text += ".0";
        return text;
      } else {
        return std::to_string(*v);
      }
    },
    s.field(cfg));
}

} // namespace

std::string to_toml(const node_config& cfg) {
  node_config copy = cfg; // the accessors hand out mutable pointers
  // One table per section, in the order sections first appear.
  std::vector<std::pair<std::string, std::string>> tables;
  for (const auto& s : settings()) {
    const auto dot = s.info.key.find('.');
    const auto sec = s.info.key.substr(0, dot);
    auto t = std::find_if(tables.begin(), tables.end(),
                          [&](const auto& x) { return x.first == sec; });
    if (t == tables.end())
      t = tables.insert(tables.end(), {sec, ""});
    t->second += s.info.key.substr(dot + 1) + " = " + exact_value(copy, s)
                 + "\n";
  }
  std::string out;
  for (const auto& [sec, body] : tables)
    out += (out.empty() ? "[" : "\n[") + sec + "]\n" + body;
  return out;
}

std::string to_json(const node_config& cfg) {
  node_config copy = cfg;
  std::string out = "{";
  for (const auto& s : settings()) {
    if (out.size() > 1)
      out += ',';
    out += json_quote(s.info.key) + ":" + exact_value(copy, s);
  }
  return out + "}";
}

std::string to_string(federation_mode x) {
  switch (x) {
    case federation_mode::async: return "async";
    case federation_mode::fedbuff: return "fedbuff";
    default: return "sync";
  }
}

caf::expected<federation_mode> parse_federation_mode(const std::string& x) {
  if (x == "sync")
    return federation_mode::sync;
  if (x == "async")
    return federation_mode::async;
  if (x == "fedbuff")
    return federation_mode::fedbuff;
  return bad("federation.mode must be sync, async or fedbuff, got '" + x
             + "'");
}

caf::error validate(const node_config& c) {
  if (c.node.port < 0 || c.node.port > 65535)
    return bad("node.port must be in [0, 65535], got "
               + std::to_string(c.node.port));
  if (!c.federation.gossip())
    if (auto mode = parse_federation_mode(c.federation.mode); !mode)
      return bad("federation.mode must be sync, async, fedbuff or gossip, "
                 "got '" + c.federation.mode + "'");
  if (c.gossip.max_staleness < 0)
    return bad("gossip.max_staleness must be >= 0");
  if (!(c.gossip.neighbor_timeout_s > 0))
    return bad("gossip.neighbor_timeout_s must be > 0");
  if (c.gossip.eval_peers < 0)
    return bad("gossip.eval_peers must be >= 0 (0 = none)");
  if (!(c.gossip.snapshot_s > 0))
    return bad("gossip.snapshot_s must be > 0");
  if (c.gossip.index < 0)
    return bad("gossip.index must be >= 0");
  if (!(c.gossip.linger_s >= 0))
    return bad("gossip.linger_s must be >= 0");
  if (!(c.guard.max_change_ratio >= 0))
    return bad("guard.max_change_ratio must be >= 0 (0 = off)");
  if (!(c.guard.clip_update_norm >= 0))
    return bad("guard.clip_update_norm must be >= 0 (0 = off)");
  if (c.guard.max_samples < 0)
    return bad("guard.max_samples must be >= 0 (0 = the joined count)");
  if (c.guard.max_rejections < 0)
    return bad("guard.max_rejections must be >= 0 (0 = never stop)");
  if (c.federation.rounds < 1)
    return bad("federation.rounds must be >= 1");
  if (c.federation.clients < 1)
    return bad("federation.clients must be >= 1");
  if (c.federation.clients_per_round < 1)
    return bad("federation.clients_per_round must be >= 1");
  if (!(c.federation.quorum > 0 && c.federation.quorum <= 1))
    return bad("federation.quorum must be in (0, 1], got "
               + std::to_string(c.federation.quorum));
  if (!(c.federation.round_deadline_s > 0))
    return bad("federation.round_deadline_s must be > 0");
  if (c.federation.seed < 0)
    return bad("federation.seed must be >= 0");
  if (c.federation.min_clients < 0)
    return bad("federation.min_clients must be >= 0");
  if (c.federation.client_offset < 0 || c.federation.total_clients < 0)
    return bad("federation.client_offset and total_clients must be >= 0");
  if (c.federation.total_clients > 0
      && c.federation.client_offset + c.federation.clients
           > c.federation.total_clients)
    return bad("federation.client_offset + clients exceeds total_clients");
  if (c.federation.target_accuracy < 0 || c.federation.target_accuracy > 1)
    return bad("federation.target_accuracy must be in [0, 1]");
  if (c.federation.straggler_fraction < 0
      || c.federation.straggler_fraction > 1)
    return bad("federation.straggler_fraction must be in [0, 1]");
  if (c.federation.straggler_slowdown < 1)
    return bad("federation.straggler_slowdown must be >= 1");
  if (!(c.federation.speed_sigma >= 0 && c.federation.speed_sigma <= 4))
    return bad("federation.speed_sigma must be in [0, 4]");
  if (!(c.federation.availability > 0 && c.federation.availability <= 1))
    return bad("federation.availability must be in (0, 1]");
  if (!(c.federation.availability_period_s > 0))
    return bad("federation.availability_period_s must be > 0");
  if (!(c.federation.time_scale > 0 && c.federation.time_scale < 1e9))
    return bad("federation.time_scale must be > 0");
  if (!(c.async.alpha > 0 && c.async.alpha <= 1))
    return bad("async.alpha must be in (0, 1]");
  if (!one_of(c.async.staleness, {"constant", "polynomial", "hinge"}))
    return bad("async.staleness must be constant, polynomial or hinge, got '"
               + c.async.staleness + "'");
  if (c.async.staleness_a < 0 || c.async.staleness_b < 0)
    return bad("async.staleness_a and staleness_b must be >= 0");
  if (c.async.max_staleness < 0)
    return bad("async.max_staleness must be >= 0");
  if (!one_of(c.async.clock, {"auto", "logical", "arrival"}))
    return bad("async.clock must be auto, logical or arrival, got '"
               + c.async.clock + "'");
  if (c.async.buffer_k < 1)
    return bad("async.buffer_k must be >= 1");
  if (!(c.async.server_lr > 0))
    return bad("async.server_lr must be > 0");
  if (c.async.concurrency < 0 || c.async.max_updates < 0
      || c.async.max_seconds < 0)
    return bad("async.concurrency, max_updates and max_seconds must be >= 0");
  if (c.federation.eval_every < 0 || c.federation.eval_workers < 0)
    return bad("federation.eval_every and eval_workers must be >= 0");
  if (!one_of(c.training.model, {"mlp", "cnn", "synthetic"})
      && !is_model_file(c.training.model))
    return bad("training.model must be mlp, cnn, synthetic or the path of a "
               "TorchScript file (.pt), got '"
               + c.training.model + "'");
  if (!one_of(c.training.loss, {"auto", "cross-entropy", "mse"}))
    return bad("training.loss must be auto, cross-entropy or mse, got '"
               + c.training.loss + "'");
  if (!one_of(c.data.format, {"fashion-mnist", "idx", "csv", "npy"}))
    return bad("data.format must be fashion-mnist, idx, csv or npy, got '"
               + c.data.format + "'");
  if (!one_of(c.data.csv_header, {"auto", "yes", "no"}))
    return bad("data.csv_header must be auto, yes or no, got '"
               + c.data.csv_header + "'");
  if (!one_of(c.data.task, {"classification", "regression"}))
    return bad("data.task must be classification or regression, got '"
               + c.data.task + "'");
  if (c.data.num_classes < 0 || c.data.num_classes == 1)
    return bad("data.num_classes must be 0 (from the labels) or >= 2");
  if (c.training.synthetic_params < 2)
    return bad("training.synthetic_params must be >= 2");
  if (c.training.epochs < 1)
    return bad("training.epochs must be >= 1");
  if (c.training.batch_size < 1)
    return bad("training.batch_size must be >= 1");
  if (!(c.training.lr > 0))
    return bad("training.lr must be > 0");
  if (c.training.momentum < 0 || c.training.momentum >= 1)
    return bad("training.momentum must be in [0, 1)");
  if (c.training.weight_decay < 0)
    return bad("training.weight_decay must be >= 0");
  if (c.training.prox_mu < 0)
    return bad("training.prox_mu must be >= 0");
  if (c.training.workers < 0)
    return bad("training.workers must be >= 0");
  if (!one_of(c.data.partition,
              {"iid", "iid-unbalanced", "shards", "dirichlet", "labels",
               "by-owner"}))
    return bad("data.partition must be iid, iid-unbalanced, shards, "
               "dirichlet, labels or by-owner, got '"
               + c.data.partition + "'");
  if (!(c.data.dirichlet_alpha > 0))
    return bad("data.dirichlet_alpha must be > 0");
  if (c.data.dirichlet_min_samples < 0)
    return bad("data.dirichlet_min_samples must be >= 0");
  if (c.data.shards_per_client < 1)
    return bad("data.shards_per_client must be >= 1");
  if (c.data.labels_per_client < 1)
    return bad("data.labels_per_client must be >= 1");
  if (c.data.unbalance_sigma < 0)
    return bad("data.unbalance_sigma must be >= 0");
  if (!(c.data.holdout >= 0 && c.data.holdout < 1))
    return bad("data.holdout must be in [0, 1)");
  if (!(c.federation.byzantine_fraction >= 0
        && c.federation.byzantine_fraction <= 1))
    return bad("federation.byzantine_fraction must be in [0, 1]");
  if (c.strategy.krum_f < 0)
    return bad("strategy.krum_f must be >= 0");
  if (c.strategy.multi_krum_m < 0)
    return bad("strategy.multi_krum_m must be >= 0");
  if (c.strategy.client_eval_every < 0)
    return bad("strategy.client_eval_every must be >= 0 (0 = off)");
  if (c.strategy.client_eval_clients < 0)
    return bad("strategy.client_eval_clients must be >= 0");
  if (c.compression.qsgd_bits < 0 || c.compression.qsgd_bucket < 0)
    return bad("compression.qsgd_bits and qsgd_bucket must be >= 0");
  if (!one_of(c.aggregation.device, {"auto", "cpu", "cuda"}))
    return bad("aggregation.device must be auto, cpu or cuda, got '"
               + c.aggregation.device + "'");
  if (!one_of(c.aggregation.strategy, {"layer-by-layer", "bucket-flatten",
                                       "bucket-coalesced", "size-balanced"}))
    return bad("aggregation.strategy must be layer-by-layer, bucket-flatten, "
               "bucket-coalesced or size-balanced, got '"
               + c.aggregation.strategy + "'");
  if (c.aggregation.streams < 1 || c.aggregation.streams > 64)
    return bad("aggregation.streams must be in [1, 64]");
  if (c.aggregation.bucket_mib < 1)
    return bad("aggregation.bucket_mib must be >= 1");
  if (c.aggregation.threads < 0)
    return bad("aggregation.threads must be >= 0");
  if (c.transport.chunk_mib < 1 || c.transport.chunk_mib > 256)
    return bad("transport.chunk_mib must be in [1, 256]");
  if (c.transport.max_message_mib < c.transport.chunk_mib)
    return bad("transport.max_message_mib must be >= transport.chunk_mib");
  if (c.transport.window < 1 || c.transport.window > 64)
    return bad("transport.window must be in [1, 64]");
  if (c.transport.receive_budget_mib < 0)
    return bad("transport.receive_budget_mib must be >= 0");
  if (!(c.transport.request_timeout_s > 0))
    return bad("transport.request_timeout_s must be > 0");
  if (!(c.transport.heartbeat_s > 0))
    return bad("transport.heartbeat_s must be > 0");
  if (!(c.transport.connection_timeout_s > c.transport.heartbeat_s))
    return bad("transport.connection_timeout_s must exceed "
               "transport.heartbeat_s");
  if (!(c.security.auth_timeout_s > 0) || c.security.auth_timeout_s > 3600)
    return bad("security.auth_timeout_s must be in (0, 3600]");
  if (c.security.max_pending < 1 || c.security.max_pending > 65536)
    return bad("security.max_pending must be in [1, 65536]");
  if (c.security.max_connections < c.security.max_pending
      || c.security.max_connections > 1000000)
    return bad("security.max_connections must be in [max_pending, 1000000]");
  if (c.output.resume && c.output.checkpoint_dir.empty())
    return bad("output.resume needs output.checkpoint_dir");
  if (!one_of(c.output.log_level,
              {"trace", "debug", "info", "warn", "error", "off"}))
    return bad("output.log_level must be trace, debug, info, warn, error or "
               "off, got '"
               + c.output.log_level + "'");
  return caf::none;
}

std::vector<std::string> config_warnings(const node_config& c,
                                         const std::string& command) {
  std::vector<std::string> out;
  if (command == "client")
    return out; // its clients count is what it hosts, not the federation
  const auto& f = c.federation;
  if (command == "peer" || f.gossip()) {
    // No server: sampling, quorum and the async server's limits do not
    // apply.
    if (f.eval_every > f.rounds)
      out.push_back("federation.eval_every = " + std::to_string(f.eval_every)
                    + " is above federation.rounds = "
                    + std::to_string(f.rounds)
                    + ": only the last round is evaluated");
    if (!c.gossip.asynchronous && c.gossip.max_staleness != 10)
      out.push_back("gossip.max_staleness has no effect without "
                    "gossip.asynchronous");
    return out;
  }
  const auto n = std::to_string(f.clients);
  const bool sync = f.kind() == federation_mode::sync;
  if (f.clients_per_round > f.clients)
    out.push_back("federation.clients_per_round = "
                  + std::to_string(f.clients_per_round)
                  + " is above federation.clients = " + n + ": "
                  + (sync ? "each round samples all " + n
                          : "at most " + n + " clients train at once"));
  if (f.min_clients > f.clients)
    out.push_back("federation.min_clients = " + std::to_string(f.min_clients)
                  + " is above federation.clients = " + n
                  + ": the run waits for clients that are not expected");
  if (sync && c.async.max_updates > 0)
    out.push_back("async.max_updates has no effect in sync mode (the run "
                  "ends after federation.rounds)");
  if (sync && c.async.max_seconds > 0)
    out.push_back("async.max_seconds has no effect in sync mode");
  if (!sync && c.async.concurrency > f.clients)
    out.push_back("async.concurrency = " + std::to_string(c.async.concurrency)
                  + " is above federation.clients = " + n);
  if (sync && f.eval_every > f.rounds)
    out.push_back("federation.eval_every = " + std::to_string(f.eval_every)
                  + " is above federation.rounds = "
                  + std::to_string(f.rounds)
                  + ": only the last round is evaluated");
  if (c.output.resume && c.output.metrics.empty())
    out.push_back("output.resume without output.metrics: the resumed run "
                  "keeps no records");
  return out;
}

} // namespace fl
