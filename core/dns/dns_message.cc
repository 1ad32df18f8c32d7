#include "core/dns/dns_message.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/base/ascii.h"
#include "core/base/result.h"

namespace sipsd::dns {

namespace {

constexpr size_t kHeaderSize = 12;
constexpr uint16_t kClassIn = 1;
constexpr uint32_t kMaxTtl = 0x7fffffff;  // RFC 2181 §8: larger values mean 0

// A bounds-checked reader over one DNS message.
class Reader {
 public:
  Reader(const unsigned char* buf, size_t len) : buf_(buf), len_(len) {}

  size_t pos() const { return pos_; }
  size_t left() const { return len_ - pos_; }
  bool skip(size_t n) {
    if (n > left()) return false;
    pos_ += n;
    return true;
  }
  bool u16(uint16_t* v) {
    if (left() < 2) return false;
    *v = static_cast<uint16_t>((buf_[pos_] << 8) | buf_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t* v) {
    if (left() < 4) return false;
    *v = (uint32_t{buf_[pos_]} << 24) | (uint32_t{buf_[pos_ + 1]} << 16) |
         (uint32_t{buf_[pos_ + 2]} << 8) | uint32_t{buf_[pos_ + 3]};
    pos_ += 4;
    return true;
  }
  // A (possibly compressed) domain name, lower-cased, "" for the root. c-ares's expander
  // follows compression pointers anywhere in the message and rejects pointer loops.
  bool name(std::string* out) {
    if (left() == 0) return false;
    char* s = nullptr;
    long enclen = 0;
    if (ares_expand_name(buf_ + pos_, buf_, static_cast<int>(len_), &s, &enclen) != ARES_SUCCESS)
      return false;
    *out = ascii_to_lower(s);
    ares_free_string(s);
    return enclen > 0 && skip(static_cast<size_t>(enclen));
  }
  // A <character-string>: a length byte and that many bytes.
  bool char_string(std::string* out) {
    if (left() < 1) return false;
    size_t n = buf_[pos_];
    if (left() < 1 + n) return false;
    out->assign(reinterpret_cast<const char*>(buf_ + pos_ + 1), n);
    pos_ += 1 + n;
    return true;
  }
  const unsigned char* here() const { return buf_ + pos_; }

 private:
  const unsigned char* buf_;
  size_t len_;
  size_t pos_ = 0;
};

struct Rr {
  std::string owner;
  uint16_t type = 0;
  uint32_t ttl = 0;
  size_t rdata_pos = 0;  // the record's data, in the message
  uint16_t rdlength = 0;
};

Answer bad_reply(std::string detail) {
  Answer a;
  a.outcome = Outcome::kBadReply;
  a.detail = std::move(detail);
  return a;
}

// Reads the typed data of `rr` into `a`; false when it is malformed (the record is skipped).
bool read_rdata(const unsigned char* buf, const Rr& rr, RrType type, Answer* a) {
  // Bounded by the end of the record: its names may point back into the message, not past it.
  Reader r(buf, rr.rdata_pos + rr.rdlength);
  if (!r.skip(rr.rdata_pos)) return false;
  switch (type) {
    case RrType::kA:
    case RrType::kAaaa: {
      const size_t want = type == RrType::kA ? 4 : 16;
      if (rr.rdlength != want) return false;
      char text[INET6_ADDRSTRLEN];
      if (!inet_ntop(type == RrType::kA ? AF_INET : AF_INET6, r.here(), text, sizeof text))
        return false;
      if (a->addresses.size() < kMaxAddresses) a->addresses.emplace_back(text);
      return true;
    }
    case RrType::kSrv: {
      SrvRecord s;
      if (!r.u16(&s.priority) || !r.u16(&s.weight) || !r.u16(&s.port) || !r.name(&s.target))
        return false;
      if (a->srv.size() < kMaxSrvRecords) a->srv.push_back(std::move(s));
      return true;
    }
    case RrType::kNaptr: {
      NaptrRecord n;
      if (!r.u16(&n.order) || !r.u16(&n.preference) || !r.char_string(&n.flags) ||
          !r.char_string(&n.service) || !r.char_string(&n.regexp) || !r.name(&n.replacement))
        return false;
      if (a->naptr.size() < kMaxNaptrRecords) a->naptr.push_back(std::move(n));
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

Answer parse_reply(const Question& q, const unsigned char* buf, size_t len) {
  Reader r(buf, len);
  uint16_t id, flags, qdcount, ancount, nscount, arcount;
  if (len < kHeaderSize || !r.u16(&id) || !r.u16(&flags) || !r.u16(&qdcount) || !r.u16(&ancount) ||
      !r.u16(&nscount) || !r.u16(&arcount))
    return bad_reply(strprintf("%zu bytes, shorter than a DNS header", len));
  if (!(flags & 0x8000)) return bad_reply("not a response");
  const int rcode = flags & 0x000f;
  for (uint16_t i = 0; i < qdcount; ++i) {
    std::string ignored;
    if (!r.name(&ignored) || !r.skip(4)) return bad_reply("truncated question section");
  }

  // Answer and authority records, bounded.
  std::vector<Rr> answers;
  std::optional<uint32_t> negative_ttl;
  const size_t total = std::min<size_t>(size_t{ancount} + nscount, kMaxRecordsRead);
  for (size_t i = 0; i < total; ++i) {
    Rr rr;
    uint16_t cls;
    if (!r.name(&rr.owner) || !r.u16(&rr.type) || !r.u16(&cls) || !r.u32(&rr.ttl) ||
        !r.u16(&rr.rdlength))
      return bad_reply(strprintf("record %zu is truncated", i + 1));
    rr.rdata_pos = r.pos();
    if (!r.skip(rr.rdlength)) return bad_reply(strprintf("record %zu is truncated", i + 1));
    if (rr.ttl > kMaxTtl) rr.ttl = 0;
    if (cls != kClassIn) continue;
    if (i < ancount) {
      answers.push_back(std::move(rr));
    } else if (rr.type == static_cast<uint16_t>(RrType::kSoa)) {
      // MNAME, RNAME, SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM (RFC 2308 §5).
      Reader s(buf, rr.rdata_pos + rr.rdlength);
      std::string mname, rname;
      uint32_t v[5];
      if (s.skip(rr.rdata_pos) && s.name(&mname) && s.name(&rname) && s.u32(&v[0]) &&
          s.u32(&v[1]) && s.u32(&v[2]) && s.u32(&v[3]) && s.u32(&v[4]))
        negative_ttl = std::min(rr.ttl, std::min(v[4], kMaxTtl));
    }
  }

  Answer a;
  if (negative_ttl) {
    a.has_soa = true;
    a.ttl = *negative_ttl;
  }
  switch (rcode) {
    case 0:
      break;
    case 2:
      a.outcome = Outcome::kServFail;
      return a;
    case 3:
      a.outcome = Outcome::kNxDomain;
      return a;
    case 5:
      a.outcome = Outcome::kRefused;
      return a;
    default:
      return bad_reply(strprintf("rcode %d", rcode));
  }

  // Follow the CNAME chain from the asked name to the records of the asked type.
  std::string name = q.name;
  std::vector<std::string> seen;
  uint32_t ttl = kMaxTtl;
  const auto wanted = static_cast<uint16_t>(q.type);
  for (int hop = 0;; ++hop) {
    bool found = false;
    for (const Rr& rr : answers) {
      if (rr.type != wanted || rr.owner != name) continue;
      if (read_rdata(buf, rr, q.type, &a)) {
        found = true;
        ttl = std::min(ttl, rr.ttl);
      }
    }
    if (found) break;
    const Rr* cname = nullptr;
    for (const Rr& rr : answers)
      if (rr.type == static_cast<uint16_t>(RrType::kCname) && rr.owner == name) cname = &rr;
    if (!cname) break;
    std::string target;
    Reader c(buf, cname->rdata_pos + cname->rdlength);
    if (!c.skip(cname->rdata_pos) || !c.name(&target)) return bad_reply("malformed CNAME record");
    seen.push_back(name);
    if (std::find(seen.begin(), seen.end(), target) != seen.end())
      return bad_reply(strprintf("CNAME loop at %s", target.c_str()));
    if (hop + 1 > kMaxCnameHops)
      return bad_reply(strprintf("CNAME chain longer than %d", kMaxCnameHops));
    ttl = std::min(ttl, cname->ttl);
    name = std::move(target);
  }
  if (a.addresses.empty() && a.srv.empty() && a.naptr.empty()) {
    a.outcome = Outcome::kNoData;
    return a;  // ttl: the SOA's, if any
  }
  a.outcome = Outcome::kOk;
  a.has_soa = false;
  a.ttl = ttl;
  return a;
}

Answer answer_from_ares(const Question& q, int status, const unsigned char* buf, int len) {
  if (buf != nullptr && len > 0) return parse_reply(q, buf, static_cast<size_t>(len));
  Answer a;
  switch (status) {
    case ARES_SUCCESS:
      return bad_reply("empty reply");
    case ARES_ENOTFOUND:
      a.outcome = Outcome::kNxDomain;
      break;
    case ARES_ENODATA:
      a.outcome = Outcome::kNoData;
      break;
    case ARES_ESERVFAIL:
      a.outcome = Outcome::kServFail;
      break;
    case ARES_EREFUSED:
      a.outcome = Outcome::kRefused;
      break;
    case ARES_ETIMEOUT:
      a.outcome = Outcome::kTimeout;
      break;
    case ARES_EBADNAME:
      a.outcome = Outcome::kBadName;
      break;
    case ARES_ECONNREFUSED:
      // c-ares skips a server that says SERVFAIL or REFUSED (trying the next one), and reports
      // this when no server is left.
      a.outcome = Outcome::kError;
      a.detail = "no DNS server answered (unreachable, or SERVFAIL/REFUSED from each)";
      break;
    case ARES_EFORMERR:
    case ARES_EBADRESP:
    case ARES_ENOTIMP:
      a.outcome = Outcome::kBadReply;
      a.detail = ares_strerror(status);
      break;
    default:
      a.outcome = Outcome::kError;
      a.detail = ares_strerror(status);
      break;
  }
  return a;
}

}  // namespace sipsd::dns
