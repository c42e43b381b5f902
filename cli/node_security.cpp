#include "cli/node_security.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/net/access_list.hpp"
#include "runtime/net/loopback.hpp"
#include "runtime/net/certificates.hpp"
#include "runtime/net/tls_context.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace fl::cli {

namespace {

caf::expected<std::string> read_token_file(const std::string& path) {
  std::ifstream in{path};
  std::string token;
  if (!in || !std::getline(in, token))
    return make_fl_error(errc::io_error,
                         "cannot read token file '" + path + "'");
  while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.size() < 16)
    return make_fl_error(errc::invalid_config,
                         "token file '" + path
                             + "' holds fewer than 16 characters");
  return token;
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0)
    return "node";
  std::string out;
  for (char c : std::string{buf})
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'
            || c == '_')
               ? c
               : '-';
  return out.substr(0, 64);
}

} // namespace

caf::expected<net::gate_settings>
gate_settings_for(const node_config& cfg, bool listens, const loggers& log) {
  const auto& sec = cfg.security;
  net::gate_settings g;
  g.auth_timeout_s = sec.auth_timeout_s;
  g.max_pending = static_cast<size_t>(sec.max_pending);
  g.max_connections = static_cast<size_t>(sec.max_connections);
  g.shared_token = cfg.node.token;
  g.own_token = cfg.node.token;
  if (!sec.token_file.empty()) {
    auto token = read_token_file(sec.token_file);
    if (!token)
      return std::move(token.error());
    g.own_token = *token;
  }
  if (!sec.tls.empty()) {
    auto tls = net::tls_context::load(net::tls_files::in_folder(sec.tls));
    if (!tls)
      return make_fl_error(errc::invalid_config,
                           "--tls " + sec.tls + ": " + describe(tls.error()));
    g.tls = *tls;
    // A kit's own token proves this node where the other side checks one
    // (an access file that lists it), unless --token or --token-file says
    // otherwise.
    if (g.own_token.empty()
        && ::access((sec.tls + "/token").c_str(), R_OK) == 0) {
      auto token = read_token_file(sec.tls + "/token");
      if (!token)
        return std::move(token.error());
      g.own_token = *token;
    }
  }
  if (!sec.access.empty()) {
    auto access = net::access_file::open(sec.access);
    if (!access)
      return std::move(access.error());
    g.access = *access;
  }
  g.identity = !sec.identity.empty()  ? sec.identity
               : g.tls                ? g.tls->own().name
               : !cfg.node.id.empty() ? cfg.node.id
                                      : host_name();
  if (!net::valid_identity(g.identity))
    return make_fl_error(errc::invalid_config,
                         "identity '" + g.identity
                             + "' is not valid (1 to 64 characters of A-Z a-z "
                               "0-9 . _ -); set --identity");
  if (g.tls && g.identity != g.tls->own().name)
    return make_fl_error(errc::invalid_config,
                         "--identity " + g.identity
                             + " differs from the certificate's name '"
                             + g.tls->own().name + "'");
  const bool open = !g.tls && g.shared_token.empty() && !g.access;
  if (listens && open && !net::is_loopback_host(cfg.node.host)) {
    if (!sec.insecure)
      return make_fl_error(
          errc::invalid_config,
          "refusing to listen on " + cfg.node.host
              + " with neither TLS nor a token: anyone who reaches the port "
                "could join, read the model and send updates. Use --tls DIR "
                "(fl-node certs makes the files), --token or --access; or "
                "--insecure to accept that risk");
    log.node->warn("INSECURE: listening on {} with neither TLS nor a token "
                   "(--insecure): anyone who reaches this port can join, read "
                   "every model in clear and send updates",
                   cfg.node.host);
  }
  return g;
}

owned_transport start_node_transport(caf::actor_system& sys,
                                     net::gate_settings g, const loggers& log) {
  owned_transport t{new net::secure_transport{
      net::start_secure_transport(sys, std::move(g), log)}};
  log.wire->info("transport: {}; this node is '{}'", t->gate->describe_mode(),
                 t->gate->settings().identity);
  return t;
}

} // namespace fl::cli

namespace fl::cli {

int run_certs(const std::string& dir, const std::vector<std::string>& nodes,
              int days) {
  std::vector<net::kit_request> requests;
  for (const auto& text : nodes) {
    auto r = net::parse_kit_request(text);
    if (!r) {
      std::fprintf(stderr, "fl-node certs: %s\n", describe(r.error()).c_str());
      return 2;
    }
    requests.push_back(std::move(*r));
  }
  if (auto err = net::make_startup_kits(dir, requests, days)) {
    std::fprintf(stderr, "fl-node certs: %s\n", describe(err).c_str());
    return err.code() == static_cast<uint8_t>(errc::invalid_config) ? 2 : 1;
  }
  std::printf("CA: %s/ca.pem (keep %s/ca.key offline)\n", dir.c_str(),
              dir.c_str());
  for (const auto& r : requests) {
    std::string grants;
    for (const auto& g : r.grants)
      grants += (grants.empty() ? "" : ", ") + g;
    std::printf("kit: %s/%s/  may join as: %s\n", dir.c_str(), r.name.c_str(),
                grants.empty() ? r.name.c_str() : grants.c_str());
  }
  std::printf("access file: %s/access.toml (for --access)\n"
              "run each node with --tls %s/NAME; without TLS use --identity "
              "NAME --token-file %s/NAME/token\n",
              dir.c_str(), dir.c_str(), dir.c_str());
  return 0;
}

} // namespace fl::cli
