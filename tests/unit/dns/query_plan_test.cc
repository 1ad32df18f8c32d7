#include "core/dns/query_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace sipsd::dns {
namespace {

// Picks 0 always: with RFC 2782's running sum, the first record of a priority wins (so the
// order is the input order, weight-0 records first).
uint32_t first(uint32_t) {
  return 0;
}

Answer addrs(std::vector<std::string> ips) {
  Answer a;
  a.addresses = std::move(ips);
  return a;
}
Answer srvs(std::vector<SrvRecord> records) {
  Answer a;
  a.srv = std::move(records);
  return a;
}
Answer naptrs(std::vector<NaptrRecord> records) {
  Answer a;
  a.naptr = std::move(records);
  return a;
}
Answer fail(Outcome o) {
  Answer a;
  a.outcome = o;
  return a;
}

// A fake DNS: answers by "TYPE|name"; anything else is NXDOMAIN. Records every question.
struct FakeDns {
  std::map<std::string, Answer> zone;
  std::vector<std::string> asked;

  FakeDns& add(RrType t, const std::string& name, Answer a) {
    zone[Question{t, name}.key()] = std::move(a);
    return *this;
  }

  ResolveResult run(const SipTarget& t, const PlanParams& p = {}) {
    QueryPlan plan(t, p, first);
    for (int round = 0; round < 100 && !plan.done(); ++round) {
      std::vector<Question> qs = plan.take_questions();
      if (qs.empty()) break;
      for (const Question& q : qs) {
        asked.push_back(q.key());
        auto it = zone.find(q.key());
        plan.add_answer(q, std::make_shared<const Answer>(
                               it == zone.end() ? fail(Outcome::kNxDomain) : it->second));
      }
    }
    EXPECT_TRUE(plan.done());
    return plan.result();
  }
};

Destination dest(Proto p, const char* ip, uint16_t port, const char* sni = "b.example") {
  return Destination{.proto = p, .ip = ip, .port = port, .server_name = sni};
}

TEST(QueryPlan, IpLiteralNeedsNoDns) {
  FakeDns dns;
  EXPECT_EQ(dns.run({.host = "10.0.0.1"}).destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "10.0.0.1", 5060, "")}));
  EXPECT_EQ(dns.run({.host = "10.0.0.1", .secure = true}).destinations,
            (std::vector<Destination>{dest(Proto::kTls, "10.0.0.1", 5061, "")}));
  EXPECT_EQ(dns.run({.host = "[2001:DB8::1]", .port = 7000, .transport = Proto::kTcp}).destinations,
            (std::vector<Destination>{dest(Proto::kTcp, "2001:db8::1", 7000, "")}));
  PlanParams tls_port;
  tls_port.tls_default_port = 5071;
  EXPECT_EQ(dns.run({.host = "::1", .transport = Proto::kTls}, tls_port).destinations,
            (std::vector<Destination>{dest(Proto::kTls, "::1", 5071, "")}));
  EXPECT_TRUE(dns.asked.empty());
}

TEST(QueryPlan, HostWithPortAsksAOnly) {
  FakeDns dns;
  dns.add(RrType::kA, "b.example", addrs({"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(dns.run({.host = "B.Example.", .port = 5080}).destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "10.0.0.1", 5080),
                                      dest(Proto::kUdp, "10.0.0.2", 5080)}));
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"A|b.example"}));
}

TEST(QueryPlan, AaaaOnlyWhenAGivesNothingAndTryIpv6) {
  FakeDns dns;
  dns.add(RrType::kA, "b.example", fail(Outcome::kNoData))
      .add(RrType::kAaaa, "b.example", addrs({"2001:db8::5"}));
  ResolveResult off = dns.run({.host = "b.example", .port = 5060});
  EXPECT_EQ(off.error, "no A record for b.example");
  PlanParams v6;
  v6.try_ipv6 = true;
  EXPECT_EQ(dns.run({.host = "b.example", .port = 5060}, v6).destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "2001:db8::5", 5060)}));
  // With an A record, AAAA is not asked.
  FakeDns both;
  both.add(RrType::kA, "b.example", addrs({"10.0.0.1"}))
      .add(RrType::kAaaa, "b.example", addrs({"2001:db8::5"}));
  EXPECT_EQ(both.run({.host = "b.example", .port = 5060}, v6).destinations.size(), 1u);
  EXPECT_EQ(both.asked, (std::vector<std::string>{"A|b.example"}));
}

