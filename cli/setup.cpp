#include "cli/setup.hpp"

#include "runtime/aggregation/strategy_registry.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/data/dataset_loader.hpp"
#include "runtime/data/partition.hpp"
#include "runtime/storage/checkpoint.hpp"
#include "runtime/storage/manifest.hpp"
#include "runtime/storage/strategy_state.hpp"
#include "runtime/training/synthetic_trainer.hpp"
#include "runtime/training/torch_trainer.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>
#include <unistd.h>

namespace fl::cli {

data_source data_source_of(const node_config& cfg) {
  data_source src;
  const auto& d = cfg.data;
  src.format = d.format;
  src.dir = d.dir;
  src.train_data = d.train_data;
  src.train_labels = d.train_labels;
  src.test_data = d.test_data;
  src.test_labels = d.test_labels;
  src.owners = d.owners;
  src.label_column = d.label_column;
  src.csv_header = d.csv_header;
  src.task = d.task == "regression" ? task_kind::regression
                                    : task_kind::classification;
  src.num_classes = d.num_classes;
  return src;
}

caf::expected<training_setup> make_training(const node_config& cfg,
                                            const node_plugins& plug) {
  if (plug.trainer)
    return training_setup{plug.trainer, plug.data};
  auto given_data = plug.data;
  if (cfg.training.model == "synthetic") {
    auto n = static_cast<uint64_t>(cfg.training.synthetic_params);
    return training_setup{
        [n] { return std::make_unique<synthetic_trainer>(n); }, nullptr};
  }
  auto data = given_data
                  ? caf::expected<std::shared_ptr<const dataset>>{std::move(
                      given_data)}
                  : load_dataset(data_source_of(cfg));
  if (!data)
    return std::move(data.error());
  const torch_model_spec spec{cfg.training.model, cfg.training.loss};
  // Fail early on a model that does not fit the data, rather than inside
  // a worker.
  auto probe = torch_trainer::make(spec, *data);
  if (!probe)
    return std::move(probe.error());
  auto shared = *data;
  return training_setup{[spec, shared]() -> std::unique_ptr<trainer> {
                          return std::move(*torch_trainer::make(spec, shared));
                        },
                        shared};
}

strategy_settings strategy_settings_of(const node_config& cfg) {
  strategy_settings s;
  const auto& x = cfg.strategy;
  s.name = x.name;
  s.clients_per_round = static_cast<uint64_t>(
      std::max<int64_t>(cfg.federation.clients_per_round, 1));
  s.quorum = cfg.federation.quorum;
  s.seed = static_cast<uint64_t>(cfg.federation.seed);
  s.total_clients = static_cast<uint64_t>(std::max<int64_t>(
      cfg.federation.total_clients > 0 ? cfg.federation.total_clients
                                       : cfg.federation.clients,
      1));
  s.server_lr = x.server_lr;
  s.server_momentum = x.server_momentum;
  s.beta1 = x.beta1;
  s.beta2 = x.beta2;
  s.tau = x.tau;
  s.prox_mu = cfg.training.prox_mu;
  s.client_lr = cfg.training.lr;
  s.trim_beta = x.trim_beta;
  s.krum_f = static_cast<uint64_t>(x.krum_f);
  s.multi_krum_m = static_cast<uint64_t>(x.multi_krum_m);
  s.norm_bound = x.norm_bound;
  s.client_eval_every = static_cast<uint64_t>(x.client_eval_every);
  s.client_eval_clients = static_cast<uint64_t>(x.client_eval_clients);
  return s;
}

compression_settings compression_of(const node_config& cfg) {
  compression_settings c;
  c.method = cfg.compression.method;
  c.topk_ratio = cfg.compression.topk_ratio;
  c.qsgd_bits = static_cast<uint32_t>(cfg.compression.qsgd_bits);
  c.qsgd_bucket = static_cast<uint32_t>(cfg.compression.qsgd_bucket);
  c.error_feedback = !cfg.compression.no_error_feedback;
  c.momentum = cfg.compression.momentum;
  return c;
}

caf::error validate_plugins(const node_config& cfg) {
  auto strat = make_strategy(strategy_settings_of(cfg));
  if (!strat)
    return std::move(strat.error());
  if (auto err = validate(compression_of(cfg)))
    return err;
  if (auto err = validate(byzantine_settings{
          cfg.federation.byzantine_attack, cfg.federation.byzantine_scale, 0}))
    return err;
  const auto& name = cfg.strategy.name;
  const auto plan = (*strat)->plan();
  const auto mode = cfg.federation.kind();
  auto refuse = [&](const std::string& why) {
    return make_fl_error(errc::invalid_config, "strategy " + name + " " + why);
  };
  if (mode == federation_mode::async
      && (plan.robust.rule != combine_rule::weighted_mean || plan.optimizer
          || plan.control_variates || name == "fednova"))
    return refuse("does not work with --mode async (FedAsync mixes one "
                  "update at a time); use --mode fedbuff or sync");
  if (mode == federation_mode::fedbuff
      && (plan.control_variates || name == "fednova"))
    return refuse("needs synchronous rounds (--mode sync)");
  if (mode == federation_mode::fedbuff
      && plan.robust.rule != combine_rule::weighted_mean) {
    robust_settings r = plan.robust;
    if (auto err = validate(r, static_cast<uint64_t>(cfg.async.buffer_k)))
      return refuse("with --buffer-k " + std::to_string(cfg.async.buffer_k)
                    + ": " + describe(err));
  }
  return caf::none;
}

namespace {

/// Creates `dir` (and its parents) when missing and checks that a file can
/// be written there. Errors: `io_error` naming `what` and the folder.
caf::error make_writable_folder(const std::string& dir,
                                const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_fl_error(errc::io_error, "cannot create the " + what + " '"
                                             + dir + "': " + ec.message());
  const auto probe
      = (fs::path{dir} / (".fl-write-test-" + std::to_string(::getpid())))
            .string();
  std::FILE* f = std::fopen(probe.c_str(), "w");
  if (f == nullptr)
    return make_fl_error(errc::io_error, "cannot write into the " + what + " '"
                                             + dir
                                             + "': " + std::strerror(errno));
  std::fclose(f);
  std::remove(probe.c_str());
  return caf::none;
}

} // namespace

caf::error prepare_output_folders(const node_config& cfg) {
  if (!cfg.output.checkpoint_dir.empty())
    if (auto err
        = make_writable_folder(cfg.output.checkpoint_dir, "checkpoint folder"))
      return err;
  for (const auto& file : {cfg.output.metrics, cfg.output.client_metrics}) {
    auto parent = std::filesystem::path{file}.parent_path();
    if (!file.empty() && !parent.empty())
      if (auto err = make_writable_folder(parent.string(), "metrics folder"))
        return err;
  }
  return caf::none;
}

uint64_t eval_workers(const node_config& cfg) {
  if (cfg.federation.eval_workers > 0)
    return static_cast<uint64_t>(cfg.federation.eval_workers);
  return std::max(1u, std::thread::hardware_concurrency() / 4);
}

server_settings make_server_settings(const node_config& cfg) {
  server_settings s;
  s.id = cfg.node.id.empty() ? "server" : cfg.node.id;
  s.rounds = static_cast<uint64_t>(cfg.federation.rounds);
  s.min_clients = static_cast<uint64_t>(cfg.federation.min_clients > 0
                                            ? cfg.federation.min_clients
                                            : cfg.federation.clients);
  s.round_deadline_s = cfg.federation.round_deadline_s;
  s.heartbeat_ms = static_cast<uint32_t>(cfg.transport.heartbeat_s * 1000);
  s.metrics_path = cfg.output.metrics;
  s.checkpoint_dir = cfg.output.checkpoint_dir;
  s.target_accuracy = cfg.federation.target_accuracy;
  s.client_metrics_path = cfg.output.client_metrics;
  s.eval_every = static_cast<uint64_t>(
      cfg.federation.eval_every > 0 ? cfg.federation.eval_every : 1);
  s.eval_limit = eval_workers(cfg);
  s.eval_skip_superseded = cfg.federation.eval_skip_superseded;
  s.guard = guard_settings_of(cfg);
  return s;
}

guard_settings guard_settings_of(const node_config& cfg) {
  guard_settings g;
  g.max_change_ratio = cfg.guard.max_change_ratio;
  g.clip_update_norm = cfg.guard.clip_update_norm;
  g.max_samples = static_cast<uint64_t>(cfg.guard.max_samples);
  g.max_rejections = static_cast<uint64_t>(cfg.guard.max_rejections);
  return g;
}

async_server_settings make_async_settings(const node_config& cfg) {
  async_server_settings s;
  s.id = cfg.node.id.empty() ? "server" : cfg.node.id;
  s.mode = cfg.federation.kind();
  s.guard = guard_settings_of(cfg);
  s.min_clients = static_cast<uint64_t>(cfg.federation.min_clients > 0
                                            ? cfg.federation.min_clients
                                            : cfg.federation.clients);
  s.concurrency = static_cast<uint64_t>(cfg.async.concurrency > 0
                                            ? cfg.async.concurrency
                                            : cfg.federation.clients_per_round);
  s.alpha = cfg.async.alpha;
  s.staleness = staleness_fn{*parse_staleness_kind(cfg.async.staleness),
                             cfg.async.staleness_a, cfg.async.staleness_b};
  s.max_staleness = static_cast<uint64_t>(cfg.async.max_staleness);
  s.buffer_k = static_cast<uint64_t>(cfg.async.buffer_k);
  s.server_lr = cfg.async.server_lr;
  s.max_updates = static_cast<uint64_t>(
      cfg.async.max_updates > 0
          ? cfg.async.max_updates
          : cfg.federation.rounds * cfg.federation.clients_per_round);
  s.max_seconds = cfg.async.max_seconds;
  s.target_accuracy = cfg.federation.target_accuracy;
  s.eval_every = static_cast<uint64_t>(
      cfg.federation.eval_every > 0 ? cfg.federation.eval_every : 10);
  s.client_metrics_path = cfg.output.client_metrics;
  s.eval_limit = eval_workers(cfg);
  s.eval_skip_superseded = cfg.federation.eval_skip_superseded;
  s.update_deadline_s = cfg.federation.round_deadline_s;
  s.heartbeat_ms = static_cast<uint32_t>(cfg.transport.heartbeat_s * 1000);
  s.metrics_path = cfg.output.metrics;
  s.checkpoint_dir = cfg.output.checkpoint_dir;
  return s;
}

caf::expected<std::shared_ptr<aggregator>> make_folder(const node_config& cfg,
                                                       const loggers& log) {
  aggregator_options opts;
  opts.device = cfg.aggregation.device;
  opts.cpu_threads = static_cast<size_t>(cfg.aggregation.threads);
  opts.strategy = *parse_bucket_strategy(cfg.aggregation.strategy);
  opts.streams = static_cast<uint32_t>(cfg.aggregation.streams);
  opts.bucket_elements = static_cast<uint64_t>(cfg.aggregation.bucket_mib)
                         << 18; // MiB of floats
  std::string reason;
  auto agg = make_aggregator(opts, &reason);
  if (!agg)
    return std::move(agg.error());
  if (!reason.empty())
    log.node->info("aggregation on the CPU: no usable GPU ({})", reason);
  log.node->info("aggregator: {}", (*agg)->name());
  if ((*agg)->name().rfind("cpu", 0) != 0)
    log.node->warn("the {} aggregator sums in float, in arrival order: runs "
                   "are not bit-identical (--aggregation-device cpu sums "
                   "exactly)",
                   (*agg)->name());
  return std::shared_ptr<aggregator>{std::move(*agg)};
}

caf::expected<std::pair<flat_model, resume_point>>
initial_model(const node_config& cfg, trainer& t, const loggers& log) {
  if (!cfg.output.resume) {
    flat_model m{t.layout()};
    auto params = t.initial_params(static_cast<uint64_t>(cfg.federation.seed));
    m.assign(span<const float>{params});
    return std::make_pair(std::move(m), resume_point{});
  }
  auto path = checkpoint_path(cfg.output.checkpoint_dir);
  auto ckpt = load_checkpoint(path);
  if (!ckpt)
    return std::move(ckpt.error());
  if (ckpt->model.layout() != t.layout())
    return make_fl_error(errc::layout_mismatch,
                         "checkpoint '" + path
                             + "' holds another model than --model "
                             + cfg.training.model);
  log.node->info("resuming from {} (round {}, model version {})", path,
                 ckpt->round, ckpt->model_version);
  resume_point from{ckpt->round, ckpt->model_version};
  return std::make_pair(std::move(ckpt->model), from);
}

caf::error check_model_fits(const node_config& cfg, const model_layout& l) {
  const uint64_t bytes = l.numel() * sizeof(float);
  const auto limit = static_cast<uint64_t>(cfg.transport.max_message_mib) << 20;
  if (bytes <= limit)
    return caf::none;
  return make_fl_error(errc::invalid_config,
                       "the model holds " + std::to_string(bytes >> 20)
                           + " MiB, more than the message limit of "
                           + std::to_string(cfg.transport.max_message_mib)
                           + " MiB: set --max-message-mib (transport."
                             "max_message_mib) to at least "
                           + std::to_string((bytes >> 20) + 1)
                           + " on every node");
}

caf::expected<strategy_state> resumed_strategy_state(const node_config& cfg,
                                                     const strategy& strat,
                                                     resume_point from) {
  if (!cfg.output.resume)
    return strategy_state{};
  const auto path = strategy_state_path(cfg.output.checkpoint_dir);
  const auto p = strat.plan();
  const bool stateful = p.optimizer || p.control_variates;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (stateful)
      return make_fl_error(errc::io_error,
                           "strategy " + cfg.strategy.name
                               + " keeps state, but '" + path
                               + "' is missing: the checkpoint cannot resume "
                                 "it");
    return strategy_state{};
  }
  auto state = load_strategy_state(path);
  if (!state)
    return std::move(state.error());
  if (state->model_version != from.version)
    return make_fl_error(errc::invalid_config,
                         "'" + path + "' belongs to model version "
                             + std::to_string(state->model_version)
                             + ", the model checkpoint is version "
                             + std::to_string(from.version)
                             + " (a crash between the two writes?); resume "
                               "refused");
  return state;
}

