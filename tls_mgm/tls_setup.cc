#include "tls_mgm/tls_setup.h"

#include "tls_mgm/tls_db_domains.h"
#include "tls_mgm/tls_domain_config.h"
#include "tls_mgm/tls_loader.h"

namespace sipsd {

Result<tls::TlsSnapshot> load_tls_domains(const Config& cfg, std::vector<std::string>* warnings) {
  Result<std::vector<TlsDomainConfig>> domains = parse_tls_domains(cfg, warnings);
  if (!domains.ok()) return domains.error();
  // modparam("tls_mgm", "db_url", ...): the table's domains first, as OpenSIPS orders them.
  TlsDbParams db = tls_db_params(cfg);
  TlsDbFiles files;  // the blobs' temporary files, removed once the snapshot holds them
  if (!db.db_url.empty()) {
    auto db_domains = load_tls_db_domains(cfg, db, *domains, &files, warnings);
    if (!db_domains.ok()) return db_domains.error();
    domains->insert(domains->begin(), db_domains->begin(), db_domains->end());
  }
  return load_tls_snapshot(*domains, warnings);
}

Result<TlsSetup> load_tls_setup(const Config& cfg, std::vector<std::string>* warnings) {
  Result<tls::TlsSnapshot> snapshot = load_tls_domains(cfg, warnings);
  if (!snapshot.ok()) return snapshot.error();
  Result<TlsMgmGlobals> globals = parse_tls_globals(cfg);
  if (!globals.ok()) return globals.error();
  Result<TicketKeySource> keys =
      TicketKeySource::create(globals->ticket_key_file, globals->ticket_key_interval);
  if (!keys.ok()) return keys.error();
  return TlsSetup{std::move(snapshot).value(), std::move(keys).value()};
}

}  // namespace sipsd
