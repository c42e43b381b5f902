#include "runtime/aggregation/server_optimizer.hpp"

#include <cmath>

#include <fmt/format.h>

namespace fl {

namespace {

class server_momentum : public server_optimizer {
public:
  server_momentum(double lr, double beta) : lr_(lr), beta_(beta) {}

  std::string name() const override {
    return fmt::format("fedavgm(lr={}, momentum={})", lr_, beta_);
  }

  void step(span<const float> x, span<float> next) override {
    if (v_.size() != x.size())
      v_.assign(x.size(), 0.0f);
    const auto b = static_cast<float>(beta_);
    const auto lr = static_cast<float>(lr_);
    for (size_t i = 0; i < x.size(); ++i) {
      const float delta = next[i] - x[i];
      v_[i] = b * v_[i] + delta;
      next[i] = x[i] + lr * v_[i];
    }
  }

  std::vector<std::pair<std::string, std::vector<float>*>> state() override {
    return {{"fedavgm.v", &v_}};
  }

private:
  double lr_, beta_;
  std::vector<float> v_;
};

class adaptive : public server_optimizer {
public:
  adaptive(adaptive_kind kind, double lr, double b1, double b2, double tau)
    : kind_(kind), lr_(lr), b1_(b1), b2_(b2), tau_(tau) {}

  std::string name() const override {
    const char* n = kind_ == adaptive_kind::adam   ? "fedadam"
                    : kind_ == adaptive_kind::yogi ? "fedyogi"
                                                   : "fedadagrad";
    return fmt::format("{}(lr={}, beta1={}, beta2={}, tau={})", n, lr_, b1_,
                       b2_, tau_);
  }

  void step(span<const float> x, span<float> next) override {
    if (m_.size() != x.size()) {
      m_.assign(x.size(), 0.0f);
      v_.assign(x.size(), static_cast<float>(tau_ * tau_));
    }
    for (size_t i = 0; i < x.size(); ++i) {
      const double delta = static_cast<double>(next[i]) - x[i];
      const double m = b1_ * m_[i] + (1 - b1_) * delta;
      const double d2 = delta * delta;
      double v = v_[i];
      switch (kind_) {
        case adaptive_kind::adagrad: v = v + d2; break;
        case adaptive_kind::adam: v = b2_ * v + (1 - b2_) * d2; break;
        case adaptive_kind::yogi: {
          const double diff = v - d2;
          const double sign = diff > 0 ? 1.0 : (diff < 0 ? -1.0 : 0.0);
          v = v - (1 - b2_) * d2 * sign;
          break;
        }
      }
      m_[i] = static_cast<float>(m);
      v_[i] = static_cast<float>(v);
      next[i] = static_cast<float>(x[i] + lr_ * m / (std::sqrt(v) + tau_));
    }
  }

  std::vector<std::pair<std::string, std::vector<float>*>> state() override {
    return {{"adaptive.m", &m_}, {"adaptive.v", &v_}};
  }

private:
  adaptive_kind kind_;
  double lr_, b1_, b2_, tau_;
  std::vector<float> m_, v_;
};

} // namespace

std::unique_ptr<server_optimizer> make_server_momentum(double lr,
                                                       double beta) {
  return std::make_unique<server_momentum>(lr, beta);
}

std::unique_ptr<server_optimizer>
make_adaptive_optimizer(adaptive_kind kind, double lr, double beta1,
                        double beta2, double tau) {
  return std::make_unique<adaptive>(kind, lr, beta1, beta2, tau);
}

} // namespace fl
