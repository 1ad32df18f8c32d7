// DNS replies → Answer. c-ares sends the queries (retries, TCP after truncation, ID and
// question matching); this file reads what comes back, because c-ares's own parsers drop the
// TTLs of SRV and NAPTR records and the SOA that negative caching needs. Bounded: it looks at
// no more than kMaxRecordsRead records, keeps no more than the caps below, follows at most
// kMaxCnameHops CNAMEs and reports a CNAME loop as a bad reply.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dns/records.h"

namespace sipsd::dns {

inline constexpr size_t kMaxRecordsRead = 512;  // answer + authority records looked at
inline constexpr size_t kMaxAddresses = 32;     // A/AAAA kept from one reply
inline constexpr size_t kMaxSrvRecords = 32;
inline constexpr size_t kMaxNaptrRecords = 16;
inline constexpr int kMaxCnameHops = 8;

// Parses a whole DNS message, the reply to `q`.
Answer parse_reply(const Question& q, const unsigned char* buf, size_t len);

// The answer to `q` from what c-ares hands a query callback: the reply when one came (its
// rcode decides), else the c-ares status (timeout, SERVFAIL after every server, ...).
Answer answer_from_ares(const Question& q, int status, const unsigned char* buf, int len);

}  // namespace sipsd::dns
