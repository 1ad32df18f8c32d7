// The RFC 3263 resolver against real DNS servers on loopback: a dnsmasq started with the test
// zone (A, AAAA, CNAME, SRV and NAPTR records), a UDP port where nobody answers (timeouts),
// and a scripted server in this process for replies dnsmasq will not give (SERVFAIL, a CNAME
// loop). Each test runs the resolver on its own libevent loop, bounded in time, and counts
// queries with the dns: statistics and dnsmasq's query log.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/base/process_context.h"
#include "core/base/unique_fd.h"
#include "core/dns/resolver.h"
#include "core/shm/stats.h"
#include "tests/integration/dnsmasq.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;
using dns::Destination;
using dns::Resolver;
using dns::ResolveResult;
using dns::ResolverParams;
using dns::SipTarget;
using Clock = std::chrono::steady_clock;

// The zone every test resolves against. TTLs are 300 s (--local-ttl) unless a record says.
std::vector<std::string> zone_args() {
  std::vector<std::string> a = {
      "--local=/example/",  // names under example. that are not below: NXDOMAIN
      "--local-ttl=300",
      // Host with a port; CNAME; IPv6 only.
      "--host-record=a.example,127.0.0.2",
      "--cname=alias.example,a.example",
      "--host-record=v6.example,2001:db8::10",
      // Host with a transport: SRV _sip._tcp; A fallback for udp.
      "--srv-host=_sip._tcp.t.example,t1.example,5070,10,0",
      "--host-record=t1.example,127.0.1.1",
      "--host-record=t.example,127.0.1.9",
      // NAPTR → SRV → A, plus records the rules ignore (a regexp, flag U).
      "--naptr-record=n.example,30,10,S,SIP+D2U,,_sip._udp.n.example",
      "--naptr-record=n.example,10,10,S,SIPS+D2T,,_sips._tcp.n.example",
      "--naptr-record=n.example,20,10,S,SIP+D2T,,_sip._tcp.n.example",
      "--naptr-record=n.example,1,1,S,SIP+D2T,!^.*$!x!,_sip._tcp.evil.example",
      "--naptr-record=n.example,2,1,U,E2U+sip,!^.*$!sip:info@n.example!",
      "--srv-host=_sips._tcp.n.example,tls.n.example,5061,1,0",
      "--srv-host=_sip._tcp.n.example,tcp.n.example,5060,1,0",
      "--srv-host=_sip._udp.n.example,udp.n.example,5060,1,0",
      "--srv-host=_sip._tcp.evil.example,evil.example,5060,1,0",
      "--host-record=tls.n.example,127.0.2.1",
      "--host-record=tcp.n.example,127.0.2.2",
      "--host-record=udp.n.example,127.0.2.3",
      "--host-record=evil.example,127.0.2.66",
      // SRV priorities: s0 (5) before s1 (10, two addresses) before s2 (20).
      "--srv-host=_sip._tcp.s.example,s1.example,5060,10,0",
      "--srv-host=_sip._tcp.s.example,s2.example,5062,20,0",
      "--srv-host=_sip._tcp.s.example,s0.example,5064,5,0",
      "--host-record=s0.example,127.0.3.4",
      "--host-record=s1.example,127.0.3.1",
      "--host-record=s1.example,127.0.3.2",
      "--host-record=s2.example,127.0.3.3",
      // sips: without NAPTR: _sips._tcp, then A.
      "--srv-host=_sips._tcp.sec.example,sec1.example,5071,1,0",
      "--host-record=sec1.example,127.0.4.1",
      // Host only, no NAPTR and no SRV: A on the default port.
      "--host-record=plain.example,127.0.5.1",
      // A one-second TTL.
      "--host-record=ttl.example,127.0.6.1,1",
  };
  // Hundreds of addresses: more than a UDP reply holds (c-ares retries over TCP).
  for (int i = 0; i < 200; ++i)
    a.push_back("--host-record=big.example,127.0." + std::to_string(10 + i / 200) + "." +
                std::to_string(i % 200 + 1));
  return a;
}

