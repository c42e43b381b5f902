// The aggregation actor carrying out a strategy's plan: robust rules over
// resident updates, norm bounds, server optimizers, SCAFFOLD's control
// variates, FedNova's step scale and compressed updates folded block by
// block -- each against hand-computed numbers.

#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>
#include <optional>

#include "runtime/compression/compressor.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/storage/strategy_state.hpp"
#include "support/aggregation_fixture.hpp"

using namespace fl;
using test::update;
using test::values;
using test::version;

namespace {

aggregation_settings with_plan(aggregation_plan p, uint64_t resident = 0) {
  aggregation_settings s;
  s.plan = std::move(p);
  s.resident_limit = resident;
  return s;
}

/// Folds `ups` into a params sum over `base`, then finalizes with `scale`.
std::optional<agg_outcome> round_of(test::aggregation_fixture& f,
                                    std::vector<float> base,
                                    std::vector<agg_update> ups,
                                    double scale = 1.0,
                                    std::vector<caf::error>* refused = nullptr) {
  std::optional<agg_outcome> out;
  f.drive([&, agg = f.agg](caf::event_based_actor* self) {
    self->send(agg, agg_reset_atom::value, version(1, base));
    self->send(agg, agg_begin_atom::value, sum_kind::params, 100.0);
    for (auto& u : ups)
      self->request(agg, caf::infinite, agg_fold_atom::value, u)
        .then([](fold_receipt&) {},
              [refused](caf::error& e) {
                if (refused)
                  refused->push_back(e);
              });
    self->request(agg, caf::infinite, agg_final_atom::value, scale)
      .then([&](agg_outcome& o) { out = o; });
  });
  return out;
}

} // namespace

TEST_CASE("the median rule keeps the round's updates and ignores an outlier",
          "[aggregation_actor][robust]") {
  aggregation_plan p;
  p.robust.rule = combine_rule::median;
  test::aggregation_fixture f{with_plan(p, 3)};
  auto out = round_of(f, {0, 0, 0, 0},
                      {update("a", {1, 1, 1, 1}, 1), update("b", {2, 2, 2, 2}, 1),
                       update("evil", {5, -5, 5, 1}, 5)});
  REQUIRE(out);
  REQUIRE(out->accepted);
  CHECK(values(out->model) == std::vector<float>{2, 1, 2, 1});
}

TEST_CASE("a robust rule holds at most its resident limit",
          "[aggregation_actor][robust]") {
  aggregation_plan p;
  p.robust.rule = combine_rule::trimmed_mean;
  p.robust.trim_beta = 0;
  test::aggregation_fixture f{with_plan(p, 2)};
  std::vector<caf::error> refused;
  auto out = round_of(f, {0, 0, 0, 0},
                      {update("a", {1, 1, 1, 1}, 1), update("b", {3, 3, 3, 3}, 1),
                       update("c", {9, 9, 9, 9}, 1)},
                      1.0, &refused);
  REQUIRE(refused.size() == 1);
  CHECK(has_code(refused[0], errc::rejected_update));
  REQUIRE(out);
  CHECK(values(out->model) == std::vector<float>{2, 2, 2, 2});
}

TEST_CASE("Krum through the actor picks the update closest to the others",
          "[aggregation_actor][robust]") {
  aggregation_plan p;
  p.robust.rule = combine_rule::krum;
  p.robust.krum_f = 1;
  test::aggregation_fixture f{with_plan(p)};
  // A delta is combined as base + delta.
  auto out = round_of(f, {1, 1, 1, 1},
                      {update("a", {0, 0, 0, 0}, 1, tensor_kind::delta),
                       update("b", {1, 1, 1, 1}, 1, tensor_kind::delta),
                       update("c", {2, 2, 2, 2}, 1, tensor_kind::delta),
                       update("d", {50, 50, 50, 50}, 1, tensor_kind::delta)});
  REQUIRE(out);
  // Scores (squared distances, 4 coordinates): a: 4, b: 4, c: 4, d:
  // 4 * 48^2; the first lowest is a: base + 0.
  CHECK(values(out->model) == std::vector<float>{1, 1, 1, 1});
}

