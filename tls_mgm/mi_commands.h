// tls_mgm's MI commands (OpenSIPS names and reply shapes): tls_list, tls_reload, tls_trace, and
// our tls_cert_status (each domain's certificate: subject, SANs, expiry, days left). They read
// the published snapshot in shared memory and reach the supervisor only through TlsMiHost.
#pragma once

#include "core/base/result.h"
#include "core/mi/command.h"
#include "core/shm/shm_region.h"

namespace sipsd {

class TlsMiHost {
 public:
  virtual ~TlsMiHost() = default;
  virtual ShmRegion& shm() = 0;
  // Re-read and publish the TLS files (what SIGHUP does).
  virtual Status reload_tls() = 0;
};

// Registers the TLS commands on `reg`; `host` must outlive it.
void add_tls_mi_commands(MiRegistry* reg, TlsMiHost* host);

}  // namespace sipsd
