#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fl {

/// How a federation trains: synchronous rounds (FedAvg), FedAsync (each
/// update mixed in on arrival) or FedBuff (buffered deltas).
enum class federation_mode : uint8_t { sync, async, fedbuff };

/// "sync", "async" or "fedbuff".
std::string to_string(federation_mode x);

/// Parses "sync", "async" or "fedbuff". Errors: `invalid_config`.
caf::expected<federation_mode> parse_federation_mode(const std::string& x);

/// Every setting of a node, grouped as in the TOML file ([node], [federation],
/// ...). Defaults reproduce workload W1 (see README). Plain value type: built
/// by `load_toml_file` + `set_from_string` in cli/, checked by `validate`.
struct node_config {
  struct node_section {
    std::string host = "127.0.0.1"; ///< address to publish on / advertise
    int64_t port = 0;               ///< port to publish on; 0 lets the OS pick
    std::string upstream;           ///< "HOST:PORT" of the server to join
    std::string id;                 ///< node id; empty = derived from host/pid
    std::string token;              ///< shared secret for joining; "" = none
    std::string port_file;          ///< if set, the bound port is written here
  } node;
  struct federation_section {
    std::string mode = "sync";      ///< sync | async | fedbuff | gossip
    /// Decentralized: peers average with neighbors, no server.
    bool gossip() const { return mode == "gossip"; }
    /// The mode as an enum (gossip, which has no server, reads as sync).
    /// REQUIRES: a validated config.
    federation_mode kind() const {
      auto m = parse_federation_mode(mode);
      return m ? *m : federation_mode::sync;
    }
    int64_t rounds = 30;            ///< rounds to run (sync)
    int64_t clients = 100;          ///< simulated clients (sim) / expected total
    int64_t clients_per_round = 10; ///< sampled per round
    double quorum = 1.0;            ///< fraction of sampled clients to wait for
    double round_deadline_s = 120;  ///< a round closes after this many seconds
    int64_t seed = 0;               ///< seed for sampling, partitioning, init
    int64_t min_clients = 0;        ///< wait for this many joins; 0 = clients
    int64_t client_offset = 0;      ///< client: global index of its first client
    int64_t total_clients = 0;      ///< client: clients in the federation (partitioning); 0 = clients
    double target_accuracy = 0;     ///< stop once test accuracy reaches it; 0 = off
    /// Evaluate every N rounds (sync) or model versions (async); 0 = every
    /// round in sync, every 10 versions in async. The last model is always
    /// evaluated.
    int64_t eval_every = 0;
    int64_t eval_workers = 0;       ///< evaluations at once; 0 = max(1, cores / 4)
    /// A model waiting for evaluation is skipped when a newer one is due
    /// (else training waits for evaluation).
    bool eval_skip_superseded = false;
    double straggler_fraction = 0;  ///< share of clients that are slow (seeded)
    double straggler_slowdown = 5;  ///< how many times slower they are
    /// Heterogeneity of simulated clients (runtime/federation/
    /// client_profiles.hpp): log-normal compute time factors with this
    /// sigma (0 = all as measured)...
    double speed_sigma = 0;
    /// ...online for this share of every availability period (1 = always)...
    double availability = 1;
    double availability_period_s = 60;
    /// ...or per client from a trace (CSV client,speed,availability).
    std::string client_trace;
    /// Simulated seconds per wall-clock second (online windows, traces).
    double time_scale = 1;
    /// Share of simulated clients that are Byzantine (chosen by seed, like
    /// stragglers) and what they send instead of their update.
    double byzantine_fraction = 0;
    std::string byzantine_attack = "signflip"; ///< signflip | noise | huge
    double byzantine_scale = 0;     ///< 0 = the attack's default
  } federation;
  struct strategy_section {
    std::string name = "fedavg";    ///< see `fl-node strategies`
    double server_lr = 0;           ///< server optimizer step; 0 = the strategy's default
    double server_momentum = 0.9;   ///< fedavgm
    double beta1 = 0.9;             ///< fedadam, fedyogi, fedadagrad
    double beta2 = 0.99;            ///< fedadam, fedyogi
    double tau = 1e-3;              ///< adaptivity of the adaptive optimizers
    double trim_beta = 0.1;         ///< trimmed-mean: share cut at each end
    int64_t krum_f = 1;             ///< krum, multi-krum: Byzantine clients tolerated
    int64_t multi_krum_m = 0;       ///< multi-krum: updates averaged; 0 = n - f
    double norm_bound = 0;          ///< norm-bound: L2 bound of each change; 0 = 1.0
    int64_t client_eval_every = 0;  ///< client-side evaluation every N rounds; 0 = off
    int64_t client_eval_clients = 0; ///< clients asked; 0 = clients_per_round
  } strategy;
  struct compression_section {
    std::string method = "none";    ///< none | topk | qsgd | fp16 | bf16
    double topk_ratio = 0.01;       ///< share of values top-k keeps
    int64_t qsgd_bits = 8;          ///< 8 (127 levels) or 4 (7 levels)
    int64_t qsgd_bucket = 512;      ///< values per QSGD norm
    bool no_error_feedback = false; ///< drop what compression loses (default: carry it to the next update)
    double momentum = 0;            ///< DGC momentum correction; 0 = off
  } compression;
  struct async_section {
    double alpha = 0.6;             ///< FedAsync mixing weight
    std::string staleness = "polynomial"; ///< constant | polynomial | hinge
    double staleness_a = 0.5;
    double staleness_b = 4;
    int64_t max_staleness = 100;    ///< older updates are dropped
    int64_t buffer_k = 10;          ///< FedBuff: apply every K updates
    double server_lr = 1.0;         ///< FedBuff: server learning rate
    int64_t concurrency = 0;        ///< clients training at once; 0 = clients_per_round
    int64_t max_updates = 0;        ///< stop after this many; 0 = rounds x clients_per_round
    double max_seconds = 0;         ///< stop after this long; 0 = off
    /// FedBuff: "logical" plans the run on a logical clock (reproducible),
    /// "arrival" follows arrival order; "auto" = logical in sim, arrival
    /// on a server.
    std::string clock = "auto";
  } async;
  struct gossip_section {
    /// ring | exp2 | exp2-one-peer | mesh | star | full | a file path
    std::string topology = "exp2-one-peer";
    bool asynchronous = false;      ///< push-sum without rounds
    int64_t max_staleness = 10;     ///< async: iterations ahead before waiting
    double neighbor_timeout_s = 30; ///< wait for a silent neighbor this long
    int64_t eval_peers = 16;        ///< peers' own models evaluated per record
    double snapshot_s = 1;          ///< async: seconds between records
    std::string peers;              ///< fl-node peer: HOST:PORT,... by index
    int64_t index = 0;              ///< fl-node peer: this peer's index
    bool rejoin = false;            ///< fl-node peer: catch up from a neighbor
    double linger_s = 3;            ///< fl-node peer: stay up after finishing
    /// Each peer starts from its own seeded model (seed + 1 + index)
    /// instead of the common one: the peers must first agree.
    bool independent_init = false;
  } gossip;
  struct training_section {
    /// mlp | cnn | synthetic | path of a TorchScript file (.pt)
    std::string model = "mlp";
    std::string loss = "auto";      ///< auto | cross-entropy | mse
    int64_t synthetic_params = 100000; ///< model size of "synthetic"
    int64_t epochs = 1;             ///< local epochs per activation
    int64_t batch_size = 32;
    double lr = 0.05;
    double momentum = 0;
    double weight_decay = 0;
    double prox_mu = 0;             ///< FedProx proximal term; 0 = FedAvg
    int64_t workers = 0;            ///< training threads; 0 = number of cores
  } training;
  struct data_section {
    std::string format = "fashion-mnist"; ///< fashion-mnist | idx | csv | npy
    std::string dir = "/usr/share/datasets/fashion-mnist";
    std::string train_data;         ///< idx, npy: samples; csv: the file
    std::string train_labels;       ///< idx, npy: labels
    std::string test_data;
    std::string test_labels;
    std::string owners;             ///< owner ids: csv column or idx/npy file
    std::string label_column;       ///< csv: name or 0-based index; "" = last
    std::string csv_header = "auto"; ///< csv: yes | no | auto
    std::string task = "classification"; ///< classification | regression
    int64_t num_classes = 0;        ///< 0 = largest label + 1
    /// iid | iid-unbalanced | shards | dirichlet | labels | by-owner
    std::string partition = "iid";
    double dirichlet_alpha = 0.5;
    int64_t dirichlet_min_samples = 0; ///< per client; 0 = number of classes
    int64_t shards_per_client = 2;
    int64_t labels_per_client = 2;
    double unbalance_sigma = 0.3;   ///< log-normal sigma for iid-unbalanced
    /// Share of each client's samples held out for client-side evaluation
    /// (not trained on); 0 = none.
    double holdout = 0;
  } data;
  struct aggregation_section {
    std::string device = "auto";    ///< auto | cpu | cuda
    std::string strategy = "bucket-flatten"; ///< CUDA bucketing strategy
    int64_t streams = 4;            ///< CUDA streams
    int64_t bucket_mib = 16;        ///< CUDA bucket size
    int64_t threads = 0;            ///< CPU aggregation threads; 0 = cores
  } aggregation;
  struct guard_section {
    double max_change_ratio = 10;   ///< bound on ||new - old|| / max(||old||, 1); 0 = off
    double clip_update_norm = 0;    ///< clip each update's change to this L2 norm; 0 = off
    int64_t max_samples = 0;        ///< refuse updates claiming more; 0 = the joined count
    int64_t max_rejections = 3;     ///< consecutive rejected models stop the run; 0 = never
  } guard;
  struct transport_section {
    int64_t chunk_mib = 16;         ///< frame payload; bigger models are streamed in pieces of this size
    int64_t window = 4;             ///< pieces a sender may have unanswered (back-pressure)
    int64_t max_message_mib = 8192; ///< larger models and transfers are refused, on both sides
    int64_t receive_budget_mib = 1024; ///< server/scheduler: model bytes received or awaiting fold at once
    bool bulk_link = true;          ///< big models' values on a direct TCP stream beside the connection (not with TLS)
    double request_timeout_s = 30;  ///< every remote request times out
    double heartbeat_s = 5;         ///< CAF middleman heartbeat interval
    double connection_timeout_s = 30; ///< a silent peer is dropped after this
  } transport;
  struct security_section {
    std::string tls;                ///< kit folder: ca.pem, cert.pem, key.pem; "" = plaintext
    std::string access;             ///< access file (identities, tokens, grants, deny list)
    std::string identity;           ///< name this node proves; "" = certificate's, else node id
    std::string token_file;         ///< file holding this node's per-node token
    bool insecure = false;          ///< allow an open plaintext listener on a non-loopback address
    double auth_timeout_s = 10;     ///< close connections not authenticated by then
    int64_t max_pending = 64;       ///< unauthenticated connections at once
    int64_t max_connections = 1024; ///< connections at once
  } security;
  struct output_section {
    std::string metrics = "fl-metrics.jsonl"; ///< JSONL metrics; "" = none
    std::string client_metrics;     ///< per-client JSONL records; "" = none
    std::string checkpoint_dir;     ///< "" = no checkpoints
    bool resume = false;            ///< start from checkpoint_dir's checkpoint
    std::string log_level = "info"; ///< trace|debug|info|warn|error|off
    std::string log_file;           ///< also log here; "" = console only
  } output;
};