// A UDP socket on loopback: silent (nobody answers: queries time out), or answering each
// query with reply(query) from the test's own loop.
class ScriptedServer {
 public:
  using Reply = std::function<std::vector<unsigned char>(const std::vector<unsigned char>&)>;

  explicit ScriptedServer(struct event_base* base, Reply reply = nullptr)
      : reply_(std::move(reply)) {
    fd_.reset(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (!fd_ || bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ADD_FAILURE() << "cannot bind a UDP socket on 127.0.0.1";
      return;
    }
    port_ = ntohs(sa.sin_port);
    if (reply_) {
      ev_.reset(event_new(base, fd_.get(), EV_READ | EV_PERSIST, &ScriptedServer::on_read, this));
      event_add(ev_.get(), nullptr);
    }
  }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  int received() const { return received_; }

 private:
  static void on_read(evutil_socket_t fd, short, void* arg) {
    auto* self = static_cast<ScriptedServer*>(arg);
    unsigned char buf[1500];
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 12) return;
    ++self->received_;
    std::vector<unsigned char> out = self->reply_(std::vector<unsigned char>(buf, buf + n));
    sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }

  Reply reply_;
  UniqueFd fd_;
  EventPtr ev_;
  uint16_t port_ = 0;
  int received_ = 0;
};

// The query's header and question, turned into a response with `rcode` and `answers` (raw
// resource records appended after the question).
std::vector<unsigned char> respond(const std::vector<unsigned char>& query, int rcode,
                                   const std::vector<unsigned char>& answers = {},
                                   int ancount = 0) {
  size_t end = 12;  // the end of the (uncompressed) question name, then type and class
  while (end < query.size() && query[end] != 0) end += query[end] + 1;
  std::vector<unsigned char> out(
      query.begin(), query.begin() + static_cast<long>(std::min(end + 5, query.size())));
  out[2] = 0x81;  // QR, RD
  out[3] = static_cast<unsigned char>(0x80 | rcode);
  out[6] = 0;
  out[7] = static_cast<unsigned char>(ancount);
  out[8] = out[9] = out[10] = out[11] = 0;
  out.insert(out.end(), answers.begin(), answers.end());
  return out;
}

// CNAME records x.example → y.example → x.example (owner names as compression pointers to the
// question name at offset 12 and to the target inside the first record).
std::vector<unsigned char> cname_loop() {
  std::vector<unsigned char> rr;
  auto rr_header = [&rr](std::vector<unsigned char> owner, size_t rdlen) {
    rr.insert(rr.end(), owner.begin(), owner.end());
    rr.insert(rr.end(), {0, 5, 0, 1, 0, 0, 0, 60, 0, static_cast<unsigned char>(rdlen)});
  };
  // y.example as a label followed by a pointer to "example" in the question (offset 14:
  // after the 12-byte header and "\x01x").
  std::vector<unsigned char> y = {1, 'y', 0xc0, 14};
  rr_header({0xc0, 12}, y.size());
  rr.insert(rr.end(), y.begin(), y.end());
  rr_header(y, 2);
  rr.insert(rr.end(), {0xc0, 12});  // → x.example
  return rr;
}

// A libevent loop for one test, stepped until a condition holds or a deadline passes.
class Loop {
 public:
  Loop() : base_(event_base_new()) {
    tick_.reset(event_new(
        base_.get(), -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr));
    struct timeval tv = {0, 10000};
    event_add(tick_.get(), &tv);
  }
  struct event_base* base() const {
    return base_.get();
  }
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      event_base_loop(base_.get(), EVLOOP_ONCE);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

 private:
  EventBasePtr base_;
  EventPtr tick_;
};

