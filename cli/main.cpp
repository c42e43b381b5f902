// fl-node: the fedactor command line. Parses flags (and an optional TOML
// file), builds the loggers, and hands over to one subcommand. All wiring
// of components happens in the run_* functions; nothing global.

#include <cstdio>
#include <iostream>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "bench/aggregation_bench.hpp"
#include "bench/codec_bench.hpp"
#include "bench/robust_bench.hpp"
#include "cli/commands.hpp"
#include "cli/flag_hints.hpp"
#include "cli/launch.hpp"
#include "cli/node_security.hpp"
#include "cli/options.hpp"
#include "cli/report_command.hpp"
#include "cli/client_roster.hpp"
#include "cli/setup.hpp"
#include "cli/transfer_bench.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/logging.hpp"

namespace {

constexpr int exit_usage = 2;

/// This executable's path, so launched nodes run the same fl-node.
std::string self_path(const char* argv0) {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0)
    return std::string(buf, static_cast<size_t>(n));
  return argv0;
}

} // namespace

int main(int argc, char** argv) {
  using namespace fl;
  CLI::App app{"fl-node: federated learning on the C++ Actor Framework.\n"
               "Run `fl-node <command> --help` for the flags of a command."};
  app.name("fl-node");
  app.require_subcommand(1);
  app.set_version_flag("--version", "fl-node 0.1.0");

  auto* sim = app.add_subcommand(
    "sim", "run a whole federation (server + clients) in one process");
  cli::option_set sim_opts{*sim, for_sim};
  bool partition_report = false;
  sim->add_flag("--partition-report", partition_report,
                "print each client's sample and class counts, then exit");
  std::string partition_csv;
  sim->add_option("--partition-csv", partition_csv,
                  "write each client's sample count per class to this CSV "
                  "(for `fl-node report --partition`), then run (or exit "
                  "with --partition-report)");
  auto* server = app.add_subcommand(
    "server", "run the server; clients join it over the network");
  cli::option_set server_opts{*server, for_server};
  auto* client = app.add_subcommand(
    "client", "host --clients simulated clients that join --upstream");
  cli::option_set client_opts{*client, for_client};
  auto* scheduler = app.add_subcommand(
    "scheduler", "a middle server for a client group: pre-aggregates it "
                 "(sync) or relays it (async, fedbuff)");
  cli::option_set scheduler_opts{*scheduler, for_scheduler};
  auto* peer = app.add_subcommand(
    "peer", "one decentralized peer (--mode gossip without a server): "
            "trains and averages with its neighbors in --topology");
  cli::option_set peer_opts{*peer, for_peer};
  auto* launch = app.add_subcommand(
    "launch", "start the nodes of a cluster file (here and over SSH), show "
              "their progress, stop them all at the end");
  std::string cluster_file;
  bool print_only = false;
  launch->add_option("cluster", cluster_file, "cluster TOML file")
    ->required()
    ->check(CLI::ExistingFile);
  launch->add_flag("--print", print_only,
                   "print the command of every node (per host), write a "
                   "Slurm batch script to the log folder, and exit");
  launch->footer(cli::cluster_file_help);
  auto* report = app.add_subcommand(
    "report", "write an HTML report (plots, summary) of one or more runs' "
              "metrics files, or their summary as CSV");
  cli::report_options report_opts;
  report->add_option("metrics", report_opts.metrics,
                     "metrics .jsonl files (--metrics of sim or server), one "
                     "per run")
    ->required()
    ->check(CLI::ExistingFile);
  report->add_option("-o,--output", report_opts.output,
                     "output file (default report.html; csv: stdout)");
  report->add_option("--format", report_opts.format, "html | csv")
    ->check(CLI::IsMember({"html", "csv"}))
    ->capture_default_str();
  report->add_option("--target-accuracy", report_opts.target_accuracy,
                     "accuracy for the 'time to target' column")
    ->check(CLI::Range(0.0, 1.0))
    ->capture_default_str();
  report->add_option("--partition", report_opts.partition_csv,
                     "a partition CSV (fl-node sim --partition-csv) to show "
                     "as a heat map")
    ->check(CLI::ExistingFile);
  auto* certs = app.add_subcommand(
    "certs", "make the federation's CA and a startup kit per node (TLS "
             "certificate, key, per-node token) plus the operator's access "
             "file");
  std::string certs_dir;
  std::vector<std::string> certs_nodes;
  int certs_days = 365;
  certs->add_option("--out", certs_dir,
                    "folder of the CA, the kits (one sub-folder per node) "
                    "and access.toml; an existing CA there is reused")
    ->required();
  certs->add_option("nodes", certs_nodes,
                    "NAME or NAME=GRANT[+GRANT...]: the node ids it may join "
                    "as (e.g. host-a=client-0..7, relay=*); default: NAME")
    ->required();
  certs->add_option("--days", certs_days, "certificates' validity (days)")
    ->capture_default_str();
  certs->footer(
    "Each node runs with --tls OUT/NAME (mutual TLS) or, without TLS, with "
    "--identity NAME --token-file OUT/NAME/token; the server (scheduler, "
    "peer) reads --access OUT/access.toml, whose deny list revokes a node "
    "while the federation runs.");
  auto* bench = app.add_subcommand("bench", "run a benchmark and print "
                                            "figures");
  bench->require_subcommand(1);
  auto* bench_codec = bench->add_subcommand(
    "codec", "wire encode/decode throughput and accumulate bandwidth");
  bench::codec_bench_options codec_opts;
  bench_codec->add_option("--sizes-mib", codec_opts.sizes_mib,
                          "model sizes to encode, MiB")
    ->capture_default_str();
  bench_codec->add_option("--chunk-mib", codec_opts.chunk_mib,
                          "chunk size, MiB")
    ->capture_default_str();
  bench_codec->add_option("--repeats", codec_opts.repeats,
                          "repetitions (best is reported)")
    ->capture_default_str();

  auto* bench_robust = bench->add_subcommand(
    "robust", "robust aggregation rules and update compressors: GB/s next "
              "to the FedAvg fold");
  bench::robust_bench_options robust_opts;
  bench_robust->add_option("--sizes", robust_opts.sizes, "model sizes, floats")
    ->capture_default_str();
  bench_robust->add_option("--k", robust_opts.k, "updates per round")
    ->capture_default_str();
  auto* bench_agg = bench->add_subcommand(
    "aggregation", "fold throughput per device, strategy, streams, size, K");
  bench::aggregation_bench_options agg_opts;
  bench_agg->add_option("--sizes", agg_opts.sizes, "model sizes, floats")
    ->capture_default_str();
  bench_agg->add_option("--k", agg_opts.ks, "updates folded per measurement")
    ->capture_default_str();
  bench_agg->add_option("--device", agg_opts.device, "cpu | cuda | all")
    ->check(CLI::IsMember({"cpu", "cuda", "all"}))
    ->capture_default_str();

  auto* bench_transfer = bench->add_subcommand(
    "transfer", "model bytes per second between two processes (run "
                "--serve on one side, --to HOST:PORT on the other)");
  cli::transfer_bench_options xfer;
  bench_transfer->add_flag("--serve", xfer.serve, "receive");
  bench_transfer->add_option("--host", xfer.host, "serve: address to listen on")
    ->capture_default_str();
  bench_transfer->add_option("--port", xfer.port, "serve: port (0 = any)")
    ->capture_default_str();
  bench_transfer->add_option("--port-file", xfer.port_file,
                             "serve: write the bound port here");
  bench_transfer->add_option("--to", xfer.to, "send: HOST:PORT of the receiver");
  bench_transfer->add_option("--token", xfer.token, "shared token of both sides")
    ->capture_default_str();
  bench_transfer->add_option("--mib", xfer.mib, "model size, MiB")
    ->check(CLI::Range(1, 16384))
    ->capture_default_str();
  bench_transfer->add_option("--count", xfer.count, "models sent (both sides)")
    ->check(CLI::Range(1, 1000))
    ->capture_default_str();
  bench_transfer->add_option("--chunk-mib", xfer.chunk_mib,
                             "piece size, MiB (transport.chunk_mib)")
    ->check(CLI::Range(1, 256))
    ->capture_default_str();
  bench_transfer->add_option("--window", xfer.window,
                             "pieces unanswered (transport.window)")
    ->check(CLI::Range(1, 64))
    ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    // Say which flag was meant, or which subcommand has it.
    const CLI::App* cmd = &app;
    while (!cmd->get_subcommands().empty())
      cmd = cmd->get_subcommands().front();
    if (cmd == &app)
      return app.exit(e);
    std::fprintf(stderr, "%s\n",
                 cli::explain_unexpected(app, *cmd, cmd->remaining()).c_str());
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (*bench_codec)
    return bench::run_codec_bench(codec_opts);
  if (*bench_robust)
    return bench::run_robust_bench(robust_opts);
  if (*bench_agg)
    return bench::run_aggregation_bench(agg_opts);
  if (*bench_transfer)
    return cli::run_transfer_bench(xfer);
  if (*report)
    return cli::run_report(report_opts);
  if (*certs)
    return cli::run_certs(certs_dir, certs_nodes, certs_days);
  if (*launch)
    return cli::run_launch(cluster_file, print_only, self_path(argv[0]));

  const cli::option_set* opts = *sim         ? &sim_opts
                                : *server    ? &server_opts
                                : *scheduler ? &scheduler_opts
                                : *peer      ? &peer_opts
                                             : &client_opts;
  auto cfg = opts->resolve();
  if (!cfg) {
    std::fprintf(stderr, "fl-node: %s\n", describe(cfg.error()).c_str());
    return exit_usage;
  }
  auto log = make_loggers(cfg->output.log_level, cfg->output.log_file);
  if (!log) {
    std::fprintf(stderr, "fl-node: %s\n", describe(log.error()).c_str());
    return exit_usage;
  }
  const std::string command = *sim         ? "sim"
                              : *server    ? "server"
                              : *scheduler ? "scheduler"
                              : *peer      ? "peer"
                                           : "client";
  if (cfg->federation.gossip() && (*server || *scheduler || *client)) {
    std::fprintf(stderr,
                 "fl-node: --mode gossip has no %s: run `fl-node peer` on "
                 "each host (or `fl-node sim --mode gossip`)\n",
                 command.c_str());
    return exit_usage;
  }
  for (const auto& warning : config_warnings(*cfg, command))
    log->node->warn("{}", warning);
  if (*sim && (partition_report || !partition_csv.empty())) {
    auto rc = cli::print_partition_report(
      *cfg, static_cast<uint64_t>(cfg->federation.clients), partition_report,
      partition_csv);
    if (rc != 0 || partition_report)
      return rc;
  }
  if (*sim)
    return cli::run_sim(*cfg, *log);
  if (*server)
    return cli::run_server(*cfg, *log);
  if (*scheduler)
    return cli::run_scheduler(*cfg, *log);
  if (*peer)
    return cli::run_peer(*cfg, *log);
  return cli::run_client(*cfg, *log);
}