TEST(QueryPlan, TransportWithoutPortAsksThatSrvThenA) {
  FakeDns dns;
  dns.add(RrType::kSrv, "_sip._tcp.b.example", srvs({{10, 0, 5070, "pbx.b.example"}}))
      .add(RrType::kA, "pbx.b.example", addrs({"10.0.0.7"}));
  EXPECT_EQ(dns.run({.host = "b.example", .transport = Proto::kTcp}).destinations,
            (std::vector<Destination>{dest(Proto::kTcp, "10.0.0.7", 5070)}));
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"SRV|_sip._tcp.b.example", "A|pbx.b.example"}));

  FakeDns no_srv;
  no_srv.add(RrType::kA, "b.example", addrs({"10.0.0.8"}));
  EXPECT_EQ(no_srv.run({.host = "b.example", .transport = Proto::kTls}).destinations,
            (std::vector<Destination>{dest(Proto::kTls, "10.0.0.8", 5061)}));
  EXPECT_EQ(no_srv.asked, (std::vector<std::string>{"SRV|_sips._tcp.b.example", "A|b.example"}));
}

TEST(QueryPlan, NaptrThenSrvThenA) {
  FakeDns dns;
  dns.add(RrType::kNaptr, "b.example",
          naptrs({{20, 10, "S", "SIP+D2U", "", "_sip._udp.b.example"},
                  {10, 50, "s", "SIPS+D2T", "", "_sips._tcp.b.example"},
                  {10, 10, "S", "SIP+D2T", "", "_sip._tcp.b.example"}}))
      .add(RrType::kSrv, "_sip._tcp.b.example", srvs({{1, 0, 5060, "tcp.b.example"}}))
      .add(RrType::kSrv, "_sips._tcp.b.example", srvs({{1, 0, 5061, "tls.b.example"}}))
      .add(RrType::kSrv, "_sip._udp.b.example", srvs({{1, 0, 5060, "udp.b.example"}}))
      .add(RrType::kA, "tcp.b.example", addrs({"10.0.0.1"}))
      .add(RrType::kA, "tls.b.example", addrs({"10.0.0.2"}))
      .add(RrType::kA, "udp.b.example", addrs({"10.0.0.3"}));
  ResolveResult r = dns.run({.host = "b.example"});
  EXPECT_EQ(r.destinations, (std::vector<Destination>{dest(Proto::kTcp, "10.0.0.1", 5060),
                                                      dest(Proto::kTls, "10.0.0.2", 5061),
                                                      dest(Proto::kUdp, "10.0.0.3", 5060)}));
  // sips: keeps SIPS+ only.
  EXPECT_EQ(dns.run({.host = "b.example", .secure = true}).destinations,
            (std::vector<Destination>{dest(Proto::kTls, "10.0.0.2", 5061)}));
  // Only supported transports.
  PlanParams tls_only;
  tls_only.supported = {Proto::kTls};
  EXPECT_EQ(dns.run({.host = "b.example"}, tls_only).destinations,
            (std::vector<Destination>{dest(Proto::kTls, "10.0.0.2", 5061)}));
  PlanParams no_naptr;
  no_naptr.try_naptr = false;
  dns.asked.clear();
  EXPECT_EQ(dns.run({.host = "b.example"}, no_naptr).destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "10.0.0.3", 5060)}));
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"SRV|_sip._udp.b.example", "A|udp.b.example"}));
}

