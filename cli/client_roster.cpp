#include "cli/client_roster.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "runtime/core/errors.hpp"
#include "runtime/data/dataset_loader.hpp"
#include "runtime/data/partition.hpp"
#include "runtime/storage/text_file.hpp"

namespace fl::cli {

namespace {

caf::expected<partition> make_partition(const node_config& cfg,
                                        const training_setup& training,
                                        uint64_t total) {
  const auto seed = static_cast<uint64_t>(cfg.federation.seed);
  const auto& train = training.data->train;
  const auto& labels = train.labels;
  const auto& d = cfg.data;
  const auto samples = static_cast<uint64_t>(train.count);
  if (d.partition == "iid")
    return partition_iid(samples, total, seed);
  if (d.partition == "iid-unbalanced")
    return partition_iid_unbalanced(samples, total, d.unbalance_sigma, seed);
  if (d.partition == "by-owner")
    return partition_by_owner(train.owners, total);
  if (training.data->task == task_kind::regression)
    return make_fl_error(errc::invalid_config,
                         "--partition " + d.partition
                           + " splits by class; a regression dataset can "
                             "use iid, iid-unbalanced or by-owner");
  if (d.partition == "shards")
    return partition_shards(labels, total,
                            static_cast<uint64_t>(d.shards_per_client), seed);
  if (d.partition == "dirichlet")
    return partition_dirichlet(labels, total, d.dirichlet_alpha, seed,
                               static_cast<uint64_t>(d.dirichlet_min_samples));
  return partition_labels(labels, total,
                          static_cast<uint64_t>(d.labels_per_client), seed);
}

/// Whether global client `i` is Byzantine (a seeded draw of its own, so
/// that stragglers and attackers are chosen independently).
bool is_byzantine(uint64_t seed, double fraction, uint64_t i) {
  if (fraction <= 0)
    return false;
  std::mt19937_64 rng{seed * 104729u + i + 0xb12a47u};
  return std::uniform_real_distribution<double>{0, 1}(rng) < fraction;
}

/// How many of `n` samples split_holdout keeps back for a `share`: the
/// share rounded up, leaving at least one sample for training.
size_t held_out_count(size_t n, double share) {
  if (share <= 0 || n < 2)
    return 0;
  return std::min(
    static_cast<size_t>(std::ceil(share * static_cast<double>(n))), n - 1);
}

/// Splits off the last `share` of a client's samples (after a seeded
/// shuffle) as its held-out set; at least one sample stays for training.
std::pair<std::vector<int64_t>, std::vector<int64_t>>
split_holdout(std::vector<int64_t> samples, double share, uint64_t seed) {
  const auto held = held_out_count(samples.size(), share);
  if (held == 0)
    return {std::move(samples), {}};
  std::mt19937_64 rng{seed};
  std::shuffle(samples.begin(), samples.end(), rng);
  std::vector<int64_t> out(samples.end() - static_cast<long>(held),
                           samples.end());
  samples.resize(samples.size() - held);
  std::sort(samples.begin(), samples.end());
  std::sort(out.begin(), out.end());
  return {std::move(samples), std::move(out)};
}

/// Samples per client of the synthetic model.
constexpr uint64_t synthetic_samples = 600;

} // namespace

caf::expected<std::shared_ptr<const client_roster>>
client_roster::make(const node_config& cfg, const training_setup& training,
                    uint64_t first, uint64_t count, uint64_t total) {
  std::shared_ptr<client_roster> r{new client_roster};
  r->first_ = first;
  r->count_ = count;
  r->synthetic_ = !training.data;
  r->seed_ = static_cast<uint64_t>(cfg.federation.seed);
  r->holdout_share_ = cfg.data.holdout;
  if (!r->synthetic_) {
    auto parts = make_partition(cfg, training, total);
    if (!parts)
      return std::move(parts.error());
    r->train_.reserve(count);
    r->holdout_.reserve(count);
    for (uint64_t i = first; i < first + count; ++i) {
      auto [train, held] = split_holdout(std::move((*parts)[i]),
                                         cfg.data.holdout,
                                         r->seed_ * 31337u + i);
      r->train_.push_back(
        std::make_shared<const std::vector<int64_t>>(std::move(train)));
      r->holdout_.push_back(
        held.empty()
          ? nullptr
          : std::make_shared<const std::vector<int64_t>>(std::move(held)));
    }
  }
  r->layout_ = training.make()->layout();
  auto& fit = r->fit_;
  fit.epochs = cfg.training.epochs;
  fit.batch_size = cfg.training.batch_size;
  fit.lr = cfg.training.lr;
  fit.momentum = cfg.training.momentum;
  fit.weight_decay = cfg.training.weight_decay;
  fit.prox_mu = cfg.training.prox_mu;
  r->compression_ = compression_of(cfg);
  r->byzantine_fraction_ = cfg.federation.byzantine_fraction;
  r->byzantine_attack_ = cfg.federation.byzantine_attack;
  r->byzantine_scale_ = cfg.federation.byzantine_scale;
  return std::shared_ptr<const client_roster>{std::move(r)};
}

uint64_t client_roster::num_samples(uint64_t index) const {
  if (!synthetic_)
    return train_[index - first_]->size();
  return synthetic_samples
         - held_out_count(synthetic_samples, holdout_share_);
}

client_settings client_roster::settings(uint64_t index) const {
  client_settings s;
  s.id = client_id(index);
  if (synthetic_) {
    // Made for this task only: a million clients store no sample lists.
    std::vector<int64_t> xs(synthetic_samples);
    for (uint64_t k = 0; k < synthetic_samples; ++k)
      xs[k] = static_cast<int64_t>(index * synthetic_samples + k);
    auto [train, held] = split_holdout(std::move(xs), holdout_share_,
                                       seed_ * 31337u + index);
    s.samples = std::make_shared<const std::vector<int64_t>>(std::move(train));
    if (!held.empty())
      s.holdout = std::make_shared<const std::vector<int64_t>>(
        std::move(held));
  } else {
    s.samples = train_[index - first_];
    s.holdout = holdout_[index - first_];
  }
  s.compression = compression_;
  if (is_byzantine(seed_, byzantine_fraction_, index))
    s.attack = byzantine_settings{byzantine_attack_, byzantine_scale_, index};
  s.fit = fit_;
  s.layout = layout_;
  s.seed = seed_;
  return s;
}

virtual_clients_settings client_roster::host_settings(
  std::shared_ptr<const client_profiles> profiles) const {
  virtual_clients_settings v;
  v.first = first_;
  v.count = count_;
  v.layout = layout_;
  auto self = shared_from_this();
  v.num_samples = [self](uint64_t i) { return self->num_samples(i); };
  v.settings = [self](uint64_t i) { return self->settings(i); };
  v.profiles = std::move(profiles);
  return v;
}

void client_roster::log_attackers(const loggers& log) const {
  std::string ids;
  size_t n = 0;
  for (uint64_t i = first_; i < first_ + count_; ++i)
    if (is_byzantine(seed_, byzantine_fraction_, i))
      ids += (n++ == 0 ? "" : ", ") + client_id(i);
  if (n > 0)
    log.node->warn("{} of {} simulated clients are Byzantine ({}): {}", n,
                   count_, byzantine_attack_, ids);
}

caf::expected<std::shared_ptr<const client_profiles>>
make_profiles(const node_config& cfg, uint64_t total) {
  const auto& f = cfg.federation;
  profile_settings p;
  p.seed = static_cast<uint64_t>(f.seed);
  p.speed_sigma = f.speed_sigma;
  p.straggler_fraction = f.straggler_fraction;
  p.straggler_slowdown = f.straggler_slowdown;
  p.availability = f.availability;
  p.period_s = f.availability_period_s;
  p.time_scale = f.time_scale;
  if (!f.client_trace.empty()) {
    auto traced = client_profiles::read_trace(f.client_trace, p, total);
    if (!traced)
      return std::move(traced.error());
    return std::make_shared<const client_profiles>(std::move(*traced));
  }
  auto seeded = std::make_shared<const client_profiles>(p);
  if (seeded->always_online() && seeded->uniform_speed())
    return std::shared_ptr<const client_profiles>{};
  return seeded;
}

int print_partition_report(const node_config& cfg, uint64_t total,
                           bool print_table, const std::string& csv_path) {
  if (cfg.training.model == "synthetic") {
    std::fprintf(stderr, "the synthetic model has no labelled data\n");
    return 2;
  }
  auto data = load_dataset(data_source_of(cfg));
  if (!data) {
    std::fprintf(stderr, "%s\n", describe(data.error()).c_str());
    return 2;
  }
  if ((*data)->task == task_kind::regression) {
    std::fprintf(stderr, "a regression dataset has no classes to report\n");
    return 2;
  }
  training_setup setup{nullptr, *data};
  auto parts = make_partition(cfg, setup, total);
  if (!parts) {
    std::fprintf(stderr, "%s\n", describe(parts.error()).c_str());
    return 2;
  }
  const auto& labels = (*data)->train.labels;
  const auto classes = (*data)->num_classes;
  if (!csv_path.empty())
    if (auto err = write_text_file(csv_path,
                                   partition_csv(*parts, labels, classes))) {
      std::fprintf(stderr, "%s\n", describe(err).c_str());
      return 2;
    }
  if (!print_table)
    return 0;
  std::printf("partition %s of %zu training samples over %llu clients "
              "(seed %lld)\n",
              cfg.data.partition.c_str(),
              static_cast<size_t>((*data)->train.count),
              static_cast<unsigned long long>(total),
              static_cast<long long>(cfg.federation.seed));
  std::fputs(partition_report(*parts, labels, classes).c_str(), stdout);
  return 0;
}


} // namespace fl::cli