TEST_CASE("norm bounding scales each change down to the bound",
          "[aggregation_actor]") {
  aggregation_plan p;
  p.norm_bound = 1.0;
  test::aggregation_fixture f{with_plan(p)};
  // Change (4, 0, 0, 3) has norm 5 -> scaled by 1/5 to (0.8, 0, 0, 0.6).
  auto out = round_of(f, {0, 0, 0, 0}, {update("a", {4, 0, 0, 3}, 1)});
  REQUIRE(out);
  auto v = values(out->model);
  CHECK(v[0] == Approx(0.8));
  CHECK(v[3] == Approx(0.6));
}

TEST_CASE("the step scale and a server optimizer move from the current model",
          "[aggregation_actor]") {
  SECTION("FedNova's scale: next = x + scale (mean - x)") {
    test::aggregation_fixture f{aggregation_settings{}};
    auto out = round_of(f, {1, 1, 1, 1}, {update("a", {3, 3, 3, 3}, 1)}, 1.25);
    REQUIRE(out);
    CHECK(values(out->model) == std::vector<float>{3.5, 3.5, 3.5, 3.5});
  }
  SECTION("server momentum, twice") {
    aggregation_plan p;
    p.optimizer = [] { return make_server_momentum(1.0, 0.5); };
    test::aggregation_fixture f{with_plan(p)};
    auto first = round_of(f, {0, 0, 0, 0}, {update("a", {2, 2, 2, 2}, 1)});
    REQUIRE(first);
    CHECK(values(first->model) == std::vector<float>{2, 2, 2, 2}); // v = 2
    // Same base again, mean 2 -> delta 2: v = 0.5 * 2 + 2 = 3.
    auto second = round_of(f, {0, 0, 0, 0}, {update("a", {2, 2, 2, 2}, 1)});
    REQUIRE(second);
    CHECK(values(second->model) == std::vector<float>{3, 3, 3, 3});
  }
}

TEST_CASE("compressed deltas fold like their dense decoding",
          "[aggregation_actor][compression]") {
  for (const char* m : {"topk", "qsgd", "fp16", "bf16"}) {
    compression_settings s;
    s.method = m;
    s.topk_ratio = 0.5;
    s.qsgd_bucket = 2;
    compressor c{s, 4, 9};
    std::vector<float> d{0.5f, -0.25f, 2.0f, 0.125f};
    auto t = c.compress(span<const float>{d});
    REQUIRE(t);
    std::vector<float> dense(4);
    REQUIRE(!decode_into(*t, span<float>{dense}));
    agg_update packed;
    packed.node_id = "p";
    packed.kind = tensor_kind::delta;
    packed.weight = 2;
    packed.packed = std::make_shared<const encoded_tensor>(std::move(*t));
    test::aggregation_fixture f1{aggregation_settings{}};
    auto a = round_of(f1, {1, 1, 1, 1},
                      {packed, update("q", {3, 3, 3, 3}, 1)});
    test::aggregation_fixture f2{aggregation_settings{}};
    auto b = round_of(f2, {1, 1, 1, 1},
                      {update("p", dense, 2, tensor_kind::delta),
                       update("q", {3, 3, 3, 3}, 1)});
    REQUIRE(a);
    REQUIRE(b);
    CHECK(values(a->model) == values(b->model)); // exact sums: same bits
  }
}

