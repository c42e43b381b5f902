#include <catch2/catch.hpp>

#include <vector>

#include "runtime/aggregation/control_variates.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;

namespace {

/// c - c_i of client `id`.
std::vector<float> correction(const control_variates& cv,
                              const std::string& id) {
  std::vector<float> out(cv.numel());
  cv.correction(id, span<float>{out});
  return out;
}

control_variates::delta_visitor delta_of(std::vector<float> d) {
  return [d](const std::function<void(uint64_t, span<const float>)>& f) {
    f(0, span<const float>{d});
  };
}

} // namespace

TEST_CASE("SCAFFOLD control variates on hand-computed numbers (option II)",
          "[scaffold]") {
  // N = 4 clients, 2 values. Round 1: c = 0, c_i = 0.
  control_variates cv{2, 4};
  CHECK(correction(cv, "a") == std::vector<float>{0, 0});
  // Client a: 2 steps of lr 0.5 moved y - x = (-1, 2):
  // c_a+ = 0 - 0 - (y - x) / (K lr) = (1, -2).
  REQUIRE(!cv.absorb("a", 2, 0.5, delta_of({-1, 2})));
  // Client b: 4 steps, lr 0.5, y - x = (2, 0): c_b+ = (-1, 0).
  REQUIRE(!cv.absorb("b", 4, 0.5, delta_of({2, 0})));
  cv.commit();
  // c = 0 + ((1, -2) + (-1, 0)) / 4 = (0, -0.5).
  CHECK(cv.global() == std::vector<float>{0, -0.5f});
  // corrections c - c_i.
  CHECK(correction(cv, "a") == std::vector<float>{-1, 1.5f});
  CHECK(correction(cv, "b") == std::vector<float>{1, -0.5f});
  CHECK(correction(cv, "never-seen") == std::vector<float>{0, -0.5f});
  // Round 2, client a again: y - x = (0, 0) after 1 step of lr 1:
  // c_a+ = c_a - c - 0 = (1, -2) - (0, -0.5) = (1, -1.5); change (0, 0.5).
  REQUIRE(!cv.absorb("a", 1, 1.0, delta_of({0, 0})));
  // A rejected round drops the staged value.
  cv.discard();
  CHECK(correction(cv, "a") == std::vector<float>{-1, 1.5f});
  REQUIRE(!cv.absorb("a", 1, 1.0, delta_of({0, 0})));
  cv.commit();
  CHECK(cv.global() == std::vector<float>{0, -0.375f});
  CHECK(cv.clients().at("a") == std::vector<float>{1, -1.5f});
}

TEST_CASE("SCAFFOLD refuses updates without steps and restores state",
          "[scaffold]") {
  control_variates cv{2, 4};
  CHECK(has_code(cv.absorb("a", 0, 0.5, delta_of({1, 1})),
                 errc::invalid_field));
  CHECK(has_code(cv.absorb("a", 1, 0.5, delta_of({1})), errc::size_mismatch));
  std::map<std::string, std::vector<float>> ci{{"a", {1, 2}}};
  REQUIRE(!cv.restore({3, 4}, ci));
  CHECK(correction(cv, "a") == std::vector<float>{2, 2});
  CHECK(has_code(cv.restore({1}, {}), errc::size_mismatch));
}
