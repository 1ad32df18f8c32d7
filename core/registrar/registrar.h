// registrar (OpenSIPS 3.x): save() turns a REGISTER into bindings in usrloc's shared location
// table and answers it (200 listing every binding, or the error OpenSIPS sends);
// lookup() turns a Request-URI into the destinations of its bindings (q order: the best one
// becomes the R-URI, the others branches), is_registered() and remove().
//
// Expires as OpenSIPS: the Contact's expires, else the Expires header, else default_expires;
// 0 removes; shorter than min_expires is raised to it (never 423), longer than max_expires
// lowered. A Contact "*" needs Expires: 0 and no other Contact. max_contacts (or the save flag)
// is a per-AoR limit: more gets 503 "Too many registered contacts" (Retry-After with
// retry_after). A REGISTER carrying more Contacts than kMaxContactsPerRequest is refused the
// same way before they are all parsed.
//
// TCP/TLS bindings remember their connection (proto, source address, connection id): lookup()
// sends requests to the phone back over it whichever worker owns it, and never opens a new
// connection towards the phone. With tcp_persistent_flag set on the REGISTER, the binding lives
// only as long as that connection (removed when it closes) and the connection as long as the
// binding.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/transport.h"
#include "core/registrar/save_flags.h"
#include "core/sip/message.h"
#include "core/usrloc/location_table.h"

namespace sipsd::reg {

inline constexpr size_t kMaxContactsPerRequest = 64;
// Bindings one AoR may hold when max_contacts is 0 (sipsd's bound on a single AoR).
inline constexpr int kMaxContactsPerAor = 256;

struct RegistrarConfig {
  int64_t default_expires = 3600;
  int64_t min_expires = 60;
  int64_t max_expires = 0;
  int max_contacts = 0;
  int tcp_persistent_flag = -1;  // message flag bit, -1 = unset
  std::string received_param = "received";
  int retry_after = 0;
  bool use_domain = false;  // usrloc use_domain
  int64_t cseq_delay = 20;  // usrloc cseq_delay
  std::string server_header;
};

// Expires for one Contact (seconds, after clamping): `contact_expires` (-1 none),
// `header_expires` (-1 none).
int64_t contact_expires(int64_t contact_expires, int64_t header_expires, int64_t default_expires,
                        int64_t min_expires, int64_t max_expires);

// The AoR of a URI: user, or user@host with use_domain. False: no user part or not a URI.
bool aor_of_uri(std::string_view uri, bool use_domain, std::string* out);

// Where the REGISTER came from.
struct RegisterSource {
  Proto proto = Proto::kUdp;
  std::string_view src_ip;
  uint16_t src_port = 0;
  uint32_t conn_id = 0;  // TCP/TLS
  std::string socket;    // "tls:127.0.0.1:5061"
};

struct SaveRequest {
  const sip::Message* req = nullptr;
  RegisterSource src;
  uint32_t msg_flags = 0;
  std::string_view received;  // received_avp's value ("" = unset)
  std::string_view aor_uri;   // save()'s aor argument ("" = the To URI)
  int64_t now = 0;            // UNIX seconds
};

struct SaveResult {
  int rc = -1;                   // 1 stored, -2 rejected, -1 the reply could not be built
  int code = 0;                  // the reply's code
  std::string reason;            // its reason phrase
  std::string error;             // P-Registrar-Error ("" on success)
  std::string reply;             // the reply's bytes (empty with no-reply)
  bool conn_bound = false;       // tcp_persistent_flag applied: the connection should live as long
  int64_t max_expires_left = 0;  // as the longest of these bindings (seconds)
};

// One destination of a lookup.
struct LookupTarget {
  std::string uri;       // the Contact URI (the branch's R-URI)
  std::string du;        // its next hop: the first Path URI, received, or the connection's peer
  uint32_t conn_id = 0;  // the connection to go on (0: none)
  int conn_owner = 0;
  bool no_new_conn = false;  // a TCP/TLS binding: never open a connection towards the phone
  std::string socket;        // the listener it registered on ("tls:127.0.0.1:5061"): sent from
  int q = ul::kQUnspecified;
  uint32_t cflags = 0;
  std::string path;
};

struct LookupResult {
  int rc = -1;  // 1 found, -1 none, -2 none allows the method, -3 internal error
  std::vector<LookupTarget> targets;
};

class Registrar {
 public:
  Registrar(RegistrarConfig cfg, ul::LocationTable table) : cfg_(std::move(cfg)), table_(table) {}

  const RegistrarConfig& config() const { return cfg_; }
  ul::LocationTable& table() { return table_; }

  SaveResult save(const SaveRequest& in, const SaveFlags& flags);

  // `conn_owner`: the worker owning a live connection with this id to (proto, ip, port), or
  // nullopt when it is gone.
  using ConnProbe = std::function<std::optional<int>(Proto, std::string_view ip, uint16_t port,
                                                     uint32_t conn_id)>;
  LookupResult lookup(std::string_view aor, sip::Method method, std::string_view method_name,
                      const LookupFlags& flags, int64_t now, const ConnProbe& probe) const;

  // 1 when the AoR has a valid binding, -1 otherwise.
  int is_registered(std::string_view aor, int64_t now) const;
  // 1 when something was removed, -1 otherwise.
  int remove(std::string_view aor, std::string_view contact);

 private:
  RegistrarConfig cfg_;
  mutable ul::LocationTable table_;
};

// Bit of a method in usrloc's methods mask (kAllMethods when unknown).
uint32_t method_bit(sip::Method m);
// The mask of an Allow header value list ("INVITE, ACK, BYE"); kAllMethods when empty.
uint32_t methods_of_allow(const sip::Message& req);

}  // namespace sipsd::reg
