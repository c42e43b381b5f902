#include "runtime/federation/client_profiles.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <random>

#include "runtime/core/errors.hpp"
#include "runtime/core/text_fields.hpp"

namespace fl {

namespace {

constexpr double forever = std::numeric_limits<double>::infinity();
constexpr char id_prefix[] = "client-";

/// A uniform draw in [0, 1) of stream `salt` for client `index`.
double draw(uint64_t seed, uint64_t salt, uint64_t index) {
  std::mt19937_64 rng{seed * salt + index};
  return std::uniform_real_distribution<double>{0, 1}(rng);
}

caf::error bad_row(const std::string& path, size_t line,
                   const std::string& why) {
  return make_fl_error(errc::invalid_config,
                       path + ":" + std::to_string(line) + ": " + why);
}

/// Parses "s-e;s-e..." (increasing, non-overlapping) into `out`.
bool parse_windows(const std::string& text, std::vector<online_window>& out,
                   std::string& why) {
  if (text.empty())
    return true;
  double last_end = -forever;
  for (const auto& part : split_fields(text, ';')) {
    auto dash = part.find('-', 1); // a leading '-' would be a sign
    online_window w;
    if (dash == std::string::npos
        || !parse_number(trim_field(part.substr(0, dash)), w.start)
        || !parse_number(trim_field(part.substr(dash + 1)), w.end)) {
      why = "online window '" + part + "' is not START-END in seconds";
      return false;
    }
    if (w.start < 0 || w.end <= w.start) {
      why = "online window '" + part + "' must have 0 <= START < END";
      return false;
    }
    if (w.start < last_end) {
      why = "online windows must be in increasing order without overlap";
      return false;
    }
    last_end = w.end;
    out.push_back(w);
  }
  return true;
}

} // namespace

std::string client_id(uint64_t index) {
  return id_prefix + std::to_string(index);
}

std::optional<uint64_t> client_index(const std::string& id) {
  constexpr size_t n = sizeof(id_prefix) - 1;
  if (id.size() <= n || id.size() > n + 19 || id.compare(0, n, id_prefix) != 0)
    return std::nullopt;
  uint64_t x = 0;
  for (size_t i = n; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9' || (i == n && id[i] == '0' && id.size() > n + 1))
      return std::nullopt;
    x = x * 10 + static_cast<uint64_t>(id[i] - '0');
  }
  return x;
}

client_profiles::client_profiles(profile_settings s)
  : cfg_(s), origin_(std::chrono::steady_clock::now()) {}

double client_profiles::now() const {
  if (clock_)
    return clock_();
  const std::chrono::duration<double> t
    = std::chrono::steady_clock::now() - origin_;
  return t.count() * cfg_.time_scale;
}

caf::expected<client_profiles>
client_profiles::read_trace(const std::string& path, profile_settings defaults,
                            uint64_t total_clients) {
  std::ifstream in{path};
  if (!in)
    return make_fl_error(errc::io_error,
                         "cannot open the client trace '" + path + "'");
  client_profiles out{defaults};
  std::string line;
  size_t line_no = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim_field(line).empty() || trim_field(line).front() == '#')
      continue;
    auto cells = split_fields(line);
    if (!header) {
      if (cells.size() != 3 || cells[0] != "client" || cells[1] != "speed"
          || cells[2] != "availability")
        return bad_row(path, line_no,
                       "expected the header 'client,speed,availability'");
      header = true;
      continue;
    }
    if (cells.size() != 3)
      return bad_row(path, line_no,
                     "expected 3 fields (client,speed,availability), got "
                       + std::to_string(cells.size()));
    auto index = client_index(cells[0]);
    double as_number = 0;
    if (!index && parse_number(cells[0], as_number) && as_number >= 0
        && std::floor(as_number) == as_number && as_number < 1e18)
      index = static_cast<uint64_t>(as_number);
    if (!index)
      return bad_row(path, line_no,
                     "client '" + cells[0]
                       + "' is neither an index nor an id client-N");
    if (*index >= total_clients)
      return bad_row(path, line_no,
                     "client " + cells[0] + " is not in this federation of "
                       + std::to_string(total_clients) + " clients");
    if (out.trace_.count(*index))
      return bad_row(path, line_no, "client " + cells[0] + " is listed twice");
    traced t;
    if (!parse_number(cells[1], t.speed) || t.speed <= 0)
      return bad_row(path, line_no,
                     "speed '" + cells[1] + "' must be a number > 0");
    std::string why;
    if (!parse_windows(cells[2], t.windows, why))
      return bad_row(path, line_no, why);
    out.set(*index, t.speed, std::move(t.windows));
  }
  if (!header)
    return make_fl_error(errc::invalid_config,
                         "the client trace '" + path
                           + "' is empty: expected the header "
                             "'client,speed,availability'");
  return out;
}

void client_profiles::set(uint64_t index, double speed,
                          std::vector<online_window> windows) {
  traced_windows_ |= !windows.empty();
  traced_speeds_ |= speed != 1;
  trace_[index] = traced{speed, std::move(windows)};
}

const client_profiles::traced* client_profiles::find(uint64_t index) const {
  if (trace_.empty())
    return nullptr;
  auto i = trace_.find(index);
  return i == trace_.end() ? nullptr : &i->second;
}

double client_profiles::phase(uint64_t index) const {
  return draw(cfg_.seed, 6151u, index) * cfg_.period_s;
}

double client_profiles::speed(uint64_t index) const {
  if (auto* t = find(index))
    return t->speed;
  double x = 1;
  if (cfg_.speed_sigma > 0) {
    std::mt19937_64 rng{cfg_.seed * 49157u + index};
    x = std::exp(cfg_.speed_sigma
                 * std::normal_distribution<double>{0, 1}(rng));
  }
  // The same draw as the straggler flags always made, so the same clients
  // are slow.
  if (cfg_.straggler_fraction > 0
      && draw(cfg_.seed, 7919u, index) < cfg_.straggler_fraction)
    x *= cfg_.straggler_slowdown;
  return x;
}

bool client_profiles::online(uint64_t index, double t) const {
  auto next = next_online(index, t);
  return next && *next <= t;
}

std::optional<double> client_profiles::next_online(uint64_t index,
                                                   double t) const {
  if (auto* tr = find(index)) {
    if (tr->windows.empty())
      return t;
    for (const auto& w : tr->windows)
      if (t < w.end)
        return std::max(t, w.start);
    return std::nullopt;
  }
  if (cfg_.availability >= 1)
    return t;
  const double p = cfg_.period_s;
  const double pos = std::fmod(t + phase(index), p);
  if (pos < cfg_.availability * p)
    return t;
  return t + (p - pos);
}

double client_profiles::online_until(uint64_t index, double t) const {
  if (auto* tr = find(index)) {
    for (const auto& w : tr->windows)
      if (t < w.end)
        return w.end;
    return forever;
  }
  if (cfg_.availability >= 1)
    return forever;
  const double p = cfg_.period_s;
  const double pos = std::fmod(t + phase(index), p);
  return t + (cfg_.availability * p - pos);
}

bool client_profiles::always_online() const noexcept {
  return cfg_.availability >= 1 && !traced_windows_;
}

bool client_profiles::uniform_speed() const noexcept {
  return cfg_.speed_sigma <= 0 && cfg_.straggler_fraction <= 0
         && !traced_speeds_;
}

} // namespace fl