class DnsResolver : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<Dnsmasq> d = Dnsmasq::start(zone_args());
    if (d.ok())
      dnsmasq_ = new Dnsmasq(std::move(d).value());
    else
      start_error_ = new std::string(d.message());
  }
  static void TearDownTestSuite() {
    delete dnsmasq_;
    dnsmasq_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(dnsmasq_, nullptr) << (start_error_ ? *start_error_ : "");
    stats_.reset();
    process_context().stats = &stats_;
  }
  void TearDown() override { process_context().stats = nullptr; }

  // A resolver on this test's loop asking `servers` (dnsmasq by default).
  std::unique_ptr<Resolver> make(ResolverParams p = {}, std::string servers = "") {
    p.servers = servers.empty() ? dnsmasq_->server() : servers;
    if (p.retr_time_s == 0) p.retr_time_s = 1;
    if (p.retr_no == 0) p.retr_no = 2;
    auto r = Resolver::create(loop_.base(), std::move(p));
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  // Resolves through the loop; checks that the callback runs once, and not inside resolve().
  ResolveResult resolve(Resolver& r, const SipTarget& t,
                        std::chrono::milliseconds timeout = 5000ms) {
    std::optional<ResolveResult> got;
    int calls = 0;
    bool inside = true;
    r.resolve(t, [&](ResolveResult res) {
      EXPECT_FALSE(inside) << "callback ran inside resolve()";
      ++calls;
      got = std::move(res);
    });
    inside = false;
    EXPECT_TRUE(loop_.run_until([&] { return got.has_value(); }, timeout))
        << "no answer for " << t.host << " within " << timeout.count() << " ms";
    loop_.run_for(20ms);  // a second call would show now
    EXPECT_EQ(calls, 1);
    return got.value_or(ResolveResult{{}, "test: no callback"});
  }

  uint64_t stat(Stat s) const { return stats_.get(s); }
  // Queries dnsmasq has logged for type/name, once `expected` of them have appeared (its log
  // reaches us a little after its answers) or after 2 s.
  int logged(const std::string& type, const std::string& name, int expected) {
    loop_.run_until([&] { return dnsmasq_->queries(type, name) >= expected; }, 2000ms);
    return dnsmasq_->queries(type, name);
  }

  static Dnsmasq* dnsmasq_;
  static std::string* start_error_;
  ProcStats stats_;
  Loop loop_;
};

Dnsmasq* DnsResolver::dnsmasq_ = nullptr;
std::string* DnsResolver::start_error_ = nullptr;

Destination dest(Proto p, const char* ip, uint16_t port, const char* server_name) {
  return Destination{.proto = p, .ip = ip, .port = port, .server_name = server_name};
}

TEST_F(DnsResolver, IpLiteralIsAnsweredAtOnceWithoutDns) {
  auto r = make();
  ASSERT_TRUE(r);
  std::optional<ResolveResult> now = r->resolve_now({.host = "192.0.2.7"});
  ASSERT_TRUE(now);
  EXPECT_EQ(now->destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "192.0.2.7", 5060, "")}));
  now = r->resolve_now({.host = "[::1]", .port = 5099, .secure = true});
  ASSERT_TRUE(now);
  EXPECT_EQ(now->destinations, (std::vector<Destination>{dest(Proto::kTls, "::1", 5099, "")}));
  // Through resolve() too: later, on the loop.
  ResolveResult res = resolve(*r, {.host = "192.0.2.8", .transport = Proto::kTcp});
  EXPECT_EQ(res.destinations, (std::vector<Destination>{dest(Proto::kTcp, "192.0.2.8", 5060, "")}));
  EXPECT_EQ(stat(Stat::kDnsQueries), 0u);
}

TEST_F(DnsResolver, HostWithPortAsksAOnly) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult res = resolve(*r, {.host = "a.example", .port = 5080});
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "127.0.0.2", 5080, "a.example")}));
  EXPECT_EQ(stat(Stat::kDnsQueries), 1u);
  EXPECT_EQ(dnsmasq_->queries("NAPTR", "a.example"), 0);
  // Through a CNAME.
  res = resolve(*r, {.host = "alias.example", .port = 5080, .transport = Proto::kTcp});
  EXPECT_EQ(res.destinations,
            (std::vector<Destination>{dest(Proto::kTcp, "127.0.0.2", 5080, "alias.example")}));
}

TEST_F(DnsResolver, Ipv6OnlyWhenAsked) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult v4 = resolve(*r, {.host = "v6.example", .port = 5060});
  EXPECT_EQ(v4.error, "no A record for v6.example");
  auto r6 = make({.try_ipv6 = true});
  ASSERT_TRUE(r6);
  ResolveResult v6 = resolve(*r6, {.host = "v6.example", .port = 5060});
  EXPECT_EQ(v6.destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "2001:db8::10", 5060, "v6.example")}));
}

