#include "runtime/net/gatekeeper.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/net/guarded_connection.hpp"

namespace fl::net {

namespace {

/// Refusals logged individually; beyond this many distinct (address,
/// reason) pairs they are only counted.
constexpr size_t max_logged_refusals = 4096;

} // namespace

gatekeeper::gatekeeper(gate_settings s, loggers log)
    : s_(std::move(s)), log_(std::move(log)) {}

gatekeeper::~gatekeeper() = default;

std::string gatekeeper::describe_mode() const {
  std::string out = s_.tls ? "mutual TLS" : "plaintext";
  if (s_.access)
    out += ", identities from " + s_.access->path();
  else if (s_.tls)
    out += ", identities from certificates";
  else if (!s_.shared_token.empty())
    out += ", shared token (node ids are not bound to identities)";
  else
    out += ", no authentication";
  return out;
}

bool gatekeeper::binds_identities() const { return s_.tls || s_.access; }

bool gatekeeper::try_open(const std::string& addr) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (pending_ < s_.max_pending && pending_ + open_ < s_.max_connections) {
      ++pending_;
      return true;
    }
    ++refused_busy_;
  }
  refuse(addr, "too many connections at once (" + std::to_string(s_.max_pending)
                   + " unauthenticated, " + std::to_string(s_.max_connections)
                   + " in all)");
  return false;
}

void gatekeeper::on_authenticated() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (pending_ > 0)
    --pending_;
  ++open_;
  ++admitted_;
}

void gatekeeper::on_closed(bool was_pending) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& n = was_pending ? pending_ : open_;
  if (n > 0)
    --n;
}

const std::string*
gatekeeper::token_for(const std::string& identity,
                      std::shared_ptr<const access_rules>& rules,
                      bool& listed) const {
  listed = false;
  if (s_.access) {
    rules = s_.access->rules();
    auto i = rules->nodes.find(identity);
    if (i != rules->nodes.end()) {
      listed = true;
      if (!i->second.token.empty())
        return &i->second.token;
    }
  }
  // With TLS the certificate is the proof and a token is checked only where
  // one is known; without TLS the shared token (maybe none) is all there is.
  if (s_.tls && s_.shared_token.empty())
    return nullptr;
  return &s_.shared_token;
}

gatekeeper::judgement gatekeeper::judge(signer who, const proof& p,
                                        const nonce& n,
                                        const cert_identity* cert) const {
  judgement j;
  j.who.name = p.identity;
  auto denied = [this](const std::string& name) {
    return s_.access && s_.access->rules()->deny.count(name) > 0;
  };
  if (denied(p.identity) || (cert && denied(cert->name))) {
    ++refused_revoked_;
    j.code = verdict_code::revoked;
    j.why = "identity '" + p.identity + "' is revoked";
    return j;
  }
  if (s_.tls && (cert == nullptr || cert->name != p.identity)) {
    ++refused_proof_;
    j.why = "claims identity '" + p.identity + "' but its certificate names '"
            + (cert ? cert->name : std::string{"nobody"}) + "'";
    return j;
  }
  std::shared_ptr<const access_rules> rules;
  bool listed = false;
  auto* token = token_for(p.identity, rules, listed);
  if (s_.access && !listed && (!s_.tls || !rules->nodes.empty())) {
    ++refused_proof_;
    j.why = "identity '" + p.identity + "' is not in the access file";
    return j;
  }
  // With TLS the certificate is the proof; a token, where one is set, must
  // match as well. Without TLS the token is all there is.
  if (token != nullptr && !proof_matches(who, p, *token, n)) {
    ++refused_proof_;
    j.why = "identity '" + p.identity + "' proved a wrong token";
    return j;
  }
  j.code = verdict_code::admitted;
  if (listed) {
    j.who.ids = rules->nodes.at(p.identity).ids;
  } else if (cert != nullptr) {
    auto grants = id_grants::parse(cert->grants);
    j.who.ids = grants && !cert->grants.empty() ? *grants
                                                : id_grants::only(cert->name);
  } else {
    j.who.ids = *id_grants::parse({"*"});
  }
  return j;
}

