// tls_mgm domain matching: server candidates by listener, SNI precedence, client domains by
// name and by destination. That the per-handshake lookup does not allocate is proven in
// tests/alloc/domain_matcher_alloc_test.cc.
#include "tls_mgm/domain_matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sipsd {
namespace {

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

// The domain a connection on `key` with `sni` gets; -2 when the listener has no candidates.
int pick(const ServerDomainMatcher& m, std::string_view key, std::string_view sni) {
  const ServerCandidates* c = m.for_listener(key);
  return c == nullptr ? -2 : m.match(*c, sni);
}

constexpr const char* kL = "10.0.0.1:5061";

TEST(DomainMatcher, GlobMatchIsFnmatchWithoutFlagsCaseInsensitive) {
  EXPECT_TRUE(glob_match("*.example.com", "a.example.com"));
  EXPECT_TRUE(glob_match("*.example.com", "a.b.example.com"));  // '*' matches dots
  EXPECT_FALSE(glob_match("*.example.com", "example.com"));
  EXPECT_TRUE(glob_match("sip?.example.com", "SIP1.Example.COM"));
  EXPECT_FALSE(glob_match("sip?.example.com", "sip.example.com"));
  EXPECT_TRUE(glob_match("sip[0-9].*", "sip7.x"));
  EXPECT_FALSE(glob_match("sip[0-9].*", "sipa.x"));
  EXPECT_TRUE(glob_match("sip[!0-9].*", "sipa.x"));
  EXPECT_TRUE(glob_match("sip[^0-9].*", "sipa.x"));
  EXPECT_FALSE(glob_match("sip[!0-9].*", "sip1.x"));
  EXPECT_TRUE(glob_match("a[]]b", "a]b"));
  EXPECT_TRUE(glob_match("a[x", "a[x"));  // unterminated '[' is literal
  EXPECT_FALSE(glob_match("a[x", "ax"));
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
  EXPECT_TRUE(glob_match("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(glob_match("*a*b*c*", "xxaxxcxxbxx"));
  EXPECT_TRUE(glob_match("**", "x"));
  EXPECT_FALSE(glob_match("?", ""));
  EXPECT_TRUE(glob_match("*", ""));
}

TEST(DomainMatcher, PrecedenceExactThenWildcardThenGlobThenStar) {
  ServerDomainMatcher m =
      server({rules("glob", {"*"}, {"s?p.*"}), rules("wild", {"*"}, {"*.example.com"}),
              rules("exact", {"*"}, {"sip.example.com"}), rules("any", {"*"}, {"*"})});
  EXPECT_EQ(pick(m, kL, "sip.example.com"), 2);  // also matches the wildcard and the glob
  EXPECT_EQ(pick(m, kL, "sap.example.com"), 1);  // also matches the glob
  EXPECT_EQ(pick(m, kL, "sap.example.org"), 0);
  EXPECT_EQ(pick(m, kL, "other.net"), 3);
  EXPECT_EQ(pick(m, kL, ""), 3);  // no SNI, no "none" domain: "*"
}

TEST(DomainMatcher, LongestWildcardSuffixWinsAndStarSpansLabels) {
  ServerDomainMatcher m =
      server({rules("short", {"*"}, {"*.example.com"}), rules("long", {"*"}, {"*.b.example.com"})});
  EXPECT_EQ(pick(m, kL, "x.b.example.com"), 1);
  EXPECT_EQ(pick(m, kL, "a.x.b.example.com"), 1);
  EXPECT_EQ(pick(m, kL, "x.example.com"), 0);
  EXPECT_EQ(pick(m, kL, "a.b.c.example.com"), 0);  // fnmatch: '*' matches "a.b.c"
  EXPECT_EQ(pick(m, kL, "b.example.com"), 0);
  EXPECT_EQ(pick(m, kL, "example.com"), -1);
  EXPECT_EQ(pick(m, kL, "xexample.com"), -1);
  EXPECT_EQ(pick(m, kL, ""), -1);  // no SNI and neither "none" nor "*"
}

TEST(DomainMatcher, OtherGlobsInCfgOrder) {
  // Both globs match "example.com": the domain declared first wins, whatever its pattern.
  ServerDomainMatcher ab =
      server({rules("a", {"*"}, {"zzz", "*mple.com"}), rules("b", {"*"}, {"ex*"})});
  EXPECT_EQ(pick(ab, kL, "example.com"), 0);
  EXPECT_EQ(pick(ab, kL, "exit.net"), 1);
  ServerDomainMatcher ba =
      server({rules("b", {"*"}, {"ex*"}), rules("a", {"*"}, {"zzz", "*mple.com"})});
  EXPECT_EQ(pick(ba, kL, "example.com"), 0);
  EXPECT_EQ(pick(ba, kL, "sample.com"), 1);
  // A pattern with '*' elsewhere than a leading "*." is a glob, not a suffix wildcard.
  ServerDomainMatcher g = server({rules("g", {"*"}, {"*.*.example.com"})});
  EXPECT_EQ(pick(g, kL, "a.b.example.com"), 0);
  EXPECT_EQ(pick(g, kL, "a.example.com"), -1);
}

TEST(DomainMatcher, CaseInsensitiveEverywhere) {
  ServerDomainMatcher m = server({rules("exact", {"*"}, {"Sip.Example.COM"}),
                                  rules("wild", {"*"}, {"*.Wild.Example.com"}),
                                  rules("glob", {"*"}, {"g?[A-C].example.net"})});
  EXPECT_EQ(pick(m, kL, "SIP.EXAMPLE.COM"), 0);
  EXPECT_EQ(pick(m, kL, "sip.example.com"), 0);
  EXPECT_EQ(pick(m, kL, "A.WILD.example.COM"), 1);
  EXPECT_EQ(pick(m, kL, "GXb.Example.Net"), 2);
  EXPECT_EQ(pick(m, kL, "gxd.example.net"), -1);
}

TEST(DomainMatcher, IPv6ListenerKeys) {
  ServerDomainMatcher m =
      server({rules("v6", {"[2001:db8::1]:5061"}, {"*"}), rules("v4", {"192.0.2.7:5061"}, {"*"}),
              rules("any", {"*"}, {"*"})});
  EXPECT_EQ(pick(m, "[2001:db8::1]:5061", "x.net"), 0);
  EXPECT_EQ(pick(m, "192.0.2.7:5061", "x.net"), 1);
  EXPECT_EQ(pick(m, "[2001:db8::2]:5061", "x.net"), 2);
  EXPECT_EQ(pick(m, "[2001:db8::1]:5062", "x.net"), 2);
}

TEST(DomainMatcher, ExactListenerKeyHidesStarDomains) {
  ServerDomainMatcher m =
      server({rules("star", {"*"}, {"*"}), rules("bound", {"10.0.0.1:5061"}, {"a.example.com"})});
  const ServerCandidates* bound = m.for_listener("10.0.0.1:5061");
  ASSERT_NE(bound, nullptr);
  EXPECT_EQ(bound->domains(), std::vector<int>{1});
  EXPECT_EQ(m.match(*bound, "a.example.com"), 1);
  EXPECT_EQ(m.match(*bound, "b.example.com"), -1);  // no fallback to the "*" domain
  EXPECT_EQ(m.match(*bound, ""), -1);
  const ServerCandidates* other = m.for_listener("10.0.0.2:5061");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->domains(), std::vector<int>{0});
  EXPECT_EQ(m.match(*other, "a.example.com"), 0);

  // Without "*"-address domains, an unlisted address has no candidates at all.
  ServerDomainMatcher only = server({rules("bound", {"10.0.0.1:5061"}, {"*"})});
  EXPECT_NE(only.for_listener("10.0.0.1:5061"), nullptr);
  EXPECT_EQ(only.for_listener("10.0.0.2:5061"), nullptr);
  EXPECT_EQ(only.for_listener(""), nullptr);
}

TEST(DomainMatcher, NoneMeansNoSniAndNotTheLiteralName) {
  ServerDomainMatcher m = server({rules("exact", {"*"}, {"example.com"}),
                                  rules("nosni", {"*"}, {"none"}), rules("any", {"*"}, {"*"})});
  EXPECT_EQ(pick(m, kL, ""), 1);
  EXPECT_EQ(pick(m, kL, "none"), 2);  // OpenSIPS would pick "nosni"; we do not
  EXPECT_EQ(pick(m, kL, "NONE"), 2);
  EXPECT_EQ(pick(m, kL, "example.com"), 0);

  ServerDomainMatcher no_star = server({rules("nosni", {"*"}, {"none"})});
  EXPECT_EQ(pick(no_star, kL, ""), 0);
  EXPECT_EQ(pick(no_star, kL, "none"), -1);
  EXPECT_EQ(pick(no_star, kL, "example.com"), -1);

  ServerDomainMatcher no_none = server({rules("any", {"*"}, {"*"})});
  EXPECT_EQ(pick(no_none, kL, ""), 0);

  // Globs never see a missing SNI, but do see a literal "none".
  ServerDomainMatcher globs = server({rules("n", {"*"}, {"n*"})});
  EXPECT_EQ(pick(globs, kL, ""), -1);
  EXPECT_EQ(pick(globs, kL, "none"), 0);
}

TEST(DomainMatcher, InitialDomainIsTheNoSniOneElseFirstCandidate) {
  ServerDomainMatcher m = server({rules("a", {kL}, {"a.example.com"}), rules("any", {kL}, {"*"}),
                                  rules("nosni", {kL}, {"none"})});
  EXPECT_EQ(m.initial(*m.for_listener(kL)), 2);
  ServerDomainMatcher star =
      server({rules("a", {kL}, {"a.example.com"}), rules("any", {kL}, {"*"})});
  EXPECT_EQ(star.initial(*star.for_listener(kL)), 1);
  ServerDomainMatcher names =
      server({rules("b", {"*"}, {"b.example.com"}), rules("a", {"*"}, {"a.example.com"})});
  EXPECT_EQ(names.initial(*names.for_listener(kL)), 0);
}

TEST(DomainMatcher, DuplicatePairsAreErrorsNamingBothDomains) {
  Result<ServerDomainMatcher> dup = ServerDomainMatcher::build(
      {rules("first", {"10.0.0.1:5061", "[2001:db8::1]:5061"},
             {"a.example.com", "sip.example.com"}),
       rules("second", {"[2001:db8::1]:5061"}, {"other.example.com", "SIP.Example.com"})});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.message(),
            "tls_mgm: server domains 'first' and 'second' both match address [2001:db8::1]:5061 "
            "with SIP domain 'sip.example.com': a connection could not tell them apart");

  Result<ServerDomainMatcher> stars =
      ServerDomainMatcher::build({rules("a", {"*"}, {"*"}), rules("b", {"*"}, {"*"})});
  ASSERT_FALSE(stars.ok());
  EXPECT_NE(stars.message().find("'a' and 'b' both match address * (any address) with SIP domain "
                                 "'*'"),
            std::string::npos);

  Result<ClientDomainMatcher> clients =
      ClientDomainMatcher::build({rules("x", {"*"}, {"none"}), rules("y", {"*"}, {"none"})});
  ASSERT_FALSE(clients.ok());
  EXPECT_NE(clients.message().find("client domains 'x' and 'y'"), std::string::npos);

  Result<ClientDomainMatcher> names =
      ClientDomainMatcher::build({rules("x", {"*"}, {"a"}), rules("x", {"*"}, {"b"})});
  ASSERT_FALSE(names.ok());
  EXPECT_NE(names.message().find("two client domains are named 'x'"), std::string::npos);

  // The same pattern on another address, "*" vs an exact address, and one domain repeating
  // itself are all fine.
  EXPECT_TRUE(
      ServerDomainMatcher::build(
          {rules("a", {"*"}, {"*"}), rules("b", {kL}, {"*"}), rules("c", {"10.0.0.2:5061"}, {"*"}),
           rules("d", {"10.0.0.3:5061", "10.0.0.3:5061"}, {"x.example.com", "X.example.com"})})
          .ok());
}

TEST(DomainMatcher, OverlongSniMatchesNothing) {
  ServerDomainMatcher m =
      server({rules("wild", {"*"}, {"*.example.com"}), rules("any", {"*"}, {"*"})});
  std::string longest(kMaxSniLength - std::string(".example.com").size(), 'a');
  longest += ".example.com";
  ASSERT_EQ(longest.size(), kMaxSniLength);
  EXPECT_EQ(pick(m, kL, longest), 0);
  EXPECT_EQ(pick(m, kL, "b" + longest), -1);  // 256 bytes: not even "*"
  EXPECT_EQ(pick(m, kL, std::string(kMaxSniLength, 'x')), 1);
  EXPECT_EQ(pick(m, kL, std::string(4096, 'x')), -1);
}

TEST(DomainMatcher, SeveralKeysAndSeveralPatternsPerDomain) {
  const char* k1 = "10.0.0.1:5061";
  const char* k2 = "[2001:db8::5]:5061";
  ServerDomainMatcher m = server(
      {rules("multi", {k1, k2}, {"a.example.com", "*.m.example.com", "none", "m?.example.net"}),
       rules("other", {k2}, {"b.example.com", "*.example.com"}), rules("fallback", {"*"}, {"*"})});
  EXPECT_EQ(m.for_listener(k1)->domains(), std::vector<int>{0});
  EXPECT_EQ(m.for_listener(k2)->domains(), (std::vector<int>{0, 1}));
  for (const char* k : {k1, k2}) {
    EXPECT_EQ(pick(m, k, "a.example.com"), 0) << k;
    EXPECT_EQ(pick(m, k, "x.y.m.example.com"), 0) << k;
    EXPECT_EQ(pick(m, k, "m1.example.net"), 0) << k;
    EXPECT_EQ(pick(m, k, ""), 0) << k;
    EXPECT_EQ(m.initial(*m.for_listener(k)), 0) << k;
  }
  EXPECT_EQ(pick(m, k1, "b.example.com"), -1);
  EXPECT_EQ(pick(m, k2, "b.example.com"), 1);
  EXPECT_EQ(pick(m, k2, "c.example.com"), 1);    // "other"'s wildcard
  EXPECT_EQ(pick(m, k2, "c.m.example.com"), 0);  // "multi"'s longer wildcard
  EXPECT_EQ(pick(m, "10.9.9.9:5061", "a.example.com"), 2);
}

TEST(DomainMatcher, CopiesStayValid) {
  std::vector<DomainMatchRules> domains = {rules("a", {kL}, {"a.example.com", "*.w.example.com"}),
                                           rules("b", {"*"}, {"none"})};
  ServerDomainMatcher copy = [&] {
    ServerDomainMatcher original = server(domains);
    return ServerDomainMatcher(original);  // the original dies here
  }();
  domains.clear();
  EXPECT_EQ(pick(copy, kL, "A.example.com"), 0);
  EXPECT_EQ(pick(copy, kL, "x.w.example.com"), 0);
  EXPECT_EQ(pick(copy, "10.0.0.2:5061", ""), 1);
}

TEST(DomainMatcher, ClientByName) {
  ClientDomainMatcher m = client({rules("peer", {"*"}, {"*"}), rules("Carrier", {kL}, {"none"})});
  EXPECT_EQ(m.by_name("peer"), 0);
  EXPECT_EQ(m.by_name("Carrier"), 1);
  EXPECT_EQ(m.by_name("carrier"), -1);  // names are case-sensitive
  EXPECT_EQ(m.by_name("missing"), -1);
  EXPECT_EQ(m.by_name(""), -1);
}

TEST(DomainMatcher, ClientByDestinationAndSipDomain) {
  const char* carrier = "[2001:db8::9]:5061";
  ClientDomainMatcher m =
      client({rules("carrier", {carrier}, {"sip.carrier.net", "*"}),
              rules("exact", {"*"}, {"sip.example.com"}), rules("wild", {"*"}, {"*.example.com"}),
              rules("glob", {"*"}, {"ex?mple.*"}), rules("nosip", {"*"}, {"none"}),
              rules("any", {"*"}, {"*"})});
  const char* other = "192.0.2.1:5061";
  EXPECT_EQ(m.match(other, "SIP.example.com"), 1);
  EXPECT_EQ(m.match(other, "a.b.example.com"), 2);
  EXPECT_EQ(m.match(other, "exAmple.org"), 3);
  EXPECT_EQ(m.match(other, "unknown.org"), 5);
  // No SIP domain given: only the "*" domain, as OpenSIPS with no client_sip_domain_avp.
  EXPECT_EQ(m.match(other, ""), 5);
  // "none" is server-side only: neither an empty nor a literal "none" SIP domain selects it.
  EXPECT_EQ(m.match(other, "none"), 5);
  // An exact destination key hides the "*"-address domains.
  EXPECT_EQ(m.match(carrier, "sip.carrier.net"), 0);
  EXPECT_EQ(m.match(carrier, "sip.example.com"), 0);  // its own "*", not domain 1
  EXPECT_EQ(m.match(carrier, ""), 0);

  ClientDomainMatcher strict =
      client({rules("only", {carrier}, {"sip.carrier.net"}), rules("nosip", {"*"}, {"none"})});
  EXPECT_EQ(strict.match(carrier, "sip.carrier.net"), 0);
  EXPECT_EQ(strict.match(carrier, ""), -1);
  EXPECT_EQ(strict.match(carrier, "other.net"), -1);
  EXPECT_EQ(strict.match(other, ""), -1);
  EXPECT_EQ(strict.match(other, "none"), -1);
  ClientDomainMatcher bound = client({rules("only", {carrier}, {"*"})});
  EXPECT_EQ(bound.match(other, "x.net"), -1);  // no candidates for that destination
  EXPECT_EQ(bound.match(carrier, std::string(kMaxSniLength + 1, 'x')), -1);
}

}  // namespace
}  // namespace sipsd