TEST_F(DnsResolver, TransportWithoutPortAsksSrvThenA) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult tcp = resolve(*r, {.host = "t.example", .transport = Proto::kTcp});
  EXPECT_EQ(tcp.destinations,
            (std::vector<Destination>{dest(Proto::kTcp, "127.0.1.1", 5070, "t.example")}));
  // No _sip._udp SRV: A of the host on 5060.
  ResolveResult udp = resolve(*r, {.host = "t.example", .transport = Proto::kUdp});
  EXPECT_EQ(udp.destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "127.0.1.9", 5060, "t.example")}));
  EXPECT_EQ(logged("SRV", "_sip._udp.t.example", 1), 1);
  EXPECT_EQ(dnsmasq_->queries("NAPTR", "t.example"), 0);
}

TEST_F(DnsResolver, NaptrThenSrvThenA) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult res = resolve(*r, {.host = "n.example"});
  ASSERT_TRUE(res.ok()) << res.error;
  // Order 10 SIPS+D2T, 20 SIP+D2T, 30 SIP+D2U; the regexp and U-flag records are ignored.
  EXPECT_EQ(res.destinations,
            (std::vector<Destination>{dest(Proto::kTls, "127.0.2.1", 5061, "n.example"),
                                      dest(Proto::kTcp, "127.0.2.2", 5060, "n.example"),
                                      dest(Proto::kUdp, "127.0.2.3", 5060, "n.example")}));
  EXPECT_EQ(dnsmasq_->queries("SRV", "_sip._tcp.evil.example"), 0);
  // sips: keeps SIPS+D2T only.
  ResolveResult sips = resolve(*r, {.host = "n.example", .secure = true});
  EXPECT_EQ(sips.destinations,
            (std::vector<Destination>{dest(Proto::kTls, "127.0.2.1", 5061, "n.example")}));
  // Only the transports we listen on.
  auto tcp_only = make({.supported = {Proto::kTcp}});
  ASSERT_TRUE(tcp_only);
  ResolveResult tcp = resolve(*tcp_only, {.host = "n.example"});
  EXPECT_EQ(tcp.destinations,
            (std::vector<Destination>{dest(Proto::kTcp, "127.0.2.2", 5060, "n.example")}));
  // dns_try_naptr = no: one SRV (_sip._udp), no NAPTR query.
  loop_.run_for(100ms);  // dnsmasq's log of the queries above has arrived
  const int naptr_before = dnsmasq_->queries("NAPTR", "n.example");
  auto no_naptr = make({.try_naptr = false});
  ASSERT_TRUE(no_naptr);
  ResolveResult udp = resolve(*no_naptr, {.host = "n.example"});
  EXPECT_EQ(udp.destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "127.0.2.3", 5060, "n.example")}));
  loop_.run_for(100ms);
  EXPECT_EQ(dnsmasq_->queries("NAPTR", "n.example"), naptr_before);
}

TEST_F(DnsResolver, HostOnlyWithoutNaptrOrSrvFallsBackToA) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult res = resolve(*r, {.host = "plain.example"});
  EXPECT_EQ(res.destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "127.0.5.1", 5060, "plain.example")}));
  EXPECT_EQ(stat(Stat::kDnsQueries), 3u);  // NAPTR, _sip._udp SRV, A
  auto tls = make({.tls_default_port = 5071});
  ASSERT_TRUE(tls);
  res = resolve(*tls, {.host = "plain.example", .secure = true});
  EXPECT_EQ(res.destinations,
            (std::vector<Destination>{dest(Proto::kTls, "127.0.5.1", 5071, "plain.example")}));
  EXPECT_EQ(logged("SRV", "_sips._tcp.plain.example", 1), 1);
}

