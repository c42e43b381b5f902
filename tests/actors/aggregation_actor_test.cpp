// The aggregation actor, driven by CAF's deterministic test coordinator:
// every request is answered in order, and the results are compared with the
// reference math.

#include <catch2/catch.hpp>

#include <limits>
#include <optional>

#include <caf/event_based_actor.hpp>

#include "actors/aggregation_actor.hpp"
#include "runtime/aggregation/async_rules.hpp"
#include "runtime/core/errors.hpp"
#include "support/aggregation_fixture.hpp"

using namespace fl;

using test::layout4;
using test::update;
using test::values;
using test::vec;
using test::version;
using fixture = test::aggregation_fixture;

TEST_CASE("folds then finalize give the weighted mean as a new version",
          "[aggregation_actor]") {
  fixture f;
  std::optional<agg_outcome> out;
  std::vector<std::string> folded;
  f.drive([&, agg = f.agg](caf::event_based_actor* self) {
    self->send(agg, agg_reset_atom::value, version(7, {1, 1, 1, 1}));
    self->send(agg, agg_begin_atom::value, sum_kind::params, 4.0);
    self->request(agg, caf::infinite, agg_fold_atom::value,
                  update("a", {1, 2, 3, 4}, 1))
      .then([&](fold_receipt& r) { folded.push_back(r.node_id); });
    // A delta is folded as base + delta.
    self->request(agg, caf::infinite, agg_fold_atom::value,
                  update("b", {4, 5, 6, 7}, 3, tensor_kind::delta))
      .then([&](fold_receipt& r) { folded.push_back(r.node_id); });
    self->request(agg, caf::infinite, agg_final_atom::value, 1.0)
      .then([&](agg_outcome& o) { out = o; });
  });
  CHECK(folded == std::vector<std::string>{"a", "b"});
  REQUIRE(out);
  CHECK(out->accepted);
  CHECK(out->model.version == 8);
  auto v = values(out->model);
  CHECK(v[0] == Approx((1 + 3 * (1 + 4)) / 4.0));
  CHECK(v[3] == Approx((4 + 3 * (1 + 7)) / 4.0));
}

TEST_CASE("an update beyond the change bound is refused, the others count",
          "[aggregation_actor]") {
  fixture f; // ratio 10: from a model of norm <= 1 at most 10
  std::optional<caf::error> refused;
  std::optional<agg_outcome> out;
  f.drive([&, agg = f.agg](caf::event_based_actor* self) {
    self->send(agg, agg_reset_atom::value, version(0, {0, 0, 0, 0}));
    self->request(agg, caf::infinite, agg_fold_atom::value,
                  update("poison", {3e38f, 3e38f, 0, 0}, 1))
      .then([](fold_receipt&) { FAIL("the poisoned update was folded"); },
            [&](caf::error& e) { refused = e; });
    self->request(agg, caf::infinite, agg_fold_atom::value,
                  update("honest", {1, 1, 1, 1}, 1))
      .then([](fold_receipt&) {});
    self->request(agg, caf::infinite, agg_final_atom::value, 1.0)
      .then([&](agg_outcome& o) { out = o; });
  });
  REQUIRE(refused);
  CHECK(refused->code() == static_cast<uint8_t>(errc::rejected_update));
  REQUIRE(out);
  CHECK(out->accepted);
  CHECK(values(out->model) == std::vector<float>{1, 1, 1, 1});
}

TEST_CASE("a non-finite candidate is rejected and the model stays",
          "[aggregation_actor]") {
  guard_settings g;
  g.max_change_ratio = 0; // no bound: only finiteness guards the model
  fixture f{g};
  std::vector<agg_outcome> outs;
  f.drive([&, agg = f.agg](caf::event_based_actor* self) {
    self->send(agg, agg_reset_atom::value, version(3, {3e38f, 1, 1, 1}));
    self->send(agg, agg_begin_atom::value, sum_kind::delta, 4.0);
    for (int i = 0; i < 2; ++i) {
      // A finite delta whose step, at a huge server learning rate,
      // overflows float.
      self->request(agg, caf::infinite, agg_fold_atom::value,
                    update("a", {2e6f, 0, 0, 0}, 1, tensor_kind::delta))
        .then([](fold_receipt&) {});
      self->request(agg, caf::infinite, agg_apply_atom::value, 1e33)
        .then([&](agg_outcome& o) { outs.push_back(o); });
    }
  });
  REQUIRE(outs.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    INFO("apply " << i << " gives " << values(outs[i].model)[0]);
    REQUIRE_FALSE(outs[i].accepted);
    CHECK(outs[i].reason.code() == static_cast<uint8_t>(errc::rejected_model));
    CHECK(outs[i].model.version == 3);
    CHECK(values(outs[i].model) == std::vector<float>{3e38f, 1, 1, 1});
    CHECK(outs[i].consecutive_rejections == i + 1);
  }
}