/// Who a setting is for: a subcommand shows only the flags meant for it.
enum setting_scope : unsigned {
  for_sim = 1,
  for_server = 2,
  for_client = 4,
  for_scheduler = 8,
  for_peer = 16,
  for_all = 31,
  for_nodes = 30, ///< every process that connects to others (not sim)
};

/// Describes one setting: its TOML key, its command-line flag and its help.
struct setting_info {
  std::string key;  ///< "section.name" as in the TOML file
  std::string flag; ///< long flag without dashes, e.g. "rounds"
  std::string help;
  unsigned scope;   ///< bitwise or of `setting_scope`
  bool boolean = false; ///< a flag without a value on the command line
};

/// All settings, in the order `--help` shows them.
const std::vector<setting_info>& all_settings();

/// Sets the setting named `key` from text (flag value).
/// Errors: `invalid_config` for an unknown key or text that does not parse
/// as the setting's type; the config is unchanged then.
caf::error set_from_string(node_config& cfg, const std::string& key,
                           const std::string& text);

/// The current value of setting `key` as text ("" for an unknown key), e.g.
/// for showing defaults in --help.
std::string value_text(const node_config& cfg, const std::string& key);

/// Loads a TOML file over `cfg`. Every key must be a known setting with the
/// right type: unknown keys and type mismatches are errors that name the key
/// and its line. On error `cfg` may hold some of the file's values; callers
/// discard it.
/// Errors: `io_error` (missing/unreadable/unparsable), `invalid_config`.
caf::error load_toml_file(node_config& cfg, const std::string& path);

/// Same as load_toml_file but from text (`origin` names it in errors).
caf::error load_toml_string(node_config& cfg, const std::string& text,
                            const std::string& origin);

/// Every setting of `cfg` as a TOML document (one table per section, values
/// written exactly: doubles with 17 significant digits). Loading it with
/// load_toml_string gives back an equal configuration.
std::string to_toml(const node_config& cfg);

/// Every setting of `cfg` as one JSON object {"section.name": value, ...}.
std::string to_json(const node_config& cfg);

/// Whether `training.model` names a TorchScript file rather than a
/// built-in model: a name with a '/' or ending in .pt, .pth or .ts.
bool is_model_file(const std::string& model);

/// Checks ranges and cross-field rules (e.g. quorum in (0, 1]).
/// Errors: `invalid_config` naming the first bad setting.
caf::error validate(const node_config& cfg);

/// Settings that are valid one by one but contradict each other, each as a
/// sentence for a warning (e.g. more clients per round than clients), for
/// `command` ("sim", "server", "scheduler" or "client").
std::vector<std::string> config_warnings(const node_config& cfg,
                                         const std::string& command);

} // namespace fl
