#include "core/dns/dns_message.h"

#include <ares.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace sipsd::dns {
namespace {

using Bytes = std::vector<unsigned char>;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
Bytes name(const std::string& n) {
  Bytes b;
  size_t start = 0;
  while (start < n.size()) {
    size_t dot = n.find('.', start);
    if (dot == std::string::npos) dot = n.size();
    b.push_back(static_cast<unsigned char>(dot - start));
    b.insert(b.end(), n.begin() + static_cast<long>(start), n.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  b.push_back(0);
  return b;
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes u16(uint16_t v) {
  Bytes b;
  put16(b, v);
  return b;
}
Bytes u32(uint32_t v) {
  Bytes b;
  put32(b, v);
  return b;
}
Bytes str(const std::string& s) {
  Bytes b{static_cast<unsigned char>(s.size())};
  b.insert(b.end(), s.begin(), s.end());
  return b;
}

Bytes rd_a(const char* ip) {
  Bytes b(4);
  inet_pton(AF_INET, ip, b.data());
  return b;
}
Bytes rd_aaaa(const char* ip) {
  Bytes b(16);
  inet_pton(AF_INET6, ip, b.data());
  return b;
}
Bytes rd_srv(uint16_t prio, uint16_t weight, uint16_t port, const std::string& target) {
  return cat({u16(prio), u16(weight), u16(port), name(target)});
}
Bytes rd_naptr(uint16_t order, uint16_t pref, const std::string& flags, const std::string& svc,
               const std::string& re, const std::string& repl) {
  return cat({u16(order), u16(pref), str(flags), str(svc), str(re), name(repl)});
}
Bytes rd_soa(uint32_t minimum) {
  return cat(
      {name("ns.example"), name("admin.example"), u32(1), u32(2), u32(3), u32(4), u32(minimum)});
}

// A DNS response, built record by record.
class Msg {
 public:
  explicit Msg(int rcode = 0) : flags_(static_cast<uint16_t>(0x8180 | rcode)) {}
  Msg& question(const std::string& n, RrType t) {
    qd_ = cat({name(n), u16(static_cast<uint16_t>(t)), u16(1)});
    return *this;
  }
  Msg& answer(const std::string& owner, RrType t, uint32_t ttl, const Bytes& rdata) {
    an_.push_back(rr(owner, t, ttl, rdata));
    return *this;
  }
  Msg& authority(const std::string& owner, RrType t, uint32_t ttl, const Bytes& rdata) {
    ns_.push_back(rr(owner, t, ttl, rdata));
    return *this;
  }
  Bytes bytes() const {
    Bytes b;
    put16(b, 0x1234);
    put16(b, flags_);
    put16(b, qd_.empty() ? 0 : 1);
    put16(b, static_cast<uint16_t>(an_.size()));
    put16(b, static_cast<uint16_t>(ns_.size()));
    put16(b, 0);
    b.insert(b.end(), qd_.begin(), qd_.end());
    for (const Bytes& r : an_) b.insert(b.end(), r.begin(), r.end());
    for (const Bytes& r : ns_) b.insert(b.end(), r.begin(), r.end());
    return b;
  }

 private:
  static Bytes rr(const std::string& owner, RrType t, uint32_t ttl, const Bytes& rdata) {
    return cat({name(owner), u16(static_cast<uint16_t>(t)), u16(1), u32(ttl),
                u16(static_cast<uint16_t>(rdata.size())), rdata});
  }
  uint16_t flags_;
  Bytes qd_;
  std::vector<Bytes> an_, ns_;
};

Answer parse(const Question& q, const Msg& m) {
  Bytes b = m.bytes();
  return parse_reply(q, b.data(), b.size());
}

TEST(DnsMessage, AddressesWithTheSmallestTtl) {
  Question q{RrType::kA, "a.example"};
  Answer a = parse(q, Msg()
                          .question("a.example", RrType::kA)
                          .answer("a.example", RrType::kA, 300, rd_a("10.0.0.1"))
                          .answer("A.Example", RrType::kA, 60, rd_a("10.0.0.2"))
                          .answer("other.example", RrType::kA, 5, rd_a("10.0.0.9")));
  ASSERT_EQ(a.outcome, Outcome::kOk) << a.detail;
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(a.ttl, 60u);  // the unrelated record's TTL does not count
}

TEST(DnsMessage, Aaaa) {
  Question q{RrType::kAaaa, "a.example"};
  Answer a = parse(q, Msg()
                          .question("a.example", RrType::kAaaa)
                          .answer("a.example", RrType::kAaaa, 10, rd_aaaa("2001:db8::1")));
  ASSERT_EQ(a.outcome, Outcome::kOk);
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"2001:db8::1"}));
}

TEST(DnsMessage, FollowsCnameChainAndTakesItsTtl) {
  Question q{RrType::kA, "www.example"};
  Answer a = parse(q, Msg()
                          .question("www.example", RrType::kA)
                          .answer("www.example", RrType::kCname, 20, name("mid.example"))
                          .answer("mid.example", RrType::kCname, 600, name("host.example"))
                          .answer("host.example", RrType::kA, 600, rd_a("10.1.1.1")));
  ASSERT_EQ(a.outcome, Outcome::kOk) << a.detail;
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"10.1.1.1"}));
  EXPECT_EQ(a.ttl, 20u);
}