TEST_F(DnsResolver, SrvPriorityGivesTheFailoverOrder) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult res = resolve(*r, {.host = "s.example", .transport = Proto::kTcp});
  ASSERT_TRUE(res.ok()) << res.error;
  ASSERT_EQ(res.destinations.size(), 4u);
  EXPECT_EQ(res.destinations[0], dest(Proto::kTcp, "127.0.3.4", 5064, "s.example"));
  // s1's two addresses, in either order (dnsmasq may rotate them), then s2.
  std::vector<std::string> s1 = {res.destinations[1].ip, res.destinations[2].ip};
  std::sort(s1.begin(), s1.end());
  EXPECT_EQ(s1, (std::vector<std::string>{"127.0.3.1", "127.0.3.2"}));
  EXPECT_EQ(res.destinations[1].port, 5060);
  EXPECT_EQ(res.destinations[2].port, 5060);
  EXPECT_EQ(res.destinations[3], dest(Proto::kTcp, "127.0.3.3", 5062, "s.example"));
}

TEST_F(DnsResolver, SipsUsesSipsSrvAndTheDomainAsServerName) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult res = resolve(*r, {.host = "Sec.Example", .secure = true});
  EXPECT_EQ(res.destinations,
            (std::vector<Destination>{dest(Proto::kTls, "127.0.4.1", 5071, "sec.example")}));
  EXPECT_EQ(logged("SRV", "_sips._tcp.sec.example", 1), 1);
  EXPECT_EQ(dnsmasq_->queries("SRV", "_sip._udp.sec.example"), 0);
}

TEST_F(DnsResolver, NxDomainNamesTheLookup) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult res = resolve(*r, {.host = "nosuch.example", .port = 5060});
  EXPECT_EQ(res.error, "NXDOMAIN for nosuch.example");
  EXPECT_TRUE(res.destinations.empty());
  ResolveResult sips = resolve(*r, {.host = "nosuch.example", .secure = true});
  EXPECT_EQ(sips.error, "NXDOMAIN for nosuch.example; NXDOMAIN for _sips._tcp.nosuch.example");
  EXPECT_EQ(stat(Stat::kDnsFailures), 2u);
  // The NXDOMAIN for A was cached: the second resolution asked NAPTR and SRV only.
  EXPECT_EQ(logged("A", "nosuch.example", 1), 1);
}

TEST_F(DnsResolver, BadNamesFailWithoutAQuery) {
  auto r = make();
  ASSERT_TRUE(r);
  std::string long_name;
  while (long_name.size() < 300) long_name += "abcdefgh.";
  long_name += "example";
  for (const std::string& host : {long_name, std::string(), std::string(64, 'x') + ".example"}) {
    std::optional<ResolveResult> now = r->resolve_now({.host = host});
    ASSERT_TRUE(now) << host;
    EXPECT_FALSE(now->ok());
    ResolveResult later = resolve(*r, {.host = host});
    EXPECT_EQ(later.error, now->error);
  }
  EXPECT_EQ(stat(Stat::kDnsQueries), 0u);
}

TEST_F(DnsResolver, HundredsOfRecordsOverTcpAreCapped) {
  auto r = make();
  ASSERT_TRUE(r);
  ResolveResult res = resolve(*r, {.host = "big.example", .port = 5060});
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.destinations.size(), dns::kMaxDestinations);
  for (const Destination& d : res.destinations) EXPECT_EQ(d.ip.rfind("127.0.10.", 0), 0u) << d.ip;
  // One query, asked twice: over UDP (truncated), then over TCP.
  EXPECT_EQ(stat(Stat::kDnsQueries), 1u);
  EXPECT_EQ(logged("A", "big.example", 2), 2) << dnsmasq_->log();
}

TEST_F(DnsResolver, CacheAnswersWithoutASecondQuery) {
  auto r = make();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->resolve_now({.host = "n.example"}));  // nothing cached yet
  ResolveResult first = resolve(*r, {.host = "n.example"});
  ASSERT_TRUE(first.ok()) << first.error;
  const uint64_t queries = stat(Stat::kDnsQueries);
  EXPECT_EQ(queries, 7u);  // NAPTR, 3 SRV, 3 A
  EXPECT_EQ(stat(Stat::kDnsCacheHits), 0u);
  std::optional<ResolveResult> again = r->resolve_now({.host = "n.example"});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->destinations, first.destinations);
  EXPECT_EQ(stat(Stat::kDnsQueries), queries);
  EXPECT_EQ(stat(Stat::kDnsCacheHits), 7u);
  // resolve() answers from the cache too, still through the loop.
  EXPECT_EQ(resolve(*r, {.host = "n.example"}).destinations, first.destinations);
  EXPECT_EQ(stat(Stat::kDnsQueries), queries);
}

