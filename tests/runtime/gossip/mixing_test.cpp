#include <catch2/catch.hpp>

#include <numeric>
#include <random>

#include "runtime/gossip/mixing.hpp"

using namespace fl;
using namespace fl::gossip;

TEST_CASE("push-sum: a hand-computed step keeps the sums") {
  // Three peers on a directed ring: each keeps half and pushes half on.
  std::vector<push_sum> p{push_sum{{1}}, push_sum{{2}}, push_sum{{3}}};
  std::vector<std::pair<std::vector<float>, double>> sent;
  for (auto& x : p)
    sent.push_back(std::move(x.split(0.5, {0.5}).front()));
  for (size_t i = 0; i < 3; ++i)
    p[(i + 1) % 3].absorb(sent[i].first, sent[i].second);
  CHECK(p[0].numerator()[0] == Approx(2.0)); // 0.5 + 1.5
  CHECK(p[1].numerator()[0] == Approx(1.5)); // 1 + 0.5
  CHECK(p[2].numerator()[0] == Approx(2.5)); // 1.5 + 1
  for (auto& x : p)
    CHECK(x.weight() == Approx(1.0));
}

TEST_CASE("push-sum with unequal weights and late messages is unbiased") {
  // Random order, messages held back for a while: the estimates still
  // converge to the plain average, because x and w travel together.
  const size_t n = 6;
  std::vector<push_sum> p;
  for (size_t i = 0; i < n; ++i)
    p.emplace_back(std::vector<float>{static_cast<float>(i * i), 1.0f});
  const double mean = (0 + 1 + 4 + 9 + 16 + 25) / 6.0;
  struct in_flight {
    size_t to;
    std::vector<float> x;
    double w;
    int delay;
  };
  std::vector<in_flight> flying;
  std::mt19937 rng{7};
  for (int step = 0; step < 3000; ++step) {
    auto i = rng() % n;
    auto j = (i + 1 + rng() % (n - 1)) % n;
    auto share = p[i].split(0.5, {0.5});
    flying.push_back({j, std::move(share[0].first), share[0].second,
                      static_cast<int>(rng() % 5)});
    for (auto it = flying.begin(); it != flying.end();) {
      if (it->delay-- <= 0) {
        p[it->to].absorb(it->x, it->w);
        it = flying.erase(it);
      } else {
        ++it;
      }
    }
    double sx = 0, sw = 0;
    for (auto& q : p) {
      sx += q.numerator()[0];
      sw += q.weight();
    }
    for (auto& f : flying) {
      sx += f.x[0];
      sw += f.w;
    }
    REQUIRE(sx == Approx(mean * n).epsilon(1e-4));
    REQUIRE(sw == Approx(n).epsilon(1e-9));
  }
  for (auto& f : flying)
    p[f.to].absorb(f.x, f.w);
  for (int round = 0; round < 200; ++round)
    for (size_t i = 0; i < n; ++i) {
      auto share = p[i].split(0.5, {0.5});
      p[(i + 1) % n].absorb(share[0].first, share[0].second);
    }
  for (auto& q : p) {
    auto z = q.estimate();
    CHECK(z[0] == Approx(mean).epsilon(1e-4));
    CHECK(z[1] == Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("push-sum: local training moves the estimate by its change") {
  push_sum p{{1, 1}, 1.0};
  p.absorb(std::vector<float>{3, 3}, 1.0); // now x = 4, w = 2, z = 2
  auto z = p.estimate();
  std::vector<float> trained{z[0] + 0.5f, z[1] - 1.0f};
  p.apply_change(z, trained);
  auto after = p.estimate();
  CHECK(after[0] == Approx(2.5));
  CHECK(after[1] == Approx(1.0));
  CHECK(p.weight() == Approx(2.0));
}

TEST_CASE("consensus distance is the mean distance from the average") {
  std::vector<float> a{0, 0}, b{2, 0}, c{4, 0};
  auto r = consensus_of({a, b, c});
  CHECK(r.mean == std::vector<float>{2, 0});
  CHECK(r.distance == Approx(4.0 / 3));
  auto same = consensus_of({a, a});
  CHECK(same.distance == 0);
}