TEST(DnsMessage, CnameLoopIsABadReply) {
  Question q{RrType::kA, "x.example"};
  Answer a = parse(q, Msg()
                          .question("x.example", RrType::kA)
                          .answer("x.example", RrType::kCname, 20, name("y.example"))
                          .answer("y.example", RrType::kCname, 20, name("x.example")));
  EXPECT_EQ(a.outcome, Outcome::kBadReply);
  EXPECT_EQ(a.detail, "CNAME loop at x.example");
}

TEST(DnsMessage, LongCnameChainIsCut) {
  Msg m;
  m.question("c0.example", RrType::kA);
  for (int i = 0; i < 20; ++i)
    m.answer("c" + std::to_string(i) + ".example", RrType::kCname, 20,
             name("c" + std::to_string(i + 1) + ".example"));
  m.answer("c20.example", RrType::kA, 20, rd_a("10.0.0.1"));
  Answer a = parse({RrType::kA, "c0.example"}, m);
  EXPECT_EQ(a.outcome, Outcome::kBadReply);
  EXPECT_EQ(a.detail, "CNAME chain longer than 8");
}

TEST(DnsMessage, NxDomainTakesTheSoaNegativeTtl) {
  Question q{RrType::kA, "nope.example"};
  Answer a = parse(q, Msg(3)
                          .question("nope.example", RrType::kA)
                          .authority("example", RrType::kSoa, 900, rd_soa(45)));
  EXPECT_EQ(a.outcome, Outcome::kNxDomain);
  EXPECT_TRUE(a.has_soa);
  EXPECT_EQ(a.ttl, 45u);
  Answer b = parse(q, Msg(3)
                          .question("nope.example", RrType::kA)
                          .authority("example", RrType::kSoa, 10, rd_soa(45)));
  EXPECT_EQ(b.ttl, 10u);  // RFC 2308: the smaller of the SOA's TTL and MINIMUM
  Answer c = parse(q, Msg(3).question("nope.example", RrType::kA));
  EXPECT_FALSE(c.has_soa);
}