caf::expected<caf::actor>
spawn_server_for(caf::actor_system& sys, const node_config& cfg,
                 uint64_t min_clients, flat_model initial, caf::actor evaluator,
                 const run_logs& logs, const loggers& log, resume_point from,
                 const std::string& command,
                 std::shared_ptr<const client_profiles> profiles) {
  if (auto err = prepare_output_folders(cfg))
    return err;
  auto folder = make_folder(cfg, log);
  if (!folder)
    return std::move(folder.error());
  auto strat = make_strategy(strategy_settings_of(cfg));
  if (!strat)
    return std::move(strat.error());
  auto state = resumed_strategy_state(cfg, **strat, from);
  if (!state)
    return std::move(state.error());
  log.node->info("strategy {}", (*strat)->name());
  if (cfg.federation.kind() == federation_mode::sync) {
    auto s = make_server_settings(cfg);
    s.min_clients = min_clients;
    s.start_round = from.round;
    s.start_version = from.version;
    s.log_sink = logs.rounds;
    s.folder = *folder;
    s.manifest = run_manifest(cfg, command);
    s.resident_limit = static_cast<uint64_t>(cfg.federation.clients_per_round);
    s.initial_state = std::move(*state);
    s.profiles = std::move(profiles);
    return spawn_server(sys, s, *strat, std::move(initial),
                        std::move(evaluator), log);
  }
  auto s = make_async_settings(cfg);
  s.min_clients = min_clients;
  s.start_version = from.version;
  s.log_sink = logs.versions;
  s.folder = *folder;
  s.manifest = run_manifest(cfg, command);
  s.logical_clock = cfg.async.clock == "logical"
                    || (cfg.async.clock == "auto" && command == "sim");
  s.seed = static_cast<uint64_t>(cfg.federation.seed);
  s.strat = *strat;
  s.initial_state = std::move(*state);
  s.profiles = std::move(profiles);
  return spawn_async_server(sys, s, std::move(initial), std::move(evaluator),
                            log);
}