TEST(QueryPlan, UnusableNaptrFallsBackToOneSrvThenA) {
  FakeDns dns;
  dns.add(RrType::kNaptr, "b.example",
          naptrs({{10, 10, "U", "E2U+sip", "!^.*$!sip:info@b.example!", ""},
                  {10, 20, "S", "SIP+D2T", "!x!y!", "_sip._tcp.b.example"},
                  {10, 30, "S", "SIP+D2S", "", "_sip._sctp.b.example"},
                  {10, 40, "S", "SIPS+D2U", "", "_sips._udp.b.example"}}))
      .add(RrType::kSrv, "_sip._tcp.b.example", srvs({{1, 0, 5060, "tcp.b.example"}}))
      .add(RrType::kA, "b.example", addrs({"10.0.0.9"}));
  ResolveResult r = dns.run({.host = "b.example"});
  EXPECT_EQ(r.destinations, (std::vector<Destination>{dest(Proto::kUdp, "10.0.0.9", 5060)}));
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"NAPTR|b.example", "SRV|_sip._udp.b.example",
                                                 "A|b.example"}));
  // sips: falls back to _sips._tcp and then A on tls_port.
  dns.asked.clear();
  EXPECT_EQ(dns.run({.host = "b.example", .secure = true}).destinations,
            (std::vector<Destination>{dest(Proto::kTls, "10.0.0.9", 5061)}));
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"NAPTR|b.example", "SRV|_sips._tcp.b.example",
                                                 "A|b.example"}));
}

TEST(QueryPlan, NaptrWhoseSrvsFailFallsBack) {
  FakeDns dns;
  dns.add(RrType::kNaptr, "b.example",
          naptrs({{10, 10, "S", "SIP+D2T", "", "_sip._tcp.b.example"}}))
      .add(RrType::kSrv, "_sip._udp.b.example", srvs({{1, 0, 5062, "udp.b.example"}}))
      .add(RrType::kA, "udp.b.example", addrs({"10.0.0.3"}));
  EXPECT_EQ(dns.run({.host = "b.example"}).destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "10.0.0.3", 5062)}));
}

TEST(QueryPlan, DefaultTransportFollowsWhatIsSupported) {
  EXPECT_EQ(default_proto(false, {}), Proto::kUdp);
  EXPECT_EQ(default_proto(false, {Proto::kTls, Proto::kTcp}), Proto::kTcp);
  EXPECT_EQ(default_proto(false, {Proto::kTls}), Proto::kTls);
  EXPECT_EQ(default_proto(true, {Proto::kUdp}), Proto::kTls);
  FakeDns dns;
  dns.add(RrType::kA, "b.example", addrs({"10.0.0.1"}));
  PlanParams tcp;
  tcp.supported = {Proto::kTcp, Proto::kTls};
  tcp.try_naptr = false;
  EXPECT_EQ(dns.run({.host = "b.example"}, tcp).destinations,
            (std::vector<Destination>{dest(Proto::kTcp, "10.0.0.1", 5060)}));
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"SRV|_sip._tcp.b.example", "A|b.example"}));
}

TEST(QueryPlan, SipsWithTransport) {
  FakeDns dns;
  dns.add(RrType::kA, "b.example", addrs({"10.0.0.1"}));
  EXPECT_EQ(dns.run({.host = "b.example", .transport = Proto::kTcp, .secure = true}).destinations,
            (std::vector<Destination>{dest(Proto::kTls, "10.0.0.1", 5061)}));
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"SRV|_sips._tcp.b.example", "A|b.example"}));
  ResolveResult udp = dns.run({.host = "b.example", .transport = Proto::kUdp, .secure = true});
  EXPECT_EQ(udp.error, "a sips: URI cannot use transport=udp");
}

TEST(QueryPlan, SrvPriorityOrderAndEveryAddressOfEveryTarget) {
  FakeDns dns;
  dns.add(RrType::kSrv, "_sip._tcp.b.example",
          srvs({{20, 0, 5062, "backup.b.example"},
                {10, 0, 5060, "main1.b.example"},
                {10, 0, 5061, "main2.b.example"},
                {30, 0, 5060, ""}}))  // "." in a set of records: dropped
      .add(RrType::kA, "main1.b.example", addrs({"10.0.1.1", "10.0.1.2"}))
      .add(RrType::kA, "main2.b.example", fail(Outcome::kServFail))
      .add(RrType::kA, "backup.b.example", addrs({"10.0.2.1", "10.0.1.1"}));
  ResolveResult r = dns.run({.host = "b.example", .transport = Proto::kTcp});
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.destinations,
            (std::vector<Destination>{
                dest(Proto::kTcp, "10.0.1.1", 5060), dest(Proto::kTcp, "10.0.1.2", 5060),
                dest(Proto::kTcp, "10.0.2.1", 5062), dest(Proto::kTcp, "10.0.1.1", 5062)}));
  // The target lookups go out together, after the SRV answer.
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"SRV|_sip._tcp.b.example", "A|main1.b.example",
                                                 "A|main2.b.example", "A|backup.b.example"}));
}