TEST(DnsMessage, NoDataAndOtherRcodes) {
  Question q{RrType::kNaptr, "a.example"};
  EXPECT_EQ(parse(q, Msg().question("a.example", RrType::kNaptr)).outcome, Outcome::kNoData);
  // Records of another type only: no data either.
  EXPECT_EQ(parse(q, Msg()
                         .question("a.example", RrType::kNaptr)
                         .answer("a.example", RrType::kA, 5, rd_a("10.0.0.1")))
                .outcome,
            Outcome::kNoData);
  EXPECT_EQ(parse(q, Msg(2)).outcome, Outcome::kServFail);
  EXPECT_EQ(parse(q, Msg(5)).outcome, Outcome::kRefused);
  Answer notimp = parse(q, Msg(4));
  EXPECT_EQ(notimp.outcome, Outcome::kBadReply);
  EXPECT_EQ(notimp.detail, "rcode 4");
}

TEST(DnsMessage, SrvAndNaptr) {
  Answer s = parse(
      {RrType::kSrv, "_sip._tcp.b.example"},
      Msg()
          .question("_sip._tcp.b.example", RrType::kSrv)
          .answer("_sip._tcp.b.example", RrType::kSrv, 100, rd_srv(10, 60, 5070, "Pbx1.B.Example"))
          .answer("_sip._tcp.b.example", RrType::kSrv, 50, rd_srv(20, 0, 5060, "")));
  ASSERT_EQ(s.outcome, Outcome::kOk) << s.detail;
  ASSERT_EQ(s.srv.size(), 2u);
  EXPECT_EQ(s.srv[0].priority, 10);
  EXPECT_EQ(s.srv[0].weight, 60);
  EXPECT_EQ(s.srv[0].port, 5070);
  EXPECT_EQ(s.srv[0].target, "pbx1.b.example");
  EXPECT_EQ(s.srv[1].target, "");  // "."
  EXPECT_EQ(s.ttl, 50u);

  Answer n = parse({RrType::kNaptr, "b.example"},
                   Msg()
                       .question("b.example", RrType::kNaptr)
                       .answer("b.example", RrType::kNaptr, 30,
                               rd_naptr(10, 20, "S", "SIPS+D2T", "", "_sips._tcp.b.example"))
                       .answer("b.example", RrType::kNaptr, 30,
                               rd_naptr(10, 30, "U", "E2U+sip", "!^.*$!sip:x@y!", "")));
  ASSERT_EQ(n.outcome, Outcome::kOk) << n.detail;
  ASSERT_EQ(n.naptr.size(), 2u);
  EXPECT_EQ(n.naptr[0].order, 10);
  EXPECT_EQ(n.naptr[0].preference, 20);
  EXPECT_EQ(n.naptr[0].flags, "S");
  EXPECT_EQ(n.naptr[0].service, "SIPS+D2T");
  EXPECT_EQ(n.naptr[0].regexp, "");
  EXPECT_EQ(n.naptr[0].replacement, "_sips._tcp.b.example");
  EXPECT_EQ(n.naptr[1].regexp, "!^.*$!sip:x@y!");
}

TEST(DnsMessage, HundredsOfRecordsAreCapped) {
  Msg m;
  m.question("big.example", RrType::kA);
  for (int i = 0; i < 600; ++i) {
    std::string ip = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    m.answer("big.example", RrType::kA, 60, rd_a(ip.c_str()));
  }
  Answer a = parse({RrType::kA, "big.example"}, m);
  ASSERT_EQ(a.outcome, Outcome::kOk);
  EXPECT_EQ(a.addresses.size(), kMaxAddresses);
  EXPECT_EQ(a.addresses.front(), "10.0.0.1");
}