namespace {

/// The first record whose test accuracy reaches `target` (null when
/// `target` is 0, i.e. off, or never reached).
template <class Record>
const Record* first_reaching(const std::vector<Record>& rs, double target) {
  if (target <= 0)
    return nullptr;
  for (const auto& r : rs)
    if (r.test_accuracy >= target)
      return &r;
  return nullptr;
}

} // namespace

void print_run_summary(const node_config& cfg, const run_logs& logs,
                       double wall_seconds) {
  if (cfg.federation.kind() == federation_mode::sync) {
    print_summary(*logs.rounds, wall_seconds);
    auto rs = logs.rounds->records();
    if (auto* r = first_reaching(rs, cfg.federation.target_accuracy))
      std::printf("reached %.2f     at %.2f s (round %llu)\n",
                  cfg.federation.target_accuracy, r->elapsed_seconds,
                  static_cast<unsigned long long>(r->round));
    return;
  }
  auto rs = logs.versions->records();
  std::printf("\n== summary (%s) ==\n", cfg.federation.mode.c_str());
  if (rs.empty()) {
    std::printf("no update applied\n");
    return;
  }
  const auto& last = rs.back();
  std::printf("model version    %llu\n",
              static_cast<unsigned long long>(last.model_version));
  std::printf("updates          %llu applied, %llu dropped\n",
              static_cast<unsigned long long>(last.updates_applied),
              static_cast<unsigned long long>(last.updates_dropped));
  std::printf("throughput       %.1f updates/s\n",
              last.elapsed_seconds > 0
                  ? static_cast<double>(last.updates_applied)
                        / last.elapsed_seconds
                  : 0.0);
  std::printf("total            %.2f s\n", wall_seconds);
  size_t evaluated = 0, skipped = 0;
  double eval_total = 0;
  for (const auto& r : rs) {
    evaluated += r.test_accuracy >= 0;
    skipped += r.eval_skipped;
    eval_total += r.test_accuracy >= 0 ? r.eval_seconds : 0;
  }
  if (evaluated > 0)
    std::printf("evaluations      %zu (mean %.3f s), %zu skipped as "
                "superseded\n",
                evaluated, eval_total / static_cast<double>(evaluated),
                skipped);
  if (last.test_accuracy >= 0)
    std::printf("final accuracy   %.4f (test loss %.4f)\n", last.test_accuracy,
                last.test_loss);
  if (auto* r = first_reaching(rs, cfg.federation.target_accuracy))
    std::printf("reached %.2f     at %.2f s (version %llu)\n",
                cfg.federation.target_accuracy, r->elapsed_seconds,
                static_cast<unsigned long long>(r->model_version));
}

