#include "runtime/data/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <iomanip>
#include <sstream>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

caf::error bad(const std::string& why) {
  return make_fl_error(errc::invalid_config, why);
}

std::vector<int64_t> shuffled(uint64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::shuffle(idx.begin(), idx.end(), rng);
  return idx;
}

/// Fills clients from `idx` in order with the given sizes.
partition fill(const std::vector<int64_t>& idx,
               const std::vector<uint64_t>& sizes) {
  partition p(sizes.size());
  size_t pos = 0;
  for (size_t c = 0; c < sizes.size(); ++c) {
    p[c].assign(idx.begin() + static_cast<ptrdiff_t>(pos),
                idx.begin() + static_cast<ptrdiff_t>(pos + sizes[c]));
    pos += sizes[c];
  }
  return p;
}

caf::error check_counts(uint64_t n, uint64_t k) {
  if (k == 0)
    return bad("the number of clients must be >= 1");
  if (n < k)
    return bad(std::to_string(n) + " samples cannot give each of "
               + std::to_string(k) + " clients at least one");
  return caf::none;
}

std::vector<std::vector<int64_t>> by_class(const std::vector<int64_t>& labels) {
  int64_t classes = 0;
  for (auto l : labels)
    classes = std::max(classes, l + 1);
  std::vector<std::vector<int64_t>> result(static_cast<size_t>(classes));
  for (size_t i = 0; i < labels.size(); ++i)
    result[static_cast<size_t>(labels[i])].push_back(static_cast<int64_t>(i));
  return result;
}

} // namespace

caf::expected<partition> partition_iid(uint64_t n, uint64_t k, uint64_t seed) {
  if (auto err = check_counts(n, k))
    return err;
  std::mt19937_64 rng{seed};
  auto idx = shuffled(n, rng);
  std::vector<uint64_t> sizes(k, n / k);
  for (uint64_t c = 0; c < n % k; ++c)
    ++sizes[c];
  return fill(idx, sizes);
}

caf::expected<partition> partition_iid_unbalanced(uint64_t n, uint64_t k,
                                                  double sigma,
                                                  uint64_t seed) {
  if (auto err = check_counts(n, k))
    return err;
  if (!(sigma >= 0))
    return bad("unbalance sigma must be >= 0");
  std::mt19937_64 rng{seed};
  // FedLab's lognormal_unbalance_split: sizes ~ LogNormal(log(n/K), sigma),
  // scaled to n and truncated; the shortfall goes to the first client.
  const auto per_client = n / k;
  std::vector<uint64_t> sizes(k, per_client);
  if (sigma > 0) {
    std::lognormal_distribution<double> dist{
      std::log(static_cast<double>(per_client)), sigma};
    std::vector<double> raw(k);
    for (auto& x : raw)
      x = dist(rng);
    const double total = std::accumulate(raw.begin(), raw.end(), 0.0);
    uint64_t used = 0;
    for (size_t c = 0; c < k; ++c)
      used += sizes[c] = static_cast<uint64_t>(raw[c] / total
                                                * static_cast<double>(n));
    sizes[0] += n - std::min(used, n);
  }
  // As in FedLab, n - K * floor(n/K) samples stay unused when sigma is 0.
  if (std::find(sizes.begin(), sizes.end(), 0u) != sizes.end())
    return bad("unbalance sigma " + std::to_string(sigma)
               + " left a client without samples; use a smaller sigma or "
                 "fewer clients");
  auto idx = shuffled(n, rng);
  return fill(idx, sizes);
}

caf::expected<partition> partition_shards(const std::vector<int64_t>& labels,
                                          uint64_t k, uint64_t per_client,
                                          uint64_t seed) {
  const uint64_t n = labels.size();
  if (per_client == 0)
    return bad("shards_per_client must be >= 1");
  const uint64_t shards = k * per_client;
  if (auto err = check_counts(n, shards))
    return err;
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return labels[static_cast<size_t>(a)] < labels[static_cast<size_t>(b)];
  });
  const uint64_t shard_size = n / shards; // the remainder is left out
  std::mt19937_64 rng{seed};
  auto order = shuffled(shards, rng);
  partition p(k);
  for (uint64_t s = 0; s < shards; ++s) {
    auto shard = static_cast<uint64_t>(order[s]);
    auto& dst = p[s / per_client];
    auto first = idx.begin() + static_cast<ptrdiff_t>(shard * shard_size);
    dst.insert(dst.end(), first, first + static_cast<ptrdiff_t>(shard_size));
  }
  return p;
}

