#include "runtime/net/access_list.hpp"

#include "runtime/core/errors.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <toml++/toml.h>

namespace fl::net {

namespace {

caf::error bad(const std::string& where, const std::string& why) {
  return make_fl_error(errc::invalid_config, where + why);
}

std::string line_of(const std::string& origin, const toml::node& v) {
  return origin + ":" + std::to_string(v.source().begin.line) + ": ";
}

caf::expected<std::vector<std::string>> strings(const toml::node& v,
                                                const std::string& where) {
  auto* arr = v.as_array();
  if (arr == nullptr)
    return bad(where, "must be an array of strings");
  std::vector<std::string> out;
  for (auto& x : *arr) {
    auto s = x.value<std::string>();
    if (!s)
      return bad(where, "must be an array of strings");
    out.push_back(*s);
  }
  return out;
}

} // namespace

bool valid_identity(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_'
          || c == '-'))
      return false;
  return true;
}

caf::expected<access_rules> parse_access_rules(const std::string& text,
                                               const std::string& origin) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return bad(origin + ":" + std::to_string(e.source().begin.line) + ": ",
               std::string{e.description()});
  }
  access_rules out;
  for (auto&& [k, v] : tbl) {
    std::string key{k.str()};
    auto where = line_of(origin, v);
    if (key == "deny") {
      auto names = strings(v, where + "deny ");
      if (!names)
        return std::move(names.error());
      for (auto& n : *names) {
        if (!valid_identity(n))
          return bad(where, "deny: '" + n + "' is not a valid identity");
        out.deny.insert(n);
      }
    } else if (key == "nodes") {
      auto* nodes = v.as_table();
      if (nodes == nullptr)
        return bad(where, "nodes must be a table of [nodes.NAME] tables");
      for (auto&& [nk, nv] : *nodes) {
        std::string name{nk.str()};
        auto at = line_of(origin, nv);
        if (!valid_identity(name))
          return bad(at, "'" + name
                             + "' is not a valid identity (1 to 64 "
                               "characters of A-Z a-z 0-9 . _ -)");
        auto* t = nv.as_table();
        if (t == nullptr)
          return bad(at, "nodes." + name + " must be a table");
        access_entry e;
        e.ids = id_grants::only(name);
        for (auto&& [ek, ev] : *t) {
          std::string field{ek.str()};
          auto here = line_of(origin, ev);
          if (field == "token") {
            auto s = ev.value<std::string>();
            if (!s || s->size() < 16 || s->size() > 256)
              return bad(here, "nodes." + name
                                   + ".token must be a string of 16 to 256 "
                                     "characters");
            e.token = *s;
          } else if (field == "ids") {
            auto texts = strings(ev, here + "nodes." + name + ".ids ");
            if (!texts)
              return std::move(texts.error());
            auto grants = id_grants::parse(*texts);
            if (!grants)
              return bad(here, describe(grants.error()));
            e.ids = std::move(*grants);
          } else {
            return bad(here, "unknown key nodes." + name + "." + field
                                 + " (known: token, ids)");
          }
        }
        out.nodes.emplace(name, std::move(e));
      }
    } else {
      return bad(where, "unknown key '" + key + "' (known: deny, nodes)");
    }
  }
  return out;
}

caf::expected<std::shared_ptr<access_file>>
access_file::open(std::string path) {
  std::shared_ptr<access_file> f{new access_file(std::move(path))};
  auto loaded = f->reload_if_changed();
  if (!loaded)
    return std::move(loaded.error());
  return f;
}

std::shared_ptr<const access_rules> access_file::rules() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return rules_;
}

caf::expected<bool> access_file::reload_if_changed() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0)
    return make_fl_error(errc::io_error,
                         "cannot read access file '" + path_ + "'");
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (rules_ && st.st_mtim.tv_sec == mtime_.tv_sec
        && st.st_mtim.tv_nsec == mtime_.tv_nsec && st.st_size == size_)
      return false;
  }
  std::ifstream in{path_, std::ios::binary};
  if (!in)
    return make_fl_error(errc::io_error,
                         "cannot read access file '" + path_ + "'");
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_access_rules(text.str(), path_);
  std::lock_guard<std::mutex> guard{mtx_};
  // Remember this version either way: a broken file is reported once, not
  // on every poll, and the rules in force stay until it is fixed.
  mtime_ = st.st_mtim;
  size_ = st.st_size;
  if (!parsed)
    return std::move(parsed.error());
  rules_ = std::make_shared<const access_rules>(std::move(*parsed));
  return true;
}

} // namespace fl::net