TEST(QueryPlan, SrvSaysNotAvailableFallsBackToA) {
  FakeDns dns;
  dns.add(RrType::kSrv, "_sip._tcp.b.example", srvs({{0, 0, 0, ""}}))
      .add(RrType::kA, "b.example", fail(Outcome::kNxDomain));
  ResolveResult r = dns.run({.host = "b.example", .transport = Proto::kTcp});
  EXPECT_EQ(r.error, "no usable SRV target for _sip._tcp.b.example; NXDOMAIN for b.example");
}

TEST(QueryPlan, ErrorsNameEveryFailedLookup) {
  FakeDns dns;
  dns.add(RrType::kNaptr, "b.example", fail(Outcome::kNoData))
      .add(RrType::kSrv, "_sips._tcp.b.example", fail(Outcome::kTimeout));
  ResolveResult r = dns.run({.host = "b.example", .secure = true});
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.destinations.empty());
  EXPECT_EQ(r.error,
            "no NAPTR record for b.example; timeout for _sips._tcp.b.example (SRV); "
            "NXDOMAIN for b.example");
}

TEST(QueryPlan, BadHostNames) {
  FakeDns dns;
  EXPECT_EQ(dns.run({.host = ""}).error, "empty host name");
  EXPECT_EQ(dns.run({.host = "a..b"}).error, "empty label in host name 'a..b'");
  EXPECT_NE(dns.run({.host = std::string(64, 'a') + ".example"}).error.find("label longer than 63"),
            std::string::npos);
  std::string long_name;
  while (long_name.size() < 300) long_name += "abcdefghi.";
  long_name += "example";
  EXPECT_NE(dns.run({.host = long_name}).error.find("longer than 253"), std::string::npos);
  EXPECT_EQ(dns.run({.host = "a b.example"}).error,
            "character ' ' not allowed in host name 'a b.example'");
  EXPECT_EQ(dns.run({.host = "a\x01.example"}).error,
            "character '\\x01' not allowed in host name 'a\\x01.example'");
  EXPECT_TRUE(dns.asked.empty());
  // A 250-character name is fine, but "_sips._tcp." + it is too long to ask: A is asked.
  std::string near_limit;
  while (near_limit.size() < 240) near_limit += "abcdefghi.";
  near_limit += "example";
  dns.add(RrType::kA, near_limit, addrs({"10.0.0.1"}));
  EXPECT_TRUE(dns.run({.host = near_limit, .transport = Proto::kTls}).ok());
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"A|" + near_limit}));
}

TEST(QueryPlan, HostileAnswersStayBounded) {
  FakeDns dns;
  std::vector<NaptrRecord> naptr;
  for (int i = 0; i < 16; ++i)
    naptr.push_back({10, static_cast<uint16_t>(i), "S", "SIP+D2T", "",
                     "_sip._tcp.n" + std::to_string(i) + ".example"});
  dns.add(RrType::kNaptr, "b.example", naptrs(naptr));
  for (int i = 0; i < 16; ++i) {
    std::vector<SrvRecord> srv;
    for (int k = 0; k < 32; ++k)
      srv.push_back({1, 0, 5060, "t" + std::to_string(i) + "-" + std::to_string(k) + ".example"});
    dns.add(RrType::kSrv, "_sip._tcp.n" + std::to_string(i) + ".example", srvs(srv));
    for (int k = 0; k < 32; ++k) {
      std::vector<std::string> ips;
      for (int j = 0; j < 32; ++j)
        ips.push_back("10." + std::to_string(i) + "." + std::to_string(k) + "." +
                      std::to_string(j));
      dns.add(RrType::kA, "t" + std::to_string(i) + "-" + std::to_string(k) + ".example",
              addrs(ips));
    }
  }
  ResolveResult r = dns.run({.host = "b.example"});
  EXPECT_EQ(r.destinations.size(), kMaxDestinations);
  // 1 NAPTR + kMaxNaptrChoices SRV + kMaxSrvTargets A.
  EXPECT_EQ(dns.asked.size(), 1 + kMaxNaptrChoices + kMaxSrvTargets);
}