caf::expected<partition> partition_dirichlet(const std::vector<int64_t>& labels,
                                             uint64_t k, double alpha,
                                             uint64_t seed,
                                             uint64_t min_samples) {
  if (!(alpha > 0))
    return bad("dirichlet alpha must be > 0");
  auto classes = by_class(labels);
  if (min_samples == 0)
    min_samples = classes.size(); // FedLab's default min_require_size
  const uint64_t n = labels.size();
  if (auto err = check_counts(n, k * min_samples))
    return bad("dirichlet: " + std::to_string(n)
               + " samples are too few for " + std::to_string(k)
               + " clients with at least " + std::to_string(min_samples)
               + " each");
  // FedLab's hetero_dir_partition: per class, proportions ~ Dir(alpha),
  // zeroed for clients that already hold n/K samples or more (the cap),
  // cut points floor(cumsum * n_k); redrawn whole until every client holds
  // at least min_samples.
  const double cap = static_cast<double>(n) / static_cast<double>(k);
  std::mt19937_64 rng{seed};
  std::gamma_distribution<double> gamma{alpha, 1.0};
  constexpr int max_tries = 1000;
  for (int attempt = 0; attempt < max_tries; ++attempt) {
    partition p(k);
    for (auto members : classes) {
      std::shuffle(members.begin(), members.end(), rng);
      std::vector<double> w(k);
      double draw_sum = 0;
      for (auto& x : w)
        draw_sum += (x = gamma(rng));
      double sum = 0;
      for (size_t c = 0; c < k; ++c) {
        w[c] = static_cast<double>(p[c].size()) < cap ? w[c] / draw_sum : 0.0;
        sum += w[c];
      }
      if (!(sum > 0)) { // every draw underflowed: the first client below cap
        for (size_t c = 0; c < k; ++c)
          if (static_cast<double>(p[c].size()) < cap) {
            w[c] = sum = 1;
            break;
          }
      }
      // As numpy's split at floor(cumsum * n_k): the last client gets
      // what is left after the last cut, even when capped (at most one
      // sample of rounding then).
      const auto m = static_cast<double>(members.size());
      size_t pos = 0;
      double cum = 0;
      for (size_t c = 0; c < k; ++c) {
        cum += w[c] / sum;
        const size_t end = c + 1 == k
                             ? members.size()
                             : std::min(members.size(),
                                        static_cast<size_t>(cum * m));
        if (end > pos)
          p[c].insert(p[c].end(), members.begin() + static_cast<ptrdiff_t>(pos),
                      members.begin() + static_cast<ptrdiff_t>(end));
        pos = std::max(pos, end);
      }
    }
    bool ok = std::all_of(p.begin(), p.end(), [&](const auto& xs) {
      return xs.size() >= min_samples;
    });
    if (ok) {
      for (auto& xs : p)
        std::sort(xs.begin(), xs.end());
      return p;
    }
  }
  return bad("dirichlet alpha " + std::to_string(alpha) + " is too small: after "
             + std::to_string(max_tries) + " draws some client still had < "
             + std::to_string(min_samples)
             + " samples; raise --dirichlet-alpha or use fewer clients");
}

caf::expected<partition> partition_labels(const std::vector<int64_t>& labels,
                                          uint64_t k, uint64_t per_client,
                                          uint64_t seed) {
  auto classes = by_class(labels);
  const uint64_t num_classes = classes.size();
  if (per_client == 0 || per_client > num_classes)
    return bad("labels_per_client must be in [1, "
               + std::to_string(num_classes) + "]");
  if (auto err = check_counts(labels.size(), k))
    return err;
  std::mt19937_64 rng{seed};
  // FedLab's label_skew_quantity_based_partition: client c holds class
  // c mod C plus per_client - 1 distinct classes drawn uniformly; each
  // class is cut into as many near-equal parts (numpy's array_split) as
  // clients hold it, handed out in client order.
  std::uniform_int_distribution<uint64_t> pick{0, num_classes - 1};
  std::vector<std::vector<uint64_t>> holders(num_classes);
  for (uint64_t c = 0; c < k; ++c) {
    std::vector<uint64_t> held{c % num_classes};
    while (held.size() < per_client) {
      const auto cls = pick(rng);
      if (std::find(held.begin(), held.end(), cls) == held.end())
        held.push_back(cls);
    }
    for (auto cls : held)
      holders[cls].push_back(c);
  }
  partition p(k);
  for (size_t cls = 0; cls < num_classes; ++cls) {
    auto members = classes[cls];
    std::shuffle(members.begin(), members.end(), rng);
    auto hs = holders[cls];
    std::sort(hs.begin(), hs.end());
    if (hs.empty())
      continue; // as in FedLab: a class nobody holds is left out
    if (members.size() < hs.size())
      return bad("class " + std::to_string(cls) + " has too few samples for "
                 + std::to_string(hs.size()) + " clients");
    const size_t base = members.size() / hs.size();
    const size_t extra = members.size() % hs.size();
    size_t first = 0;
    for (size_t i = 0; i < hs.size(); ++i) {
      const size_t count = base + (i < extra ? 1 : 0);
      auto& dst = p[hs[i]];
      dst.insert(dst.end(), members.begin() + static_cast<ptrdiff_t>(first),
                 members.begin() + static_cast<ptrdiff_t>(first + count));
      first += count;
    }
  }
  for (auto& xs : p)
    std::sort(xs.begin(), xs.end());
  return p;
}

