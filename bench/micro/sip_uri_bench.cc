// URI and address parsing (core/sip/uri.h, name_addr.h, header_cursor.h): what routing does to a
// Request-URI, a Contact and a Route set. The input is already in memory; nothing allocates.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/micro/sample_messages.h"
#include "core/sip/header_cursor.h"
#include "core/sip/message.h"
#include "core/sip/name_addr.h"
#include "core/sip/uri.h"

namespace sipsd::bench {
namespace {

void BM_UriParse(benchmark::State& state, std::string_view text) {
  sip::Uri u;
  for (auto _ : state) {
    sip::UriResult r = sip::parse_uri(text, &u);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(u.host.data());
    if (!r.ok()) {
      state.SkipWithError(r.reason);
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(std::to_string(text.size()) + " B");
}
BENCHMARK_CAPTURE(BM_UriParse, RequestUri, std::string_view("sip:2001@example.com"));
BENCHMARK_CAPTURE(BM_UriParse, Contact,
                  std::string_view("sip:1042@192.0.2.10:50412;transport=tls;ob"));
BENCHMARK_CAPTURE(BM_UriParse, RecordRoute,
                  std::string_view("sip:192.0.2.10:5062;transport=tls;r2=on;lr;ftag=3a9d7c11"));
BENCHMARK_CAPTURE(BM_UriParse, Ipv6, std::string_view("sip:alice@[2001:db8::10]:5061;lr"));
BENCHMARK_CAPTURE(BM_UriParse, Tel, std::string_view("tel:+1-212-555-1212;phone-context=x"));

// parse_uri then the lookups loose_route makes on a Route URI.
void BM_UriParamLookup(benchmark::State& state) {
  const std::string_view text = "sip:192.0.2.10:5062;transport=tls;r2=on;lr;ftag=3a9d7c11";
  sip::Uri u;
  for (auto _ : state) {
    sip::parse_uri(text, &u);
    std::string_view v;
    benchmark::DoNotOptimize(u.param("lr"));
    benchmark::DoNotOptimize(u.param("r2", &v));
    benchmark::DoNotOptimize(u.param("transport", &v));
    benchmark::DoNotOptimize(u.param("maddr"));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_UriParamLookup);

void BM_NameAddrParse(benchmark::State& state, std::string_view text, sip::AddrForm form) {
  sip::NameAddr na;
  for (auto _ : state) {
    const bool ok = sip::parse_name_addr(text, form, &na);
    benchmark::DoNotOptimize(na.uri.data());
    if (!ok) {
      state.SkipWithError("does not parse");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_NameAddrParse, From,
                  std::string_view("\"Desk 1042\" <sip:1042@example.com>;tag=3a9d7c11"),
                  sip::AddrForm::kFromTo);
BENCHMARK_CAPTURE(BM_NameAddrParse, Contact,
                  std::string_view("<sip:1042@192.0.2.10:50412;transport=tls;ob>;reg-id=1;"
                                   "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-"
                                   "001122334455>\";expires=600;q=0.8"),
                  sip::AddrForm::kContact);

// Every Route value of a parsed request (three values over two headers), URIs parsed.
void BM_RouteSetWalk(benchmark::State& state) {
  std::string wire(kInvite);
  const std::string routes =
      "Route: <sip:p1.example.org;lr>, <sip:p2.example.org;lr;transport=tls>\r\n"
      "Route: <sip:192.0.2.30:5061;transport=tls;lr>\r\n";
  wire.insert(wire.find("\r\n") + 2, routes);
  sip::Message msg;
  if (sip::parse_message(wire.data(), wire.size(), &msg).status != sip::ParseStatus::kOk) {
    state.SkipWithError("the INVITE does not parse");
    return;
  }
  for (auto _ : state) {
    sip::NameAddr na;
    sip::Uri u;
    size_t n = 0;
    for (sip::NameAddrCursor c(msg, sip::HeaderType::kRoute); c.next(&na);) {
      n += sip::parse_uri(na.uri, &u).ok() && u.param("lr");
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RouteSetWalk);

}  // namespace
}  // namespace sipsd::bench