TEST_CASE("SCAFFOLD corrections follow the folded deltas and survive a "
          "checkpoint",
          "[aggregation_actor][scaffold]") {
  const auto dir = std::filesystem::temp_directory_path()
                   / ("fl-scaffold-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  aggregation_plan p;
  p.control_variates = true;
  p.total_clients = 2;
  p.client_lr = 0.5;
  auto s = with_plan(p);
  s.checkpoint_dir = dir.string();
  std::optional<model_state> correction;
  {
    test::aggregation_fixture f{s};
    // Client a: 2 steps of lr 0.5 took the model from 0 to (1, 0, 0, -1):
    // c_a = -(y - x) / (K lr) = (-1, 0, 0, 1); c = c_a / N = half of it.
    auto u = update("a", {1, 0, 0, -1}, 1);
    u.local_steps = 2;
    auto out = round_of(f, {0, 0, 0, 0}, {u});
    REQUIRE(out);
    REQUIRE(out->accepted);
    f.drive([&, agg = f.agg](caf::event_based_actor* self) {
      self->request(agg, caf::infinite, checkpoint_atom::value, uint64_t{1})
        .then([](uint64_t) {});
    });
    f.drive([&, agg = f.agg](caf::event_based_actor* self) {
      self->request(agg, caf::infinite, agg_control_atom::value,
                    std::string{"a"})
        .then([&](model_state& m) { correction = m; });
    });
    REQUIRE(correction);
    // c - c_a = (-0.5, 0, 0, 0.5) - (-1, 0, 0, 1) = (0.5, 0, 0, -0.5).
    CHECK(values(*correction) == std::vector<float>{0.5, 0, 0, -0.5});
    // An update without a step count is refused.
    std::vector<caf::error> refused;
    round_of(f, {0, 0, 0, 0}, {update("b", {1, 1, 1, 1}, 1)}, 1.0, &refused);
    REQUIRE(refused.size() == 1);
    CHECK(has_code(refused[0], errc::invalid_field));
  }
  // A new actor resumed from the saved state gives the same correction.
  auto saved = load_strategy_state(strategy_state_path(dir.string()));
  REQUIRE(saved);
  CHECK(saved->model_version == 2);
  s.initial_state = *saved;
  test::aggregation_fixture g{s};
  std::optional<model_state> again;
  g.drive([&, agg = g.agg](caf::event_based_actor* self) {
    self->send(agg, agg_reset_atom::value, version(2, {0, 0, 0, 0}));
    self->request(agg, caf::infinite, agg_control_atom::value,
                  std::string{"a"})
      .then([&](model_state& m) { again = m; });
  });
  REQUIRE(again);
  CHECK(values(*again) == values(*correction));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a server optimizer's moments survive a checkpoint",
          "[aggregation_actor][server-optimizer]") {
  const auto dir = std::filesystem::temp_directory_path()
                   / ("fl-fedadam-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  aggregation_plan p;
  p.optimizer = [] { return make_server_momentum(1.0, 0.5); };
  auto s = with_plan(p);
  s.checkpoint_dir = dir.string();
  {
    test::aggregation_fixture f{s};
    REQUIRE(round_of(f, {0, 0, 0, 0}, {update("a", {2, 2, 2, 2}, 1)}));
    f.drive([&, agg = f.agg](caf::event_based_actor* self) {
      self->request(agg, caf::infinite, checkpoint_atom::value, uint64_t{1})
        .then([](uint64_t) {});
    });
  }
  auto saved = load_strategy_state(strategy_state_path(dir.string()));
  REQUIRE(saved);
  REQUIRE(saved->vectors.size() == 1);
  CHECK(saved->vectors[0].first == "fedavgm.v");
  s.initial_state = *saved;
  test::aggregation_fixture g{s};
  // With v = 2 restored, the next round gives v = 1 + 2 = 3 (as without a
  // restart), not 2.
  auto out = round_of(g, {0, 0, 0, 0}, {update("a", {2, 2, 2, 2}, 1)});
  REQUIRE(out);
  CHECK(values(out->model) == std::vector<float>{3, 3, 3, 3});
  std::filesystem::remove_all(dir);
}
