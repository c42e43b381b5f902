#include "runtime/data/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
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
  std::mt19937_64 rng{seed};
  const double mean = std::log(static_cast<double>(n) / static_cast<double>(k))
                      - sigma * sigma / 2;
  std::lognormal_distribution<double> dist{mean, sigma};
  std::vector<double> raw(k);
  for (auto& x : raw)
    x = dist(rng);
  const double total = std::accumulate(raw.begin(), raw.end(), 0.0);
  // One sample each first, then the rest by the drawn proportions.
  std::vector<uint64_t> sizes(k, 1);
  uint64_t rest = n - k, used = 0;
  for (size_t c = 0; c < k; ++c) {
    auto extra = static_cast<uint64_t>(std::floor(raw[c] / total
                                                  * static_cast<double>(rest)));
    sizes[c] += extra;
    used += extra;
  }
  for (uint64_t c = 0; used < rest; c = (c + 1) % k, ++used)
    ++sizes[c];
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
  if (auto err = check_counts(labels.size(), k * min_samples))
    return bad("dirichlet: " + std::to_string(labels.size())
               + " samples are too few for " + std::to_string(k)
               + " clients with at least " + std::to_string(min_samples)
               + " each");
  auto classes = by_class(labels);
  std::mt19937_64 rng{seed};
  std::gamma_distribution<double> gamma{alpha, 1.0};
  constexpr int max_tries = 1000;
  for (int attempt = 0; attempt < max_tries; ++attempt) {
    partition p(k);
    for (auto members : classes) {
      std::shuffle(members.begin(), members.end(), rng);
      std::vector<double> w(k);
      double sum = 0;
      for (auto& x : w)
        sum += (x = gamma(rng));
      if (!(sum > 0)) // every draw underflowed: give the class to one client
        w[std::uniform_int_distribution<size_t>{0, k - 1}(rng)] = sum = 1;
      size_t pos = 0;
      double cum = 0;
      for (size_t c = 0; c < k; ++c) {
        cum += w[c] / sum;
        auto end = c + 1 == k ? members.size()
                              : std::min(members.size(),
                                         static_cast<size_t>(std::llround(
                                           cum * static_cast<double>(
                                                   members.size()))));
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
  // Client c takes classes c*per_client, c*per_client+1, ... (mod classes),
  // each list shuffled: covers every class when k * per_client >= classes.
  std::vector<int64_t> class_order(num_classes);
  std::iota(class_order.begin(), class_order.end(), 0);
  std::shuffle(class_order.begin(), class_order.end(), rng);
  std::vector<std::vector<uint64_t>> holders(num_classes);
  for (uint64_t c = 0; c < k; ++c)
    for (uint64_t j = 0; j < per_client; ++j)
      holders[static_cast<size_t>(
                class_order[(c * per_client + j) % num_classes])]
        .push_back(c);
  partition p(k);
  for (size_t cls = 0; cls < num_classes; ++cls) {
    auto members = classes[cls];
    auto& hs = holders[cls];
    if (hs.empty())
      continue;
    std::shuffle(members.begin(), members.end(), rng);
    if (members.size() < hs.size())
      return bad("class " + std::to_string(cls) + " has too few samples for "
                 + std::to_string(hs.size()) + " clients");
    for (size_t i = 0; i < hs.size(); ++i) {
      auto first = members.size() * i / hs.size();
      auto last = members.size() * (i + 1) / hs.size();
      auto& dst = p[hs[i]];
      dst.insert(dst.end(), members.begin() + static_cast<ptrdiff_t>(first),
                 members.begin() + static_cast<ptrdiff_t>(last));
    }
  }
  for (auto& xs : p)
    std::sort(xs.begin(), xs.end());
  return p;
}

std::string partition_report(const partition& p,
                             const std::vector<int64_t>& labels,
                             int64_t num_classes) {
  std::ostringstream out;
  out << "client  samples";
  for (int64_t c = 0; c < num_classes; ++c)
    out << "  c" << c;
  out << "\n";
  uint64_t min_n = UINT64_MAX, max_n = 0, total = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    std::vector<uint64_t> counts(static_cast<size_t>(num_classes));
    for (auto s : p[i])
      ++counts[static_cast<size_t>(labels[static_cast<size_t>(s)])];
    out << i << "  " << p[i].size();
    for (auto x : counts)
      out << "  " << x;
    out << "\n";
    min_n = std::min<uint64_t>(min_n, p[i].size());
    max_n = std::max<uint64_t>(max_n, p[i].size());
    total += p[i].size();
  }
  out << "clients " << p.size() << ", samples " << total << ", per client min "
      << min_n << " max " << max_n << "\n";
  return out.str();
}

} // namespace fl