namespace {

/// How many of `samples` have each label.

std::vector<uint64_t> class_counts(const std::vector<int64_t>& samples,
                                   const std::vector<int64_t>& labels,
                                   int64_t num_classes) {
  std::vector<uint64_t> counts(static_cast<size_t>(num_classes));
  for (auto s : samples)
    ++counts[static_cast<size_t>(labels[static_cast<size_t>(s)])];
  return counts;
}

} // namespace

partition_stats summarize(const partition& p,
                          const std::vector<int64_t>& labels,
                          int64_t num_classes) {
  partition_stats st;
  st.clients = p.size();
  if (p.empty())
    return st;
  std::vector<uint64_t> sizes;
  uint64_t classes_10 = 0;
  for (const auto& xs : p) {
    sizes.push_back(xs.size());
    st.samples += xs.size();
    for (auto c : class_counts(xs, labels, num_classes))
      classes_10 += c >= 10;
  }
  std::sort(sizes.begin(), sizes.end());
  st.min_size = sizes.front();
  st.max_size = sizes.back();
  st.median_size = sizes[(sizes.size() - 1) / 2];
  st.mean_classes_10 = static_cast<double>(classes_10)
                       / static_cast<double>(p.size());
  return st;
}

namespace {

/// One row per client: its index, sample count and class counts, fields
/// separated by `sep`, under a header naming the columns.
std::string count_table(const partition& p, const std::vector<int64_t>& labels,
                        int64_t num_classes, const char* sep,
                        const char* samples_header, const char* class_prefix) {
  std::ostringstream out;
  out << "client" << sep << samples_header;
  for (int64_t c = 0; c < num_classes; ++c)
    out << sep << class_prefix << c;
  out << "\n";
  for (size_t i = 0; i < p.size(); ++i) {
    out << i << sep << p[i].size();
    for (auto x : class_counts(p[i], labels, num_classes))
      out << sep << x;
    out << "\n";
  }
  return out.str();
}

} // namespace

std::string partition_csv(const partition& p,
                          const std::vector<int64_t>& labels,
                          int64_t num_classes) {
  return count_table(p, labels, num_classes, ",", "samples", "class_");
}

std::string partition_report(const partition& p,
                             const std::vector<int64_t>& labels,
                             int64_t num_classes) {
  std::ostringstream out;
  out << count_table(p, labels, num_classes, "  ", "samples", "c");
  const auto st = summarize(p, labels, num_classes);
  out << "clients " << st.clients << ", samples " << st.samples
      << ", per client min " << st.min_size << " median " << st.median_size
      << " max " << st.max_size << ", classes with >= 10 samples "
      << std::fixed << std::setprecision(2) << st.mean_classes_10
      << " per client\n";
  return out.str();
}

caf::expected<partition> partition_by_owner(const std::vector<int64_t>& owners,
                                            uint64_t num_clients) {
  if (owners.empty())
    return make_fl_error(errc::invalid_config,
                         "--partition by-owner needs per-sample owner ids "
                         "(data.owners: a column of the CSV file or an "
                         "IDX/.npy file)");
  std::vector<int64_t> ids(owners);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.size() != num_clients)
    return make_fl_error(errc::invalid_config,
                         "the data has " + std::to_string(ids.size())
                           + " owners, so --partition by-owner needs "
                             "--clients "
                           + std::to_string(ids.size()) + " (got "
                           + std::to_string(num_clients) + ")");
  partition p(num_clients);
  for (size_t i = 0; i < owners.size(); ++i) {
    const auto c = std::lower_bound(ids.begin(), ids.end(), owners[i])
                   - ids.begin();
    p[static_cast<size_t>(c)].push_back(static_cast<int64_t>(i));
  }
  return p;
}

} // namespace fl