bool gatekeeper::bind(const caf::node_id& node, const peer_identity& who,
                      std::string& why) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = bound_.find(node);
  if (i == bound_.end()) {
    bound_.emplace(node, std::make_pair(who, size_t{1}));
    return true;
  }
  if (i->second.first.name != who.name) {
    why = "its runtime node is already bound to identity '"
          + i->second.first.name + "'";
    return false;
  }
  ++i->second.second;
  return true;
}

void gatekeeper::unbind(const caf::node_id& node) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = bound_.find(node);
  if (i != bound_.end() && --i->second.second == 0)
    bound_.erase(i);
}

bool gatekeeper::may_join(const caf::node_id& sender,
                          const std::string& node_id, std::string& why) const {
  if (!binds_identities())
    return true;
  peer_identity who;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = bound_.find(sender);
    if (i == bound_.end()) {
      why = "its connection never proved an identity";
      return false;
    }
    who = i->second.first;
  }
  if (revoked(who.name)) {
    why = "identity '" + who.name + "' is revoked";
    return false;
  }
  if (!who.ids.allows(node_id)) {
    why = "identity '" + who.name + "' may join only as " + who.ids.describe();
    return false;
  }
  return true;
}

bool gatekeeper::revoked(const std::string& identity) const {
  if (!s_.access)
    return false;
  // Revoked: denied, or dropped from an access file that lists who may
  // connect (with TLS an empty [nodes] admits every certificate).
  auto rules = s_.access->rules();
  if (rules->deny.count(identity) > 0)
    return true;
  if (rules->nodes.count(identity) > 0)
    return false;
  return !s_.tls || !rules->nodes.empty();
}

void gatekeeper::refuse(const std::string& addr, const std::string& why) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (logged_.size() >= max_logged_refusals) {
      ++unlogged_;
      if (unlogged_ % 10000 != 1)
        return;
      log_.wire->warn("{} more refused connections not logged one by one",
                      unlogged_);
      return;
    }
    if (!logged_.insert(addr + '\n' + why).second)
      return;
  }
  log_.wire->warn("refused {}: {}", addr.empty() ? "a peer" : addr, why);
}

void gatekeeper::watch(caf::intrusive_ptr<guarded_scribe> conn) {
  std::lock_guard<std::mutex> guard{mtx_};
  watched_.push_back(std::move(conn));
}

void gatekeeper::sweep() {
  std::vector<caf::intrusive_ptr<guarded_scribe>> conns;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    conns.swap(watched_);
  }
  const auto now = std::chrono::steady_clock::now();
  std::vector<caf::intrusive_ptr<guarded_scribe>> keep;
  for (auto& c : conns)
    if (c->sweep(now))
      keep.push_back(std::move(c));
  std::lock_guard<std::mutex> guard{mtx_};
  watched_.insert(watched_.end(), std::make_move_iterator(keep.begin()),
                  std::make_move_iterator(keep.end()));
}

bool gatekeeper::reload() {
  if (!s_.access)
    return false;
  auto changed = s_.access->reload_if_changed();
  if (!changed) {
    log_.wire->error("access file not reloaded, the previous rules stay in "
                     "force: {}",
                     describe(changed.error()));
    return false;
  }
  if (*changed) {
    auto rules = s_.access->rules();
    log_.wire->info("access file {} reloaded: {} identities, {} denied",
                    s_.access->path(), rules->nodes.size(), rules->deny.size());
  }
  return *changed;
}

void gatekeeper::note_verdict(const std::string& addr, verdict_code code) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (code == verdict_code::admitted)
    refused_by_.erase(addr);
  else if (refused_by_.size() < max_logged_refusals)
    refused_by_[addr] = code;
}

std::optional<verdict_code>
gatekeeper::refused_by(const std::string& addr) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = refused_by_.find(addr);
  if (i == refused_by_.end())
    return std::nullopt;
  return i->second;
}

gate_stats gatekeeper::stats() const {
  gate_stats st;
  std::lock_guard<std::mutex> guard{mtx_};
  st.admitted = admitted_;
  st.refused_proof = refused_proof_;
  st.refused_revoked = refused_revoked_;
  st.refused_busy = refused_busy_;
  st.refused_protocol = protocol_refusals_;
  st.timed_out = timeouts_;
  st.closed_revoked = closed_revoked_;
  st.pending = pending_;
  st.open = open_;
  return st;
}

} // namespace fl::net
