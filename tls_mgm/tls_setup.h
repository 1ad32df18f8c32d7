// Everything tls_mgm reads from the cfg and from disk at start: the domains, loaded and checked
// into the snapshot the supervisor publishes, and the session-ticket key source. The supervisor
// uses it to start (and the domain half to reload); `sipsd -c` to check a cfg without binding.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/cfg/config.h"
#include "tls_mgm/ticket_keys.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

struct TlsSetup {
  tls::TlsSnapshot snapshot;
  TicketKeySource ticket_keys;
};

// Parses every modparam("tls_mgm", …) of `cfg`, reads and checks every file the domains name,
// and checks the module-wide ticket key parameters. Warnings are appended to *warnings.
Result<TlsSetup> load_tls_setup(const Config& cfg, std::vector<std::string>* warnings);

// The domain half only: what a reload (SIGHUP, MI tls_reload) re-reads.
Result<tls::TlsSnapshot> load_tls_domains(const Config& cfg, std::vector<std::string>* warnings);

}  // namespace sipsd