TEST(DnsMessage, MalformedRecordsAreSkippedOrRejected) {
  // An A record with 3 bytes of data is skipped; the good one is kept.
  Answer a =
      parse({RrType::kA, "a.example"}, Msg()
                                           .question("a.example", RrType::kA)
                                           .answer("a.example", RrType::kA, 60, Bytes{1, 2, 3})
                                           .answer("a.example", RrType::kA, 60, rd_a("10.0.0.1")));
  ASSERT_EQ(a.outcome, Outcome::kOk);
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"10.0.0.1"}));
  // An SRV whose target runs past its data length is skipped.
  Bytes srv = rd_srv(1, 1, 5060, "t.example");
  srv.resize(srv.size() - 3);
  Answer s = parse({RrType::kSrv, "_sip._udp.a.example"},
                   Msg()
                       .question("_sip._udp.a.example", RrType::kSrv)
                       .answer("_sip._udp.a.example", RrType::kSrv, 60, srv));
  EXPECT_EQ(s.outcome, Outcome::kNoData);
  // Short, truncated, or not a response at all.
  Bytes good = Msg()
                   .question("a.example", RrType::kA)
                   .answer("a.example", RrType::kA, 60, rd_a("10.0.0.1"))
                   .bytes();
  EXPECT_EQ(parse_reply({RrType::kA, "a.example"}, good.data(), 5).outcome, Outcome::kBadReply);
  EXPECT_EQ(parse_reply({RrType::kA, "a.example"}, good.data(), good.size() - 2).outcome,
            Outcome::kBadReply);
  Bytes query = good;
  query[2] &= 0x7f;  // QR = 0
  EXPECT_EQ(parse_reply({RrType::kA, "a.example"}, query.data(), query.size()).detail,
            "not a response");
}

TEST(DnsMessage, CompressionPointerLoopIsRejected) {
  Bytes b = Msg().bytes();
  b[5] = 1;  // one question
  b.push_back(0xc0);
  b.push_back(12);  // a pointer to itself
  b.insert(b.end(), {0, 1, 0, 1});
  EXPECT_EQ(parse_reply({RrType::kA, "a.example"}, b.data(), b.size()).outcome, Outcome::kBadReply);
}

// Random bytes and random corruptions of a good reply: never a crash, never an unbounded list.
TEST(DnsMessage, GarbageNeverCrashes) {
  std::mt19937 rng(42);
  Bytes good =
      Msg()
          .question("_sip._tcp.b.example", RrType::kSrv)
          .answer("_sip._tcp.b.example", RrType::kSrv, 100, rd_srv(1, 1, 5060, "t.example"))
          .authority("example", RrType::kSoa, 10, rd_soa(5))
          .bytes();
  for (int i = 0; i < 3000; ++i) {
    Bytes b = good;
    if (i % 2) {
      b.resize(rng() % 600);
      for (auto& c : b) c = static_cast<unsigned char>(rng());
    } else {
      for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<unsigned char>(rng());
    }
    Answer a = parse_reply({RrType::kSrv, "_sip._tcp.b.example"}, b.data(), b.size());
    EXPECT_LE(a.srv.size(), kMaxSrvRecords);
  }
}

TEST(DnsMessage, FromAresStatusWithoutReply) {
  Question q{RrType::kA, "a.example"};
  EXPECT_EQ(answer_from_ares(q, ARES_ETIMEOUT, nullptr, 0).outcome, Outcome::kTimeout);
  EXPECT_EQ(answer_from_ares(q, ARES_ESERVFAIL, nullptr, 0).outcome, Outcome::kServFail);
  EXPECT_EQ(answer_from_ares(q, ARES_ENOTFOUND, nullptr, 0).outcome, Outcome::kNxDomain);
  Answer refused = answer_from_ares(q, ARES_ECONNREFUSED, nullptr, 0);
  EXPECT_EQ(refused.outcome, Outcome::kError);
  EXPECT_EQ(
      describe_failure(q, refused),
      "no DNS server answered (unreachable, or SERVFAIL/REFUSED from each) for a.example (A)");
  Answer nomem = answer_from_ares(q, ARES_ENOMEM, nullptr, 0);
  EXPECT_EQ(describe_failure(q, nomem),
            std::string(ares_strerror(ARES_ENOMEM)) + " for a.example (A)");
  EXPECT_EQ(describe_failure(q, answer_from_ares(q, ARES_ETIMEOUT, nullptr, 0)),
            "timeout for a.example (A)");
}

}  // namespace
}  // namespace sipsd::dns
