#include "tests/integration/proxy_fixture.h"

#include <thread>

namespace sipsd::test {

using namespace std::chrono_literals;

const char* const kProxyRoute = R"cfg(
route {
  if (!mf_process_maxfwd_header(10)) { sl_send_reply(483, "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
    sl_send_reply(404, "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  t_check_trans();
  if (is_method("OPTIONS") && is_myself("$rd")) { sl_send_reply(200, "OK"); exit; }
  record_route();
  if ($hdr(X-Next) != NULL) { $du = $hdr(X-Next); t_on_failure("next"); }
  if (!t_relay()) sl_reply_error();
}

failure_route[next] {
  if (t_was_cancelled()) exit;
  if (t_check_status("408|5[0-9][0-9]") && $hdr(X-Second) != NULL) {
    $du = $hdr(X-Second);
    t_relay();
  }
}
)cfg";

SipsdOptions proxy_options() {
  SipsdOptions o;
  o.udp = true;
  o.udp_workers = 2;
  o.modparams = {"loadmodule \"tm.so\"",
                 "loadmodule \"rr.so\"",
                 "loadmodule \"maxfwd.so\"",
                 "modparam(\"tm\", \"fr_timeout\", 2)",
                 "modparam(\"tm\", \"fr_inv_timeout\", 3)",
                 "modparam(\"tm\", \"wt_timer\", 1)"};
  o.route = kProxyRoute;
  return o;
}

std::string sdp() {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio 4000 RTP/AVP 0\r\n";
}

int64_t server_stat(SipsdServer& srv, const std::string& name) {
  Json groups = Json::array();
  groups.push(name);
  Json params = Json::array();
  params.push(std::move(groups));
  auto r = srv.mi_result("get_statistics", params);
  if (!r.ok()) return -1;
  const Json* v = r->find(name);
  return v && v->is_int() ? v->as_int() : -1;
}

bool eventually_zero(SipsdServer& srv, const std::string& name, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (server_stat(srv, name) == 0) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

Result<std::unique_ptr<TestEndpoint>> endpoint(const SipsdServer& srv, const std::string& kind) {
  if (kind == "udp") return TestEndpoint::udp(srv);
  if (kind == "tcp") return TestEndpoint::tcp(srv);
  return TestEndpoint::tls(srv);
}

}  // namespace sipsd::test
