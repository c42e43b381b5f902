// Embeds fedactor in an application: a custom trainer (fit a line y = a x + b
// by gradient descent on each client's private points), FedAvg over 8 clients
// in one process, and the round log read back at the end.
//   build/examples/embed_custom_trainer
#include <cstdio>
#include <random>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/client.hpp"
#include "actors/server.hpp"
#include "actors/training_pool.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/aggregation/fedavg.hpp"

namespace {

/// Each client holds points of y = 3 x - 1 plus noise; the model is (a, b).
class line_trainer : public fl::trainer {
public:
  line_trainer() { layout_.add("line", {2}); }

  const fl::model_layout& layout() const override { return layout_; }

  caf::expected<fl::fit_output> fit(const fl::fit_input& in) override {
    auto w = std::make_shared<std::vector<float>>(in.global.begin(),
                                                  in.global.end());
    double loss = 0;
    for (int64_t e = 0; e < in.config.epochs; ++e) {
      double ga = 0, gb = 0;
      loss = 0;
      for (auto i : *in.samples) {
        const double x = point_x(i), err = (*w)[0] * x + (*w)[1] - point_y(i);
        ga += err * x;
        gb += err;
        loss += err * err;
      }
      const double n = static_cast<double>(in.samples->size());
      (*w)[0] -= static_cast<float>(in.config.lr * ga / n);
      (*w)[1] -= static_cast<float>(in.config.lr * gb / n);
      loss /= n;
    }
    fl::fit_output out;
    out.params = w;
    out.num_samples = in.samples->size();
    out.metrics.loss = loss;
    return out;
  }

  caf::expected<fl::eval_output> evaluate(fl::span<const float> p) override {
    // Distance to the true line.
    fl::eval_output out;
    out.num_samples = 1;
    out.loss = (p[0] - 3.0) * (p[0] - 3.0) + (p[1] + 1.0) * (p[1] + 1.0);
    out.accuracy = 1.0 / (1.0 + out.loss);
    return out;
  }

  std::vector<float> initial_params(uint64_t) override { return {0.f, 0.f}; }

private:
  static double point_x(int64_t i) { return static_cast<double>(i % 100) / 50 - 1; }
  static double point_y(int64_t i) {
    std::mt19937_64 rng{static_cast<uint64_t>(i)};
    return 3 * point_x(i) - 1 + std::normal_distribution<double>{0, 0.1}(rng);
  }
  fl::model_layout layout_;
};

} // namespace

int main() {
  fl::node_config cfg; // defaults; only the transport settings are read
  fl::system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto log = *fl::make_loggers("warn");
  fl::trainer_factory make = [] { return std::make_unique<line_trainer>(); };
  auto pool = fl::spawn_training_pool(sys, 2, make, log);
  auto evaluator = fl::spawn_training_worker(sys, make(), log);
  fl::server_settings s;
  s.rounds = 20;
  s.min_clients = 8;
  s.log_sink = std::make_shared<fl::round_log>();
  fl::flat_model initial{line_trainer{}.layout()};
  auto server = fl::spawn_server(sys, s, std::make_shared<fl::fedavg>(4, 1.0, 0),
                                 std::move(initial), evaluator, log);
  for (int c = 0; c < 8; ++c) {
    fl::client_settings cs;
    cs.id = "client-" + std::to_string(c);
    auto pts = std::make_shared<std::vector<int64_t>>();
    for (int64_t k = 0; k < 25; ++k)
      pts->push_back(c * 25 + k);
    cs.samples = pts;
    cs.fit.lr = 0.5;
    cs.fit.epochs = 5;
    cs.layout = line_trainer{}.layout();
    fl::spawn_client(sys, cs, server, pool, log);
  }
  {
    caf::scoped_actor self{sys};
    self->monitor(server);
    self->receive([](caf::down_msg&) {});
  }
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
  for (const auto& r : s.log_sink->records())
    if (r.round % 5 == 0)
      std::printf("round %2llu  distance to y = 3x - 1: %.5f\n",
                  static_cast<unsigned long long>(r.round), r.test_loss);
  return 0;
}
