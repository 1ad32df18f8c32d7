// The per-handshake TLS domain lookup (SNI and destination matching) makes no heap allocation.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/alloc/allocation_counter.h"
#include "tls_mgm/domain_matcher.h"

namespace sipsd {
namespace {

constexpr const char* kL = "10.0.0.1:5061";

DomainMatchRules rules(std::string name, std::vector<std::string> ip_keys,
                       std::vector<std::string> sip_domains) {
  return DomainMatchRules{std::move(name), std::move(ip_keys), std::move(sip_domains)};
}

ServerDomainMatcher server(const std::vector<DomainMatchRules>& domains) {
  Result<ServerDomainMatcher> m = ServerDomainMatcher::build(domains);
  EXPECT_TRUE(m.ok()) << m.message();
  return std::move(m).value();
}

ClientDomainMatcher client(const std::vector<DomainMatchRules>& domains) {
  Result<ClientDomainMatcher> m = ClientDomainMatcher::build(domains);
  EXPECT_TRUE(m.ok()) << m.message();
  return std::move(m).value();
}

TEST(DomainMatcher, MatchDoesNotAllocate) {
  ServerDomainMatcher m =
      server({rules("exact", {kL, "[2001:db8::1]:5061"}, {"a-rather-long-exact-name.example.com"}),
              rules("wild", {"*"}, {"*.wild.example.com", "*.example.com"}),
              rules("glob", {"*"}, {"s[0-9]?.*.example.org"}), rules("nosni", {"*"}, {"none"}),
              rules("any", {"*"}, {"*"})});
  ClientDomainMatcher c =
      client({rules("peer", {kL}, {"*.example.com"}), rules("default", {"*"}, {"*"})});
  const std::string overlong(300, 'z');
  const std::string_view snis[] = {"A-Rather-Long-Exact-Name.EXAMPLE.com",
                                   "deep.sub.domain.wild.example.com",
                                   "s12.x.example.org",
                                   "nothing-matches-this-one.example.net",
                                   "",
                                   "none",
                                   overlong};
  const std::string_view keys[] = {kL, "[2001:db8::1]:5061", "10.0.0.99:5061"};
  int sum = 0;
  std::optional<test::AllocationCounter> counter(std::in_place);
  for (int round = 0; round < 100; ++round) {
    for (std::string_view key : keys) {
      const ServerCandidates* cands = m.for_listener(key);
      if (cands == nullptr) continue;
      sum += m.initial(*cands);
      for (std::string_view sni : snis) {
        sum += m.match(*cands, sni);
        sum += c.match(key, sni);
      }
    }
  }
  sum += c.by_name("peer");
  EXPECT_EQ(counter->count(), 0);
  counter.reset();
  EXPECT_NE(sum, 0);  // keep the calls

  // The counter does see allocations (the check can fail).
  counter.emplace();
  Result<ServerDomainMatcher> built = ServerDomainMatcher::build({rules("x", {"*"}, {"*"})});
  EXPECT_TRUE(built.ok());
  EXPECT_GT(counter->count(), 0);
}

}  // namespace
}  // namespace sipsd