TEST_CASE("the same updates give the same model in any arrival order",
          "[aggregation_actor][reproducible]") {
  // Weights and values where a float sum depends on the order.
  const std::vector<std::vector<float>> ups{{1e-4f, 3.3f, -7.1e-3f, 0.2f},
                                            {2.5f, -1e-5f, 1.1f, 0.3f},
                                            {-0.7f, 9.9e-2f, 4e-6f, 0.1f},
                                            {0.31f, 0.17f, -2.2f, 0.7f}};
  const std::vector<double> ws{37, 511, 3, 1000};
  auto run = [&](std::vector<size_t> order) {
    fixture f;
    std::optional<agg_outcome> out;
    f.drive([&, agg = f.agg](caf::event_based_actor* self) {
      self->send(agg, agg_reset_atom::value, version(0, {0.1f, 0.2f, 0.3f, 0.4f}));
      self->send(agg, agg_begin_atom::value, sum_kind::params, 2000.0);
      for (auto i : order)
        self->request(agg, caf::infinite, agg_fold_atom::value,
                      update("c" + std::to_string(i), ups[i], ws[i],
                             i % 2 ? tensor_kind::delta : tensor_kind::params))
          .then([](fold_receipt&) {});
      self->request(agg, caf::infinite, agg_final_atom::value, 1.0)
        .then([&](agg_outcome& o) { out = o; });
    });
    REQUIRE(out);
    REQUIRE(out->accepted);
    return values(out->model);
  };
  const auto first = run({0, 1, 2, 3});
  CHECK(run({3, 2, 1, 0}) == first);
  CHECK(run({2, 0, 3, 1}) == first);
  CHECK(first[0] == Approx((37 * 1e-4 + 511 * (0.1 + 2.5) + 3 * -0.7
                            + 1000 * (0.1 + 0.31)) / 1551));
}

TEST_CASE("clipping bounds each update's change", "[aggregation_actor]") {
  guard_settings g;
  g.clip_update_norm = 1;
  fixture f{g};
  std::optional<agg_outcome> out;
  bool clipped = false;
  f.drive([&, agg = f.agg](caf::event_based_actor* self) {
    self->send(agg, agg_reset_atom::value, version(0, {0, 0, 0, 0}));
    self->request(agg, caf::infinite, agg_fold_atom::value,
                  update("a", {3, 4, 0, 0}, 1))
      .then([&](fold_receipt& r) { clipped = r.clipped; });
    self->request(agg, caf::infinite, agg_final_atom::value, 1.0)
      .then([&](agg_outcome& o) { out = o; });
  });
  CHECK(clipped);
  REQUIRE(out);
  auto v = values(out->model);
  CHECK(v[0] == Approx(0.6));
  CHECK(v[1] == Approx(0.8));
}

TEST_CASE("FedAsync mixing and FedBuff steps match the reference rules",
          "[aggregation_actor]") {
  fixture f;
  std::vector<agg_outcome> outs;
  f.drive([&, agg = f.agg](caf::event_based_actor* self) {
    self->send(agg, agg_reset_atom::value, version(0, {1, 1, 1, 1}));
    self->request(agg, caf::infinite, agg_mix_atom::value,
                  update("a", {3, 3, 3, 3}, 1), 0.25)
      .then([&](agg_outcome& o) { outs.push_back(o); });
    self->send(agg, agg_begin_atom::value, sum_kind::delta, 4.0);
    self->request(agg, caf::infinite, agg_fold_atom::value,
                  update("b", {1, 0, 0, 0}, 1, tensor_kind::delta))
      .then([](fold_receipt&) {});
    self->request(agg, caf::infinite, agg_fold_atom::value,
                  update("c", {0, 2, 0, 0}, 1, tensor_kind::delta))
      .then([](fold_receipt&) {});
    self->request(agg, caf::infinite, agg_apply_atom::value, 2.0)
      .then([&](agg_outcome& o) { outs.push_back(o); });
  });
  REQUIRE(outs.size() == 2);
  CHECK(outs[0].accepted);
  CHECK(values(outs[0].model) == std::vector<float>{1.5, 1.5, 1.5, 1.5});
  // The reference FedBuff rule (K = 2, server lr 2) on the same deltas.
  std::vector<float> ref{1.5, 1.5, 1.5, 1.5};
  fedbuff_rule rule{4, 2, 2.0, staleness_fn{}};
  std::vector<float> d1{1, 0, 0, 0}, d2{0, 2, 0, 0};
  REQUIRE(!rule.add(span<const float>{d1}, 0));
  REQUIRE(!rule.add(span<const float>{d2}, 0));
  REQUIRE(!rule.apply(span<float>{ref}));
  CHECK(outs[1].accepted);
  CHECK(outs[1].model.version == 2);
  auto v = values(outs[1].model);
  for (size_t k = 0; k < 4; ++k)
    CHECK(v[k] == Approx(ref[k]));
}
