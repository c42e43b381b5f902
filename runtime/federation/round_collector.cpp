#include "runtime/federation/round_collector.hpp"

#include "runtime/core/errors.hpp"

namespace fl {

void round_collector::start(uint64_t round,
                            const std::vector<std::string>& sampled) {
  round_ = round;
  awaited_ = std::set<std::string>(sampled.begin(), sampled.end());
  in_flight_.clear();
  results_.clear();
  failures_.clear();
}

update_admission round_collector::admit(const std::string& id,
                                        uint64_t round) {
  if (round_ == 0)
    return update_admission::no_round;
  if (round != round_)
    return update_admission::wrong_round;
  if (awaited_.erase(id) == 0)
    return update_admission::not_expected;
  in_flight_.insert(id);
  return update_admission::accepted;
}

void round_collector::folded(fit_result r) {
  if (in_flight_.erase(r.node_id) > 0)
    results_.push_back(std::move(r));
}

void round_collector::fold_failed(const std::string& id, caf::error why) {
  if (in_flight_.erase(id) > 0)
    failures_.push_back(fit_failure{id, std::move(why)});
}

bool round_collector::fail(const std::string& id, caf::error why) {
  if (round_ == 0 || awaited_.erase(id) == 0)
    return false;
  failures_.push_back(fit_failure{id, std::move(why)});
  return true;
}

size_t round_collector::deadline(uint64_t round) {
  if (round_ == 0 || round != round_)
    return 0;
  const auto late = awaited_.size();
  for (const auto& id : awaited_)
    failures_.push_back(fit_failure{
      id, make_fl_error(errc::timeout, "no update before the deadline")});
  awaited_.clear();
  return late;
}

void round_collector::abandon() {
  round_ = 0;
  awaited_.clear();
  in_flight_.clear();
  results_.clear();
  failures_.clear();
}

std::pair<std::vector<fit_result>, std::vector<fit_failure>>
round_collector::take() {
  auto out = std::make_pair(std::move(results_), std::move(failures_));
  abandon();
  return out;
}

} // namespace fl
