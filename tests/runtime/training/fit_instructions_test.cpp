#include <catch2/catch.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/training/trainer.hpp"

using namespace fl;

TEST_CASE("a strategy's instructions override the client's fit settings",
          "[trainer]") {
  fit_config base;
  base.epochs = 1;
  base.lr = 0.05;
  auto cfg = apply_instructions(base, {{"epochs", int64_t{3}},
                                       {"lr", 0.1},
                                       {"prox_mu", 0.01},
                                       {"custom_key", std::string{"kept"}}});
  REQUIRE(cfg);
  CHECK(cfg->epochs == 3);
  CHECK(cfg->lr == 0.1);
  CHECK(cfg->prox_mu == 0.01);
  CHECK(cfg->batch_size == base.batch_size);
  // No instructions: the client's own settings.
  CHECK(apply_instructions(base, {})->lr == 0.05);
}

TEST_CASE("instructions of the wrong type or out of range are refused",
          "[trainer]") {
  fit_config base;
  CHECK(has_code(apply_instructions(base, {{"epochs", int64_t{0}}}).error(),
                 errc::invalid_field));
  CHECK(has_code(apply_instructions(base, {{"lr", -1.0}}).error(),
                 errc::invalid_field));
  CHECK(has_code(apply_instructions(base, {{"lr", std::string{"fast"}}})
                   .error(),
                 errc::invalid_field));
  CHECK(has_code(apply_instructions(base, {{"momentum", 1.0}}).error(),
                 errc::invalid_field));
}
