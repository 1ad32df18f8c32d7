#include "tls_mgm/tls_setup.h"

#include <algorithm>

#include "tls_mgm/ip_key.h"
#include "tls_mgm/tls_db_domains.h"
#include "tls_mgm/tls_domain_config.h"
#include "tls_mgm/tls_loader.h"

namespace sipsd {

namespace {

// A TLS listener no server domain can serve would refuse every handshake: an error at -c, at
// start and at a reload. Listeners on "*", a host name or an ephemeral port are covered by any
// server domain (their local address is known only per connection).
Status check_tls_listeners_covered(const Config& cfg, const tls::TlsSnapshot& snap) {
  std::vector<std::string> errors;
  for (const ListenSpec& ls : cfg.listeners) {
    if (ls.proto != Proto::kTls) continue;
    std::optional<std::string> key = ip_port_key(ls.host, ls.port);
    std::string ip_prefix;
    if (key && ls.port == 0) ip_prefix = key->substr(0, key->rfind(':') + 1);
    bool covered = false;
    for (const tls::TlsDomain& d : snap.server_domains()) {
      for (const std::string& k : d.match_ip_address()) {
        if (k == "*" || !key || (ls.port == 0 ? k.starts_with(ip_prefix) : k == *key))
          covered = true;
      }
    }
    if (covered) continue;
    const std::string shown = key ? *key : ls.host + ":" + std::to_string(ls.port);
    errors.push_back(ls.pos.str() + ": TLS listener tls:" + shown +
                     " is served by no tls_mgm server domain (none lists \"" + shown +
                     "\" or \"*\" in match_ip_address): every TLS connection on it would be "
                     "refused");
  }
  if (!errors.empty()) return make_error(join_lines(errors));
  return Status::Ok();
}

}  // namespace

Result<tls::TlsSnapshot> load_tls_domains(const Config& cfg, std::vector<std::string>* warnings) {
  Result<std::vector<TlsDomainConfig>> domains = parse_tls_domains(cfg, warnings);
  if (!domains.ok()) return domains.error();
  // modparam("tls_mgm", "db_url", ...): the table's domains first, as OpenSIPS orders them.
  TlsDbParams db = tls_db_params(cfg);
  if (!db.db_url.empty()) {
    auto db_domains = load_tls_db_domains(cfg, db, *domains, warnings);
    if (!db_domains.ok()) return db_domains.error();
    domains->insert(domains->begin(), db_domains->begin(), db_domains->end());
  }
  Result<tls::TlsSnapshot> snap = load_tls_snapshot(*domains, warnings);
  if (!snap.ok()) return snap;
  if (Status covered = check_tls_listeners_covered(cfg, *snap); !covered.ok())
    return make_error(covered.message());
  return snap;
}

Result<TlsSetup> load_tls_setup(const Config& cfg, std::vector<std::string>* warnings) {
  Result<tls::TlsSnapshot> snapshot = load_tls_domains(cfg, warnings);
  Result<TlsMgmGlobals> globals = parse_tls_globals(cfg);
  std::vector<std::string> errors;
  if (!snapshot.ok()) errors.push_back(snapshot.message());
  if (!globals.ok()) errors.push_back(globals.message());
  if (!errors.empty()) return make_error(join_lines(errors));
  Result<TicketKeySource> keys =
      TicketKeySource::create(globals->ticket_key_file, globals->ticket_key_interval);
  if (!keys.ok()) return keys.error();
  return TlsSetup{std::move(snapshot).value(), std::move(keys).value()};
}

}  // namespace sipsd
