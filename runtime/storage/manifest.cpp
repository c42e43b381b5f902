#include "runtime/storage/manifest.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>

#include "runtime/core/build_info.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/storage/metrics.hpp"

namespace fl {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0)
    return "unknown";
  return buf;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::to_time_t(
    std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// Decodes the JSON string literal starting at text[pos] (the opening
/// quote). Errors: an unterminated or malformed literal.
caf::expected<std::string> json_string_at(const std::string& text,
                                          size_t pos) {
  auto malformed = make_fl_error(errc::invalid_config,
                                 "malformed string in the manifest");
  if (pos >= text.size() || text[pos] != '"')
    return malformed;
  std::string out;
  for (size_t i = pos + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"')
      return out;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= text.size())
      return malformed;
    switch (text[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (i + 4 >= text.size())
          return malformed;
        const auto code = std::stoul(text.substr(i + 1, 4), nullptr, 16);
        if (code >= 0x80) // only control characters are escaped this way
          return malformed;
        out += static_cast<char>(code);
        i += 4;
        break;
      }
      default:
        return malformed;
    }
  }
  return malformed;
}

} // namespace

std::string run_manifest(const node_config& given,
                         const std::string& command) {
  // The join token is a secret: it stays out of the file.
  node_config cfg = given;
  const bool had_token = !cfg.node.token.empty();
  cfg.node.token.clear();
  json_record m;
  m.add("fedactor_version", build_version())
    .add("commit", build_commit())
    .add("command", command)
    .add("seed", cfg.federation.seed)
    .add("host", host_name())
    .add("start_time", utc_now())
    .add_raw("config", to_json(cfg))
    .add("config_toml", to_toml(cfg));
  if (had_token)
    m.add_raw("redacted", "[\"node.token\"]");
  json_record outer;
  outer.add_raw("manifest", m.str());
  return outer.str();
}

bool is_metrics_file(const std::string& path) {
  std::ifstream in{path};
  char c = 0;
  while (in.get(c))
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
      return c == '{';
  return false;
}

caf::expected<std::string> manifest_config(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_fl_error(errc::io_error, "cannot read '" + path + "'");
  std::string first;
  std::getline(in, first);
  const std::string key = "\"config_toml\":";
  const auto at = first.find(key);
  if (first.rfind("{\"manifest\":", 0) != 0 || at == std::string::npos)
    return make_fl_error(errc::invalid_config,
                         "'" + path + "' does not start with a run manifest "
                           "holding a configuration");
  auto toml = json_string_at(first, at + key.size());
  if (!toml)
    return make_fl_error(errc::invalid_config,
                         "'" + path + "': " + describe(toml.error()));
  return toml;
}

} // namespace fl