TEST(QueryPlan, ServerNameIsTheAskedDomain) {
  FakeDns dns;
  dns.add(RrType::kSrv, "_sips._tcp.b.example", srvs({{1, 0, 5061, "edge.provider.example"}}))
      .add(RrType::kA, "edge.provider.example", addrs({"10.0.0.1"}));
  ResolveResult r = dns.run({.host = "B.EXAMPLE", .secure = true});
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].server_name, "b.example");
}

TEST(SelectNaptr, OrderThenPreferenceUsableOnly) {
  std::vector<NaptrRecord> in = {
      {50, 10, "S", "SIP+D2U", "", "_sip._udp.x.example"},
      {10, 90, "S", "SIP+D2T", "", "_sip._tcp.x.example"},
      {10, 20, "S", "SIPS+D2T", "", "_sips._tcp.x.example"},
      {10, 20, "S", "SIPS+D2T", "", "_sips._tcp.x.example"},  // duplicate
      {5, 1, "A", "SIP+D2T", "", "a.x.example"},              // flag A: not usable
      {5, 1, "S", "SIP+D2T", "", ""},                         // no replacement
      {5, 1, "S", "SIP+D2T", "", "bad..name"},
  };
  EXPECT_EQ(select_naptr(in, false, {}),
            (std::vector<NaptrChoice>{{Proto::kTls, "_sips._tcp.x.example"},
                                      {Proto::kTcp, "_sip._tcp.x.example"},
                                      {Proto::kUdp, "_sip._udp.x.example"}}));
  EXPECT_EQ(select_naptr(in, true, {}),
            (std::vector<NaptrChoice>{{Proto::kTls, "_sips._tcp.x.example"}}));
  EXPECT_EQ(select_naptr(in, false, {Proto::kUdp, Proto::kTcp}),
            (std::vector<NaptrChoice>{{Proto::kTcp, "_sip._tcp.x.example"},
                                      {Proto::kUdp, "_sip._udp.x.example"}}));
}

TEST(OrderSrv, PriorityFirstThenWeightedRandom) {
  std::vector<SrvRecord> in = {{20, 0, 1, "c.example"},
                               {10, 1, 1, "heavy.example"},
                               {10, 0, 1, "zero.example"},
                               {5, 0, 1, "first.example"},
                               {1, 0, 1, ""}};  // "." dropped
  // random() = 0 picks the first of the pool: weight-0 records lead.
  std::vector<SrvRecord> out = order_srv(in, first);
  std::vector<std::string> names;
  for (const SrvRecord& s : out) names.push_back(s.target);
  EXPECT_EQ(names, (std::vector<std::string>{"first.example", "zero.example", "heavy.example",
                                             "c.example"}));
  // random() = bound picks the one whose running sum reaches the total: the heavy one.
  out = order_srv(in, [](uint32_t bound) { return bound; });
  EXPECT_EQ(out[1].target, "heavy.example");
}

TEST(OrderSrv, WeightsSpreadTheFirstChoice) {
  std::mt19937 rng(7);
  auto random = [&rng](uint32_t bound) {
    return std::uniform_int_distribution<uint32_t>(0, bound)(rng);
  };
  std::vector<SrvRecord> in = {{1, 90, 1, "ninety.example"}, {1, 10, 1, "ten.example"}};
  int ninety_first = 0;
  for (int i = 0; i < 1000; ++i)
    if (order_srv(in, random)[0].target == "ninety.example") ++ninety_first;
  EXPECT_GT(ninety_first, 850);
  EXPECT_LT(ninety_first, 950);
}

}  // namespace
}  // namespace sipsd::dns
