// Which tls_mgm domain serves a connection: pure matching logic, no OpenSSL, no sockets.
//
// Everything is precomputed by build() when a snapshot is loaded; the per-handshake lookups
// (match(), initial(), ClientDomainMatcher::match()) never allocate: the name is lower-cased
// into a fixed stack buffer and looked up in flat hash tables built beforehand (contrast
// OpenSIPS's linear fnmatch scan under a lock).
//
// Server side (OpenSIPS tls_mgm, accept):
//   1. Candidates by the local listener's canonical "ip:port" key (tls_mgm/ip_key.h): the
//      domains whose match_ip_address lists that exact key; only when no domain lists it, the
//      domains listing "*". There is no fallback to "*" domains once the exact key exists.
//   2. The SNI host name (case-insensitive) against the candidates' match_sip_domain:
//        a. exact names (one hash lookup);
//        b. "*.suffix" wildcards, longest suffix first. The '*' has OpenSIPS's fnmatch(3)
//           meaning (match_sip_domain is an OpenSIPS parameter): it matches any run of
//           characters, dots included, so "*.example.com" matches "a.example.com" AND
//           "a.b.example.com" (not RFC 6125's one-label rule), but not "example.com";
//        c. every other glob ('*', '?', "[...]" with ranges and '!'/'^' negation, '\'
//           escapes; '*' and '?' match dots), in cfg order: domain order, then the order
//           the domain lists its patterns;
//        d. the domain whose pattern is "*".
//      With no SNI (empty name): the domain listing "none", else the one listing "*". Globs
//      never see a missing SNI, and a client that sends the literal SNI "none" is matched as
//      the name "none" (OpenSIPS would give it the no-SNI domain; we do not). A name longer
//      than kMaxSniLength bytes is not a host name and matches nothing, not even "*".
//      No match: -1, and the caller refuses the handshake with unrecognized_name.
//
// Client side (outbound): a domain by name (client_tls_domain_avp), or by the destination's
// canonical "ip:port" key (exact, else "*", as above) and then the SIP domain
// (client_sip_domain_avp) with the same precedence as SNI. An empty SIP domain means "none
// given": OpenSIPS then glob-matches the literal value "*", so in practice only a domain
// listing "*" can match; we keep exactly that (and no glob sees the empty name). "none" is a
// server-side notion: a client domain listing "none" is never chosen by destination (neither
// by an empty nor by a literal "none" SIP domain), only by name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"

namespace sipsd {

// Longest SNI / SIP domain that can match (a DNS name is at most 255 bytes).
inline constexpr size_t kMaxSniLength = 255;

// One domain's match rules, as the snapshot holds them. A domain's index is its position in
// the list given to build() (the snapshot's server_domains or client_domains: cfg order).
struct DomainMatchRules {
  std::string name;
  std::vector<std::string> ip_keys;      // canonical "ip:port" keys, or {"*"}
  std::vector<std::string> sip_domains;  // globs (lower-cased again by build), "*", "none"
};

// fnmatch(3) with flags 0, ASCII case-insensitive, never allocating: '*' any run of
// characters (dots included), '?' any one character, "[...]" a set with ranges and leading
// '!' or '^' for negation (an unterminated '[' is a literal '['; no [:class:] names), '\'
// makes the next character literal.
bool glob_match(std::string_view pattern, std::string_view name);

namespace domain_match_detail {

// Open-addressing string -> int table, built once; find() hashes the key once and never
// allocates. Copying and moving keep it valid (offsets into its own arena, no pointers).
class NameTable {
 public:
  // Keys must be distinct.
  void build(const std::vector<std::pair<std::string, int>>& entries);
  int find(std::string_view key) const;  // the value, or -1
  bool empty() const { return size_ == 0; }

