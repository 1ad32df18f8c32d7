// What the proxy integration tests share: the cfg an OpenSIPS admin writes for a
// record-routing proxy, endpoints of each transport, an SDP body, and MI counters.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/base/result.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_endpoint.h"

namespace sipsd::test {

// The route script of the proxy tests (OpenSIPS 3.x tm and rr): maxfwd,
// in-dialog requests by loose_route, CANCEL and retransmissions through tm, OPTIONS to the
// server answered, record_route + t_relay for the rest. A request with an `X-Next: <uri>` header
// goes there ($du), and one that then fails with 408 or 5xx is sent on to `X-Second: <uri>`
// from the failure_route (serial forking).
extern const char* const kProxyRoute;

// udp + tcp + tls listeners, tm/rr/maxfwd loaded, short timers (fr_timeout 2 s,
// fr_inv_timeout 3 s, wt_timer 1 s), kProxyRoute.
SipsdOptions proxy_options();

// "udp", "tcp" or "tls".
Result<std::unique_ptr<TestEndpoint>> endpoint(const SipsdServer& srv, const std::string& kind);

std::string sdp();

// A statistic by its full name ("tm:inuse_transactions"); -1 when MI does not answer it.
int64_t server_stat(SipsdServer& srv, const std::string& name);
// Polls until the statistic reads 0, or `limit` passes.
bool eventually_zero(SipsdServer& srv, const std::string& name, std::chrono::seconds limit);

}  // namespace sipsd::test
