// Which connection goes to a given peer? A lock-free hash index in shared memory from a
// connection's remote endpoint (transport, IP, port; and the RFC 5923 alias port) to its slot in
// the connection table, so that any worker can find a TCP/TLS connection another worker owns
// (a request towards a registered phone leaves on the phone's own connection; a reply goes
// back on the connection its request came in on). Writers are a connection's owner, and the
// supervisor for the connections of a worker that died; readers never lock.
//
// An index entry only says "look at this slot" (core/shm/hash_words.h): find() checks the
// slot's own description (seqlock read) before it answers, so an entry left behind by a slot
// that has been reused for another peer can never misdirect a message.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/base/transport.h"
#include "core/shm/conn_table.h"
#include "core/shm/hash_words.h"

namespace sipsd {

// A peer's address in binary form, as ConnInfo keeps it.
struct ConnEndpoint {
  Proto proto = Proto::kTcp;
  uint8_t family = 0;  // AF_INET / AF_INET6
  uint8_t ip[16] = {};
  uint16_t port = 0;

  // From a numeric IP text; nullopt when it is not one.
  static std::optional<ConnEndpoint> parse(Proto proto, const char* ip, uint16_t port);
};

class ConnIndex {
 public:
  ConnIndex() = default;
  ConnIndex(HashWord* words, uint32_t capacity, ConnTable table)
      : words_(words, capacity), table_(table) {}

  // Words needed for a connection table of `conn_capacity` slots (a primary and an alias key
  // each, at most half full).
  static uint32_t capacity_for(uint32_t conn_capacity);

  // Makes `slot` findable under `key` (its remote endpoint, or an alias of it). False when the
  // index is full (it cannot be, at the capacity above, unless entries leak).
  bool add(const ConnEndpoint& key, uint32_t slot);
  // Removes the entry for (key, slot), if present.
  void remove(const ConnEndpoint& key, uint32_t slot);
  // The keys of a connection as its slot describes it: the remote endpoint, and the alias
  // port when it has one.
  void add_conn(uint32_t slot, const ConnInfo& info);
  void remove_conn(uint32_t slot, const ConnInfo& info);
  // A live connection whose remote endpoint (or alias) is `key`, with its description. With
  // `outbound_tls_domain` set, a connection we opened is only taken if it was made with that
  // tls_mgm client domain (connections the peer opened are always taken).
  struct Found {
    uint32_t slot;
    ConnInfo info;
    ConnState state;
  };
  std::optional<Found> find(const ConnEndpoint& key,
                            std::string_view outbound_tls_domain = {}) const;

 private:
  static uint64_t hash(const ConnEndpoint& key);
  static bool matches(const ConnInfo& info, const ConnEndpoint& key);

  HashWords words_;
  ConnTable table_;
};

}  // namespace sipsd
