// One binding of an address-of-record (OpenSIPS usrloc's ucontact): what registrar's save()
// stores and lookup() reads. This is the process-local form (std::string fields); the shared
// table (location_table.h) keeps a fixed-size copy of it.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/transport.h"

namespace sipsd::ul {

// usrloc's contact states (OpenSIPS CS_NEW / CS_SYNC / CS_DIRTY): with db_mode 2 a contact is
// written back when it is not CS_SYNC.
enum class ContactState : uint8_t { kNew = 0, kSync = 1, kDirty = 2 };
const char* contact_state_name(ContactState s);

inline constexpr int kQUnspecified = -1;  // no ;q (sorts after every explicit q)
inline constexpr uint32_t kAllMethods = 0xffffffffu;

// Field limits (OpenSIPS registrar: max_aor_len 256, max_contact_len 255). Longer values are
// refused by save() before they reach the table.
inline constexpr size_t kMaxAorLen = 255;
inline constexpr size_t kMaxContactLen = 255;
inline constexpr size_t kMaxReceivedLen = 95;
inline constexpr size_t kMaxPathLen = 255;
inline constexpr size_t kMaxCallidLen = 127;
inline constexpr size_t kMaxUserAgentLen = 95;  // longer ones are cut (shown only)
inline constexpr size_t kMaxInstanceLen = 95;
inline constexpr size_t kMaxSocketLen = 63;

struct Contact {
  std::string aor;       // "alice", or "alice@a.example" with use_domain
  std::string uri;       // the Contact URI
  std::string received;  // received_avp's value ("sip:198.51.100.7:40312;transport=tls")
  std::string path;      // the Path header values, comma-separated ("" = none)
  std::string callid;
  std::string user_agent;
  std::string instance;  // +sip.instance (quotes kept)
  std::string socket;    // the receiving listener, "tls:127.0.0.1:5061"
  int64_t expires = 0;   // absolute UNIX time in seconds; 0 = permanent
  int64_t last_modified = 0;
  uint64_t contact_id = 0;  // unique in the table (ContactID in ul_dump)
  int q = kQUnspecified;    // 0..1000
  uint32_t cseq = 0;
  uint32_t flags = 0;              // usrloc's own flags (Flags in ul_dump)
  uint32_t cflags = 0;             // the branch flags saved with it (nat_bflag, ...)
  uint32_t methods = kAllMethods;  // Allow methods (registrar's method bits)
  uint32_t reg_id = 0;             // RFC 5626 reg-id (0 = none)
  // The TCP/TLS connection the REGISTER came over (NAT traversal: requests to the phone go back
  // on it). conn_id 0: none (UDP).
  Proto proto = Proto::kUdp;
  std::string src_ip;
  uint16_t src_port = 0;
  uint32_t conn_id = 0;
  uint32_t conn_slot = 0;
  // tcp_persistent_flag was set: the binding lives as long as its connection.
  bool conn_bound = false;
  ContactState state = ContactState::kNew;
  // LocationTable::update(): the slot it is stored in (0 = a new binding). Not stored.
  uint32_t slot = 0;

  // Seconds left at `now` (0 when expired; permanent contacts: INT64_MAX).
  int64_t seconds_left(int64_t now) const;
  bool expired(int64_t now) const { return expires != 0 && expires <= now; }
};

// usrloc's order: q descending, a contact without q after every explicit q, equal q oldest
// first (desc_time_order = 0).
bool contact_before(const Contact& a, const Contact& b);

}  // namespace sipsd::ul
