// A typical OpenSIPS 3.x proxy script (a trusted-call example between two domains,
// without registrar and auth): what the route-script benchmark and the allocation test run
// besides etc/sipsd.cfg. It uses tm, rr, maxfwd and signaling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/cfg/script.h"

namespace sipsd::bench {

inline constexpr std::string_view kProxyCfg = R"(
loadmodule "proto_tcp.so"
loadmodule "proto_tls.so"
loadmodule "tls_mgm.so"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
socket = tls:127.0.0.1:5061

route {
    if (!mf_process_maxfwd_header(10)) { send_reply(483, "Too Many Hops"); exit; }
    route(site_vars);
    if (has_totag()) {
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!loose_route()) {
            if (!is_method("ACK")) send_reply(404, "Not here");
            exit;
        }
        route(relay);
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    t_check_trans();
    if (loose_route()) {
        if (!is_method("ACK")) send_reply(403, "Preloaded Route denied");
        exit;
    }
    remove_hf("Alert-Info");
    route(classify);
    if (!is_method("MESSAGE")) record_route();
    if ($rd != myself) {
        if ($rd == $var(peer_domain) && $var(local_caller) == 1) { route(to_peer); exit; }
        send_reply(403, "Relaying denied");
        exit;
    }
    if ($rU == NULL) { send_reply(484, "Address Incomplete"); exit; }
    route(to_local_user);
}

route[site_vars] {
    $var(trusted) = 0;
    $var(local_caller) = 0;
    $var(peer_domain) = "b.example";
    $var(peer_host) = "sip.b.example";
    $var(alert_info) = "Bellcore-dr2";
}

route[classify] {
    if ($fd == $var(peer_domain) && $socket_in(port) == 5062 && is_peer_verified()
        && ($tls_peer_san_hostname == $var(peer_host)
            || $tls_peer_subject_cn == $var(peer_host))) {
        $var(trusted) = 1;
        return;
    }
    if (is_myself("$fd")) {
        $var(trusted) = 1;
        $var(local_caller) = 1;
        return;
    }
    if (!is_myself("$rd")) { send_reply(403, "Relaying denied"); exit; }
}

route[to_local_user] {
    $avp(dest) = "sip:" + $rU + "@10.0.0.20:5061;transport=tls";
    $du = $avp(dest);
    if (is_method("INVITE")) {
        if ($var(trusted) == 1) append_hf("Alert-Info: $var(alert_info)\r\n");
        append_hf("X-Src: $si:$sp\r\n");
        t_on_failure("next_hop");
        t_on_reply("replies");
    }
    route(relay);
}

route[to_peer] {
    $du = "sip:" + $var(peer_host) + ":5062;transport=tls";
    route(relay);
}

route[relay] {
    if (!t_relay()) send_reply(500, "Could not relay");
    exit;
}

failure_route[next_hop] {
    if (t_was_cancelled()) exit;
    if (t_check_status("408|480|486|503")) {
        t_on_failure("next_hop");
        t_relay();
    }
}

onreply_route[replies] {
    if ($rs =~ "^18[03]$") xlog("L_INFO", "ringing $ci\n");
}
)";

// What kProxyCfg sees of an initial INVITE from a local phone to a local user (2001@example.com)
// over TLS: the functions answer as tm, rr and sipmsgops would for such a request. reset()
// before each run, as a worker does per message.
class ProxyEnv final : public ScriptEnv {
 public:
  std::string_view method = "INVITE";
  std::string_view ruri = "sip:2001@example.com";
  std::string_view call_id = "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49@192.0.2.10";
  int64_t relays = 0;
  int64_t replies = 0;

  void reset() {
    avps_.clear();
    du_set_ = false;
  }

  ScriptValue pv_get(const PvRef& ref) override {
    switch (ref.id) {
      case PvId::kRm:
        return ScriptValue::of(method);
      case PvId::kRu:
        return ScriptValue::of(ruri);
      case PvId::kRuUser:
        return ScriptValue::of(std::string_view("2001"));
      case PvId::kRuHost:
      case PvId::kFromHost:
        return ScriptValue::of(std::string_view("example.com"));
      case PvId::kSi:
        return ScriptValue::of(std::string_view("192.0.2.10"));
      case PvId::kSp:
        return ScriptValue::of(int64_t{50412});
      case PvId::kRcvPort:
        return ScriptValue::of(int64_t{5061});
      case PvId::kCi:
        return ScriptValue::of(call_id);
      case PvId::kDu:
        return du_set_ ? ScriptValue::of(std::string_view(du_)) : ScriptValue::null();
      default:
        return ScriptValue::null();  // $tls_*: a phone without a client certificate
    }
  }
  bool pv_set(const PvRef& ref, const ScriptValue& v) override {
    if (ref.id != PvId::kDu) return false;
    du_set_ = v.is_str();
    if (du_set_) du_.assign(v.str());
    return true;
  }
  int call(FuncId id, std::span<const ScriptValue> args) override {
    switch (id) {
      case FuncId::kHasTotag:
      case FuncId::kTCheckTrans:
      case FuncId::kLooseRoute:
        return -1;  // an initial request, no transaction yet, no Route header
      case FuncId::kIsMyself:
        return args[0].str() == "example.com" ? 1 : -1;
      case FuncId::kTRelay:
        ++relays;
        return 1;
      case FuncId::kSendReply:
        ++replies;
        return 1;
      default:
        return 1;
    }
  }
  void xlog(LogLevel, std::string_view) override {}
  AvpStore& avps() override { return avps_; }

 private:
  AvpStore avps_;
  bool du_set_ = false;
  std::string du_;
};

}  // namespace sipsd::bench
