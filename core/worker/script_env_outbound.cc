// path's add_path() / add_path_received(), record_route(), and the edge proxy's half of RFC 5626
// outbound: a phone that registers or calls with outbound (a reg-id Contact; a Contact URI with
// ;ob) straight to us gets a flow token in the user part of our Path or Record-Route URI, and
// loose_route() sends the requests that come back with that Route on the very flow the token
// names (core/tm/flow_token.h), or fails them with 430 when it is gone.
#include <optional>

#include "core/base/log.h"
#include "core/base/printable.h"
#include "core/base/sockaddr_text.h"
#include "core/shm/stats.h"
#include "core/sip/header_cursor.h"
#include "core/sip/name_addr.h"
#include "core/sip/uri.h"
#include "core/tm/flow_token.h"
#include "core/worker/script_env.h"

namespace sipsd {

namespace {

// Exactly one Via: the phone sent the request to us itself (RFC 5626's "first hop").
bool single_via(const sip::Message& m) {
  sip::ViaCursor cur(m);
  sip::Via v;
  int n = 0;
  while (cur.next(&v))
    if (++n > 1) return false;
  return n == 1 && !cur.failed();
}

// What a SIP URI's user part may hold as written: the URI parser's own answer.
bool valid_uri_user(std::string_view user) {
  if (user.empty()) return true;
  sip::Uri u;
  const std::string uri = "sip:" + std::string(user) + "@h";
  return sip::parse_uri(uri, &u).ok() && u.user == user;
}

}  // namespace

std::string MessageEnv::first_hop_flow_token(bool registering) const {
  if (sv_.flow_token_key.empty() || sc_.from == nullptr || sc_.req == nullptr ||
      sc_.req->msg == nullptr)
    return {};
  const sip::Message& m = *sc_.req->msg;
  if (!single_via(m)) return {};
  bool outbound = false;
  sip::NameAddrCursor cur(m, sip::HeaderType::kContact);
  sip::NameAddr na;
  while (!outbound && cur.next(&na)) {
    if (registering) {
      outbound = na.param("reg-id");
    } else {
      sip::Uri u;
      outbound = sip::parse_uri(na.uri, &u).ok() && u.param("ob");
    }
  }
  if (!outbound) return {};
  const Inbound& in = *sc_.from;
  tm::Flow flow;
  flow.proto = in.proto;
  flow.ip = std::string(in.src_ip);
  flow.port = in.src_port;
  flow.listener = in.listener;
  flow.conn_id = in.conn_id;
  return tm::encode_flow_token(sv_.flow_token_key, flow);
}

int MessageEnv::add_path(std::string_view user, bool received) {
  tm::RequestCtx* ctx = sc_.req;
  if (ctx == nullptr || ctx->msg == nullptr) return -1;
  if (!valid_uri_user(user)) {
    LOG_ERR("path", "%s(): '%s' is not a SIP URI user part",
            received ? "add_path_received" : "add_path", printable(user).c_str());
    return -1;
  }
  // RFC 5626 §5.1: an outbound REGISTER at its first hop gets our flow token (in place of the
  // script's user part) and ;ob, which tells the registrar that outbound works through us.
  std::string token = first_hop_flow_token(ctx->msg->method_id() == sip::Method::kRegister);
  ctx->path.enabled = true;
  ctx->path.received = received;
  ctx->path.ob = !token.empty();
  ctx->path.user = token.empty() ? std::string(user) : std::move(token);
  if (ctx->tx != nullptr) ctx->tx->path = ctx->path;
  return 1;
}

int MessageEnv::record_route(std::string_view params) {
  tm::RequestCtx* ctx = sc_.req;
  if (ctx == nullptr) return -1;
  ctx->rr.enabled = true;
  ctx->rr.preset = false;
  ctx->rr.params.append(params);
  // RFC 5626 §5.3: a dialog-forming request from an outbound phone at its first hop: the
  // dialog's requests towards the phone come back on its flow.
  if (ctx->msg != nullptr && !ctx->msg->has_to_tag())
    if (std::string token = first_hop_flow_token(false); !token.empty())
      ctx->rr.user = std::move(token);
  if (ctx->tx != nullptr) ctx->tx->rr = ctx->rr;
  return 1;
}

int MessageEnv::route_by_flow_token(std::string_view user, int rc) {
  if (sv_.flow_token_key.empty() || sc_.req == nullptr) return rc;
  tm::RequestCtx& ctx = *sc_.req;
  const std::string_view peer = sc_.from ? sc_.from->label : std::string_view();
  tm::Flow flow;
  switch (tm::decode_flow_token(sv_.flow_token_key, user, &flow)) {
    case tm::FlowTokenStatus::kNotAToken:
      return rc;
    case tm::FlowTokenStatus::kForged:
      // Altered, made up, or written by an earlier run of this server (the key is per run).
      stat_add(Stat::kOutboundBadTokens);
      LOG_NOTICE("rr", "%.*s: loose_route(): the flow token in our Route fails its check: '%s'",
                 static_cast<int>(peer.size()), peer.data(), printable(user).c_str());
      return -2;
    case tm::FlowTokenStatus::kOk:
      break;
  }
  // From the phone itself (its in-dialog requests carry the same Route): on to the rest of the
  // route set.
  if (const Inbound* in = sc_.from; in != nullptr && in->proto == flow.proto &&
                                    in->src_ip == flow.ip && in->src_port == flow.port &&
                                    in->conn_id == flow.conn_id)
    return rc;
  ctx.du = "sip:" + ip_port_text(flow.ip, flow.port) + ";transport=" + proto_name(flow.proto);
  ctx.dst_flow = true;
  if (sv_.tm != nullptr) {
    const std::vector<SocketAddr>& sockets = sv_.tm->transport().sockets();
    if (flow.listener >= 0 && static_cast<size_t>(flow.listener) < sockets.size() &&
        sockets[static_cast<size_t>(flow.listener)].proto == flow.proto)
      ctx.forced_socket = flow.listener;
    if (is_stream(flow.proto)) {
      // That connection and no other; an owner of 0 (it is gone) fails the branch with 430.
      std::optional<int> owner =
          sv_.tm->transport().conn_owner(flow.proto, flow.ip, flow.port, flow.conn_id);
      ctx.dst_conn_id = flow.conn_id;
      ctx.dst_conn_owner = owner.value_or(0);
      ctx.dst_no_new_conn = true;
    }
  }
  return 2;
}

}  // namespace sipsd