 private:
  struct Slot {
    uint32_t offset = 0;
    uint32_t length = 0;
    int value = -1;  // -1: empty slot
  };
  std::string arena_;
  std::vector<Slot> slots_;  // power-of-two size, at most half full
  size_t size_ = 0;
};

}  // namespace domain_match_detail

// The domains that can serve one address key, with their SIP-domain patterns precomputed.
// Obtained from ServerDomainMatcher::for_listener(); valid while that matcher lives.
class MatchCandidates {
 public:
  // Domain indexes, in cfg order, without duplicates; never empty.
  const std::vector<int>& domains() const { return domains_; }

 private:
  friend class DomainAddressIndex;
  // Lower-cased, at most kMaxSniLength bytes, non-empty.
  int match_lowered(std::string_view name) const;

  domain_match_detail::NameTable exact_;     // "sip.example.com" -> domain
  domain_match_detail::NameTable suffixes_;  // ".example.com" (from "*.example.com") -> domain
  struct Glob {
    std::string pattern;
    int domain;
  };
  std::vector<Glob> globs_;  // cfg order
  int any_ = -1;             // the domain listing "*"
  int none_ = -1;            // the domain listing "none"
  int initial_ = -1;
  std::vector<int> domains_;
};
using ServerCandidates = MatchCandidates;

// Address key -> candidates, shared by the server and client matchers.
class DomainAddressIndex {
 public:
  // `kind` ("server" / "client") names the domains in errors.
  static Result<DomainAddressIndex> build(const std::vector<DomainMatchRules>& domains,
                                          const char* kind);
  // The exact key's candidates, else the "*" candidates; nullptr if neither exists.
  const MatchCandidates* candidates(std::string_view key) const;
  // Domain index, or -1. `name` empty = none given (no SNI / no SIP domain).
  int match(const MatchCandidates& c, std::string_view name, bool none_matches_empty) const;
  static int initial(const MatchCandidates& c) { return c.initial_; }
  int by_name(std::string_view name) const { return names_.find(name); }

 private:
  domain_match_detail::NameTable keys_;  // address key -> index into sets_
  std::vector<MatchCandidates> sets_;
  int any_set_ = -1;                      // the "*" key's index into sets_
  domain_match_detail::NameTable names_;  // domain name (case-sensitive) -> domain
};

class ServerDomainMatcher {
 public:
  // Precomputes everything. Fails (naming both domains) when two domains list the same
  // (address key, SIP domain pattern) pair, or two share a name.
  static Result<ServerDomainMatcher> build(const std::vector<DomainMatchRules>& domains);

  // Candidates for a connection accepted on the canonical local address `local_key`; nullptr
  // when no domain can serve it. One hash lookup; called once per accepted connection.
  const ServerCandidates* for_listener(std::string_view local_key) const {
    return index_.candidates(local_key);
  }

  // The domain for a ClientHello carrying `sni` (empty = no SNI), or -1 (refuse with
  // unrecognized_name). Never allocates.
  int match(const ServerCandidates& c, std::string_view sni) const {
    return index_.match(c, sni, /*none_matches_empty=*/true);
  }

  // The domain a connection starts with before its ClientHello is seen: the one a client
  // without SNI gets ("none", else "*"), else the first candidate in cfg order.
  int initial(const ServerCandidates& c) const { return DomainAddressIndex::initial(c); }

 private:
  explicit ServerDomainMatcher(DomainAddressIndex index) : index_(std::move(index)) {}
  DomainAddressIndex index_;
};

class ClientDomainMatcher {
 public:
  // As ServerDomainMatcher::build.
  static Result<ClientDomainMatcher> build(const std::vector<DomainMatchRules>& domains);

  // The domain with that exact (case-sensitive) name, or -1.
  int by_name(std::string_view name) const { return index_.by_name(name); }

  // The domain for a connection to `dest_key` (canonical "ip:port") for SIP domain
  // `sip_domain` (case-insensitive; empty = none given: only a "*" domain matches), or -1.
  // Candidates as for_listener (exact key, else "*"), then SNI precedence. Never allocates.
  int match(std::string_view dest_key, std::string_view sip_domain) const;

 private:
  explicit ClientDomainMatcher(DomainAddressIndex index) : index_(std::move(index)) {}
  DomainAddressIndex index_;
};

}  // namespace sipsd
