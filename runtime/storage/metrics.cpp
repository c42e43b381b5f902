#include "runtime/storage/metrics.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "runtime/core/errors.hpp"

namespace fl {

void json_record::key(const std::string& k) {
  if (!body_.empty())
    body_ += ',';
  body_ += json_quote(k);
  body_ += ':';
}

json_record& json_record::add(const std::string& k, double value) {
  key(k);
  if (!std::isfinite(value)) {
    body_ += "null"; // JSON has no NaN/Inf
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  body_ += buf;
  return *this;
}

json_record& json_record::add(const std::string& k, int64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

json_record& json_record::add(const std::string& k, uint64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

json_record& json_record::add(const std::string& k, const std::string& v) {
  key(k);
  body_ += json_quote(v);
  return *this;
}

json_record& json_record::add(const std::string& k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
  return *this;
}

json_record& json_record::add_raw(const std::string& k,
                                  const std::string& json) {
  key(k);
  body_ += json;
  return *this;
}

caf::expected<metrics_sink> metrics_sink::open(const std::string& path,
                                               bool append) {
  metrics_sink result;
  result.file_.reset(std::fopen(path.c_str(), append ? "a" : "w"));
  if (!result.file_)
    return make_fl_error(errc::io_error, "cannot open metrics file '" + path
                                           + "': " + std::strerror(errno));
  return result;
}

caf::expected<run_sinks> open_run_sinks(const std::string& path,
                                        const std::string& clients_path,
                                        bool append,
                                        const std::string& manifest) {
  run_sinks out;
  if (!path.empty()) {
    auto sink = metrics_sink::open(path, append);
    if (!sink)
      return std::move(sink.error());
    out.records = std::move(*sink);
    if (!manifest.empty())
      out.records.write_line(manifest);
  }
  if (!clients_path.empty()) {
    auto sink = metrics_sink::open(clients_path, append);
    if (!sink)
      return std::move(sink.error());
    out.clients = std::move(*sink);
  }
  return out;
}

void metrics_sink::write(const json_record& r) {
  write_line(r.str());
}

void metrics_sink::write_line(const std::string& json) {
  if (!file_)
    return;
  auto line = json + '\n';
  std::fwrite(line.data(), 1, line.size(), file_.get());
  std::fflush(file_.get());
}

} // namespace fl
