#pragma once

// Simulated heterogeneity: how fast each client computes and when it is
// online. Profiles come from a seeded distribution or from a trace file; the
// server samples only clients online now, the host of the virtual clients
// delays each update by the client's speed and drops the update of a client
// that goes offline before it is done.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

namespace fl {

/// The id of simulated client `index` ("client-<index>").
std::string client_id(uint64_t index);

/// The index in a simulated client's id, or none for another id.
std::optional<uint64_t> client_index(const std::string& id);

/// One online interval, in simulated seconds: [start, end).
struct online_window {
  double start = 0;
  double end = 0;
};

/// The seeded distribution every client not named in a trace follows.
struct profile_settings {
  uint64_t seed = 0;
  /// Compute time factors are log-normal with median 1 and this sigma
  /// (0: every client 1).
  double speed_sigma = 0;
  /// A seeded share of clients is this many times slower on top (the
  /// straggler flags).
  double straggler_fraction = 0;
  double straggler_slowdown = 1;
  /// The share of time each client is online (1: always). A client is
  /// online for availability x period seconds of every period, starting at
  /// a seeded phase of its own.
  double availability = 1;
  double period_s = 60;
  /// Simulated seconds per wall-clock second (trace times are simulated).
  double time_scale = 1;
};

/// The speed and availability of every client of a federation, keyed by
/// client index. Compact: seeded clients cost nothing; a trace costs its
/// rows. Thread-safe for reading.
class client_profiles {
public:
  explicit client_profiles(profile_settings s);

  /// Reads a trace (CSV with the header `client,speed,availability`: the
  /// client's id or index, its compute time factor (> 0, 1 = as measured),
  /// and its online windows as `start-end` pairs in seconds separated by
  /// `;`, in increasing order, empty = always online). Clients not listed
  /// follow `defaults`. A bad row is refused with the file and line.
  static caf::expected<client_profiles> read_trace(const std::string& path,
                                                   profile_settings defaults,
                                                   uint64_t total_clients);

  /// Gives client `index` its own speed and online windows (empty =
  /// always online) instead of the seeded ones; what a trace row does.
  /// Windows must be increasing and disjoint (read_trace checks a file's).
  void set(uint64_t index, double speed, std::vector<online_window> windows);

  /// How many times longer client `index` takes than the machine measured.
  double speed(uint64_t index) const;

  /// Whether client `index` is online at simulated time `t` (seconds).
  bool online(uint64_t index, double t) const;

  /// The first time at or after `t` when client `index` is online, or none
  /// if it never is again.
  std::optional<double> next_online(uint64_t index, double t) const;

  /// The end of the online stretch client `index` is in at `t` (infinity
  /// when it stays online); only meaningful while online(index, t).
  double online_until(uint64_t index, double t) const;

  /// Simulated seconds since these profiles were made (the simulation's
  /// start): the time online windows are read at.
  double now() const;

  /// Reads simulated time from `now` instead of the wall clock (tests
  /// drive the time by hand).
  void set_clock(std::function<double()> now) { clock_ = std::move(now); }

  /// Whether every client is always online (sampling needs no filter).
  bool always_online() const noexcept;

  /// Whether any client is slower or faster than measured.
  bool uniform_speed() const noexcept;

  const profile_settings& settings() const noexcept { return cfg_; }

private:
  struct traced {
    double speed = 1;
    std::vector<online_window> windows; ///< empty = always online
  };

  const traced* find(uint64_t index) const;
  double phase(uint64_t index) const;

  profile_settings cfg_;
  std::chrono::steady_clock::time_point origin_;
  std::function<double()> clock_; ///< null: the wall clock
  std::unordered_map<uint64_t, traced> trace_;
  bool traced_windows_ = false;
  bool traced_speeds_ = false;
};

} // namespace fl
