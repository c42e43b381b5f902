#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "runtime/core/json_text.hpp"

namespace fl {

/// One JSON object built field by field; rendered on one line.
class json_record {
public:
  json_record& add(const std::string& key, double value);
  json_record& add(const std::string& key, int64_t value);
  json_record& add(const std::string& key, uint64_t value);
  json_record& add(const std::string& key, int value) {
    return add(key, static_cast<int64_t>(value));
  }
  json_record& add(const std::string& key, const std::string& value);
  json_record& add(const std::string& key, const char* value) {
    return add(key, std::string{value});
  }
  json_record& add(const std::string& key, bool value);
  /// Adds an already rendered JSON value (object or array) verbatim.
  json_record& add_raw(const std::string& key, const std::string& json);

  /// The object as `{"k":v,...}`.
  std::string str() const { return "{" + body_ + "}"; }

private:
  void key(const std::string& k);
  std::string body_;
};

/// Appends JSON lines to a file, one record per line, flushed per line so
/// that a crash loses at most the record being written. Owned by one actor.
class metrics_sink {
public:
  /// Opens `path`, truncating it unless `append` (a resumed run continues
  /// its file). Errors: `io_error`.
  static caf::expected<metrics_sink> open(const std::string& path,
                                          bool append = false);

  /// A sink that drops every record (metrics disabled).
  metrics_sink() = default;

  void write(const json_record& r);
  /// Writes one already rendered JSON object as a line (the manifest).
  void write_line(const std::string& json);
  bool enabled() const { return file_ != nullptr; }

private:
  struct closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, closer> file_;
};

/// The metrics files of a run: the records (the manifest first) and the
/// per-client records.
struct run_sinks {
  metrics_sink records;
  metrics_sink clients;
};

/// Opens `path` and `clients_path` ("" = that file is off), appending when
/// `append` (a resumed run); writes `manifest` ("" = none) as the first line
/// of the records (also when appending: one per start).
/// Errors: `io_error` naming the file.
caf::expected<run_sinks> open_run_sinks(const std::string& path,
                                        const std::string& clients_path,
                                        bool append,
                                        const std::string& manifest);

} // namespace fl
