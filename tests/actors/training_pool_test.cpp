#include <catch2/catch.hpp>

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/training_pool.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/training/synthetic_trainer.hpp"
#include "support/log_capture.hpp"

using namespace fl;

namespace {

/// A trainer whose fit throws every other call.
class flaky_trainer : public synthetic_trainer {
public:
  flaky_trainer() : synthetic_trainer(10) {}
  caf::expected<fit_output> fit(const fit_input& in) override {
    if (++calls_ % 2 == 1)
      throw std::runtime_error("CUDA out of memory");
    return synthetic_trainer::fit(in);
  }

private:
  int calls_ = 0;
};

} // namespace

TEST_CASE("a worker survives a trainer that throws", "[training_pool]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  test::log_capture logs;
  auto worker = spawn_training_worker(sys, std::make_unique<flaky_trainer>(),
                                      logs.log());
  std::vector<float> global(10, 0.f);
  fit_input in;
  in.global = span<const float>{global};
  in.samples = std::make_shared<const std::vector<int64_t>>(5, 1);
  caf::scoped_actor self{sys};
  std::vector<bool> ok;
  for (int i = 0; i < 4; ++i)
    self->request(worker, std::chrono::seconds(30), in)
      .receive([&](fit_output&) { ok.push_back(true); },
               [&](caf::error& err) {
                 CHECK(err.code()
                       == static_cast<uint8_t>(errc::training_failed));
                 CHECK_THAT(describe(err), Catch::Contains("out of memory"));
                 ok.push_back(false);
               });
  CHECK(ok == std::vector<bool>{false, true, false, true});
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
}