TEST_F(DnsResolver, DnsmasqSeesOneQueryForCachedAnswers) {
  auto r = make();
  ASSERT_TRUE(r);
  const int before = logged("A", "s0.example", 0);
  ResolveResult res = resolve(*r, {.host = "s0.example", .port = 5060});
  ASSERT_TRUE(res.ok()) << res.error;
  ASSERT_EQ(logged("A", "s0.example", before + 1), before + 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(r->resolve_now({.host = "s0.example", .port = 5060}));
  loop_.run_for(100ms);
  EXPECT_EQ(dnsmasq_->queries("A", "s0.example"), before + 1) << dnsmasq_->log();
}

TEST_F(DnsResolver, TtlExpiryAsksAgain) {
  auto r = make();
  ASSERT_TRUE(r);
  const SipTarget t{.host = "ttl.example", .port = 5060};
  ASSERT_TRUE(resolve(*r, t).ok());
  EXPECT_EQ(stat(Stat::kDnsQueries), 1u);
  EXPECT_TRUE(r->resolve_now(t));  // within its 1 s TTL
  loop_.run_for(1100ms);
  EXPECT_FALSE(r->resolve_now(t));  // expired
  EXPECT_EQ(resolve(*r, t).destinations,
            (std::vector<Destination>{dest(Proto::kUdp, "127.0.6.1", 5060, "ttl.example")}));
  EXPECT_EQ(stat(Stat::kDnsQueries), 2u);
}

TEST_F(DnsResolver, ConcurrentResolutionsShareAQuery) {
  auto r = make();
  ASSERT_TRUE(r);
  int done = 0;
  for (int i = 0; i < 3; ++i)
    r->resolve({.host = "t1.example", .port = 5060}, [&](ResolveResult res) {
      EXPECT_TRUE(res.ok()) << res.error;
      ++done;
    });
  EXPECT_EQ(stat(Stat::kDnsPending), 3u);
  ASSERT_TRUE(loop_.run_until([&] { return done == 3; }, 5s));
  EXPECT_EQ(stat(Stat::kDnsQueries), 1u);
  EXPECT_EQ(stat(Stat::kDnsPending), 0u);
}

TEST_F(DnsResolver, TimeoutWhenNobodyAnswers) {
  ScriptedServer silent(loop_.base());
  auto r = make({.retr_time_s = 1, .retr_no = 1}, silent.server());
  ASSERT_TRUE(r);
  const auto start = Clock::now();
  ResolveResult res = resolve(*r, {.host = "slow.example", .port = 5060}, 5s);
  const auto took = Clock::now() - start;
  EXPECT_EQ(res.error, "timeout for slow.example (A)");
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(stat(Stat::kDnsFailures), 1u);
  EXPECT_EQ(stat(Stat::kDnsPending), 0u);
}

TEST_F(DnsResolver, ServfailAndCnameLoopAreErrors) {
  ScriptedServer servfail(loop_.base(),
                          [](const std::vector<unsigned char>& q) { return respond(q, 2); });
  auto r = make({.retr_no = 1}, servfail.server());
  ASSERT_TRUE(r);
  ResolveResult res = resolve(*r, {.host = "x.example", .port = 5060});
  // c-ares skips a server that says SERVFAIL; none is left.
  EXPECT_EQ(res.error,
            "no DNS server answered (unreachable, or SERVFAIL/REFUSED from each) for x.example "
            "(A)");
  EXPECT_EQ(servfail.received(), 1);
  // SERVFAIL is not cached: asking again sends again.
  const int received = servfail.received();
  EXPECT_FALSE(r->resolve_now({.host = "x.example", .port = 5060}));
  resolve(*r, {.host = "x.example", .port = 5060});
  EXPECT_GT(servfail.received(), received);

  ScriptedServer looping(loop_.base(), [](const std::vector<unsigned char>& q) {
    return respond(q, 0, cname_loop(), 2);
  });
  auto r2 = make({}, looping.server());
  ASSERT_TRUE(r2);
  res = resolve(*r2, {.host = "x.example", .port = 5060});
  EXPECT_EQ(res.error, "bad reply for x.example (A): CNAME loop at x.example");
}

TEST_F(DnsResolver, MaxPendingRefusesThroughTheLoop) {
  ScriptedServer silent(loop_.base());
  auto r = make({.retr_time_s = 5, .retr_no = 1, .max_pending = 2}, silent.server());
  ASSERT_TRUE(r);
  int waiting_called = 0;
  r->resolve({.host = "p1.example", .port = 5060}, [&](ResolveResult) { ++waiting_called; });
  r->resolve({.host = "p2.example", .port = 5060}, [&](ResolveResult) { ++waiting_called; });
  std::optional<ResolveResult> refused;
  r->resolve({.host = "p3.example", .port = 5060}, [&](ResolveResult res) { refused = res; });
  EXPECT_FALSE(refused) << "the callback ran inside resolve()";
  EXPECT_EQ(stat(Stat::kDnsPendingLimitHits), 1u);
  ASSERT_TRUE(loop_.run_until([&] { return refused.has_value(); }, 1s));
  EXPECT_EQ(refused->error, "too many DNS resolutions pending (dns_max_pending=2)");
  EXPECT_EQ(stat(Stat::kDnsPending), 2u);
  // A cached or literal target is still answered: it waits for no DNS.
  EXPECT_TRUE(resolve(*r, {.host = "192.0.2.1"}).ok());
  EXPECT_EQ(stat(Stat::kDnsPendingLimitHits), 1u);
  // Destroying the resolver drops the waiting ones without calling them.
  r.reset();
  loop_.run_for(50ms);
  EXPECT_EQ(waiting_called, 0);
  EXPECT_EQ(stat(Stat::kDnsPending), 0u);
}

TEST_F(DnsResolver, CancelledCallbacksNeverRun) {
  auto r = make();
  ASSERT_TRUE(r);
  bool called = false;
  uint64_t id =
      r->resolve({.host = "tcp.n.example", .port = 5060}, [&](ResolveResult) { called = true; });
  EXPECT_EQ(stat(Stat::kDnsPending), 1u);
  r->cancel(id);
  EXPECT_EQ(stat(Stat::kDnsPending), 0u);
  // Cancelled while in the ready queue (a literal is answered on the next loop pass).
  uint64_t literal = r->resolve({.host = "192.0.2.1"}, [&](ResolveResult) { called = true; });
  r->cancel(literal);
  r->cancel(12345);  // unknown: ignored
  // The query still completes and fills the cache.
  ASSERT_TRUE(loop_.run_until(
      [&] { return r->resolve_now({.host = "tcp.n.example", .port = 5060}).has_value(); }, 5s));
  loop_.run_for(50ms);
  EXPECT_FALSE(called);
  EXPECT_EQ(r->pending(), 0u);
  // A callback may start another resolution and cancel a third.
  std::optional<ResolveResult> chained;
  uint64_t third = 0;
  r->resolve({.host = "192.0.2.2"}, [&](ResolveResult) {
    r->cancel(third);
    r->resolve({.host = "a.example", .port = 5060}, [&](ResolveResult res) { chained = res; });
  });
  third = r->resolve({.host = "192.0.2.3"}, [&](ResolveResult) { called = true; });
  ASSERT_TRUE(loop_.run_until([&] { return chained.has_value(); }, 5s));
  EXPECT_TRUE(chained->ok()) << chained->error;
  EXPECT_FALSE(called);
}

TEST_F(DnsResolver, CreateRejectsBadServerLists) {
  ResolverParams p;
  p.servers = "127.0.0.1:99999";
  auto r = Resolver::create(loop_.base(), p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "dns_servers: '127.0.0.1:99999': bad port (allowed: 1..65535)");
  p.servers = "dns.example";
  r = Resolver::create(loop_.base(), p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "dns_servers: 'dns.example': not a numeric IP address");
}

}  // namespace
}  // namespace sipsd::test