caf::expected<std::pair<std::string, uint16_t>>
parse_endpoint(const std::string& x) {
  auto pos = x.rfind(':');
  if (pos == std::string::npos || pos == 0 || pos + 1 == x.size())
    return make_fl_error(errc::invalid_config,
                         "expected HOST:PORT, got '" + x + "'");
  auto host = x.substr(0, pos);
  auto port_text = x.substr(pos + 1);
  try {
    size_t used = 0;
    auto port = std::stol(port_text, &used);
    if (used != port_text.size() || port < 1 || port > 65535)
      throw std::out_of_range(port_text);
    return std::make_pair(host, static_cast<uint16_t>(port));
  } catch (const std::exception&) {
    return make_fl_error(errc::invalid_config,
                         "bad port '" + port_text + "' in '" + x + "'");
  }
}

void print_summary(const round_log& log, double wall_seconds) {
  auto rs = log.records();
  if (rs.empty()) {
    std::printf("no round completed\n");
    return;
  }
  auto median_of = [](std::vector<double> xs) {
    if (xs.empty())
      return 0.0;
    std::sort(xs.begin(), xs.end());
    return xs[xs.size() / 2];
  };
  std::vector<double> times, evals;
  for (const auto& r : rs) {
    times.push_back(r.round_seconds);
    if (r.test_accuracy >= 0)
      evals.push_back(r.eval_seconds);
  }
  const auto& last = rs.back();
  std::printf("\n== summary ==\n");
  std::printf("rounds           %zu (model version %llu)\n", rs.size(),
              static_cast<unsigned long long>(last.model_version));
  std::printf("median round     %.3f s (training and aggregation)\n",
              median_of(times));
  if (!evals.empty())
    std::printf("median eval      %.3f s (%zu evaluations)\n", median_of(evals),
                evals.size());
  std::printf("per round        %.3f s with evaluation (%.2f s until the "
              "last record)\n",
              last.recorded_seconds / static_cast<double>(rs.size()),
              last.recorded_seconds);
  std::printf("total            %.2f s\n", wall_seconds);
  if (last.test_accuracy >= 0)
    std::printf("final accuracy   %.4f (test loss %.4f)\n", last.test_accuracy,
                last.test_loss);
  size_t failed = 0;
  for (const auto& r : rs)
    failed += r.clients_failed;
  std::printf("client failures  %zu\n", failed);
}

} // namespace fl::cli
