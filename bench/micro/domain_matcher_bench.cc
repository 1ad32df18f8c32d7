// tls_mgm domain matching (tls_mgm/domain_matcher.h): the per-connection listener lookup and the
// per-handshake SNI lookup, with state.range(0) server domains.
//
// Domain i ("tenant<i>") lists match_ip_address "10.0.<i/256>.<i%256>:5061" and "*", and
// match_sip_domain "sip.tenant<i>.example.com" and "*.tenant<i>.example.net". The SNI lookups
// use the "*" listener's candidates (every domain); names rotate over kNames domains spread
// across the table, in mixed case, so the lookup lower-cases and hashes a fresh key each time.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tls_mgm/domain_matcher.h"
#include "tls_mgm/ip_key.h"

namespace sipsd::bench {
namespace {

constexpr size_t kNames = 64;  // a power of two: the rotation is a mask

std::string address_of(int i) {
  return "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
}

std::vector<DomainMatchRules> make_domains(int count) {
  std::vector<DomainMatchRules> domains;
  domains.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    std::string tenant = "tenant" + std::to_string(i);
    domains.push_back(
        DomainMatchRules{tenant,
                         {*ip_port_key(address_of(i), 5061), "*"},
                         {"sip." + tenant + ".example.com", "*." + tenant + ".example.net"}});
  }
  return domains;
}

// kNames names produced by make(i) for domains spread over [0, count).
template <class Make>
std::vector<std::string> rotation(int count, Make make) {
  std::vector<std::string> names;
  for (size_t k = 0; k < kNames; ++k)
    names.push_back(make(static_cast<int>((k * 7919) % static_cast<size_t>(count))));
  return names;
}

// The matcher for state.range(0) domains; nullopt + SkipWithError when it does not build.
std::optional<ServerDomainMatcher> build_matcher(benchmark::State& state) {
  Result<ServerDomainMatcher> m =
      ServerDomainMatcher::build(make_domains(static_cast<int>(state.range(0))));
  if (!m.ok()) {
    state.SkipWithError(m.message().c_str());
    return std::nullopt;
  }
  return std::move(m).value();
}

// SNI lookups of `names` on the "*" listener; every result must be a domain (or -1 when
// expect_match is false).
void run_sni(benchmark::State& state, const std::vector<std::string>& names, bool expect_match) {
  std::optional<ServerDomainMatcher> m = build_matcher(state);
  if (!m) return;
  const ServerCandidates* any = m->for_listener("192.0.2.1:5061");  // no exact key: "*"
  if (any == nullptr) {
    state.SkipWithError("no candidates for the \"*\" listener");
    return;
  }
  size_t i = 0;
  int64_t wrong = 0;
  for (auto _ : state) {
    int domain = m->match(*any, names[i++ & (kNames - 1)]);
    benchmark::DoNotOptimize(domain);
    wrong += (domain >= 0) != expect_match;
  }
  if (wrong != 0) state.SkipWithError("a lookup gave an unexpected result");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Sni_Exact(benchmark::State& state) {
  run_sni(state,
          rotation(static_cast<int>(state.range(0)),
                   [](int i) { return "SIP.Tenant" + std::to_string(i) + ".Example.com"; }),
          true);
}
BENCHMARK(BM_Sni_Exact)->ArgName("domains")->Arg(10)->Arg(1000);

// Matched by the "*.tenant<i>.example.net" suffix (two labels in front of it).
void BM_Sni_Wildcard(benchmark::State& state) {
  run_sni(
      state,
      rotation(static_cast<int>(state.range(0)),
               [](int i) { return "Phone42.Site3.Tenant" + std::to_string(i) + ".example.NET"; }),
      true);
}
BENCHMARK(BM_Sni_Wildcard)->ArgName("domains")->Arg(10)->Arg(1000);

// Neither an exact name nor a suffix: the lookup walks every suffix and gives up.
void BM_Sni_NoMatch(benchmark::State& state) {
  run_sni(
      state,
      rotation(static_cast<int>(state.range(0)),
               [](int i) { return "sip.tenant" + std::to_string(i) + ".unknown-operator.org"; }),
      false);
}
BENCHMARK(BM_Sni_NoMatch)->ArgName("domains")->Arg(10)->Arg(1000);

// The listener lookup made once per accepted connection: the local address's canonical key
// (exact match_ip_address entries).
void BM_Address_ForListener(benchmark::State& state) {
  std::optional<ServerDomainMatcher> m = build_matcher(state);
  if (!m) return;
  std::vector<std::string> keys = rotation(static_cast<int>(state.range(0)),
                                           [](int i) { return *ip_port_key(address_of(i), 5061); });
  size_t i = 0;
  int64_t missing = 0;
  for (auto _ : state) {
    const ServerCandidates* c = m->for_listener(keys[i++ & (kNames - 1)]);
    benchmark::DoNotOptimize(c);
    missing += c == nullptr;
  }
  if (missing != 0) state.SkipWithError("a listener key found no candidates");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Address_ForListener)->ArgName("domains")->Arg(10)->Arg(1000);

// As above, computing the key from the numeric address first, as an accept does (it builds a
// std::string).
void BM_Address_KeyAndForListener(benchmark::State& state) {
  std::optional<ServerDomainMatcher> m = build_matcher(state);
  if (!m) return;
  std::vector<std::string> ips =
      rotation(static_cast<int>(state.range(0)), [](int i) { return address_of(i); });
  size_t i = 0;
  int64_t missing = 0;
  for (auto _ : state) {
    std::optional<std::string> key = ip_port_key(ips[i++ & (kNames - 1)], 5061);
    const ServerCandidates* c = key ? m->for_listener(*key) : nullptr;
    benchmark::DoNotOptimize(c);
    missing += c == nullptr;
  }
  if (missing != 0) state.SkipWithError("a listener key found no candidates");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Address_KeyAndForListener)->ArgName("domains")->Arg(10)->Arg(1000);

}  // namespace
}  // namespace sipsd::bench
