// The registrar functions of the route script: save(), lookup(), is_registered(), remove()
// (core/registrar/registrar.h does the work; this file feeds it the message and applies what it
// decided to the request: the reply, the R-URI, $du and the branches).
#include <time.h>

#include <algorithm>
#include <optional>

#include "core/base/ascii.h"
#include "core/base/log.h"
#include "core/shm/stats.h"
#include "core/sip/uri.h"
#include "core/worker/script_env.h"

namespace sipsd {

namespace {

int64_t now_s() {
  return static_cast<int64_t>(time(nullptr));
}

}  // namespace

int MessageEnv::registrar_call(FuncId id, std::span<const ScriptValue> args) {
  auto arg = [&](size_t i) {
    return i < args.size() && args[i].is_str() ? args[i].str() : std::string_view();
  };
  switch (id) {
    case FuncId::kSave:
      return registrar_save(arg(1), arg(2));
    case FuncId::kLookup:
      return registrar_lookup(arg(1), arg(2));
    case FuncId::kIsRegistered:
      return registrar_is_registered(arg(1));
    case FuncId::kRemove:
      return registrar_remove(arg(1), arg(2));
    case FuncId::kSerializeBranches:
      return serialize_branches();
    case FuncId::kNextBranches:
      return next_branches();
    default:
      return -1;
  }
}

// The R-URI and the appended branches, grouped by q (best first; equal q keeps their order, so
// they ring in parallel), for next_branches() to hand out one group at a time.
int MessageEnv::serialize_branches() {
  tm::RequestCtx* ctx = sc_.req;
  if (ctx == nullptr) return -1;
  if (ctx->branches.empty()) return 1;  // one destination: nothing to serialize
  std::vector<tm::BranchTarget> all;
  all.push_back(tm::BranchTarget{std::string(ctx->effective_ruri()), ctx->du, ctx->dst_conn_id,
                                 ctx->dst_conn_owner, ctx->dst_no_new_conn, ctx->dst_q,
                                 ctx->dst_path, ctx->forced_socket});
  for (tm::BranchTarget& b : ctx->branches) all.push_back(std::move(b));
  ctx->branches.clear();
  std::stable_sort(all.begin(), all.end(),
                   [](const tm::BranchTarget& a, const tm::BranchTarget& b) { return a.q > b.q; });
  auto& groups = ctx->kind == tm::RouteKind::kFailure && ctx->tx ? ctx->tx->serial : ctx->serial;
  groups.clear();
  for (tm::BranchTarget& t : all) {
    if (groups.empty() || groups.back().front().q != t.q) groups.emplace_back();
    groups.back().push_back(std::move(t));
  }
  return 1;
}

// The next group of serialize_branches(): its first target becomes the R-URI, the others
// branches. 1: more groups remain, 2: this was the last, -1: none left.
int MessageEnv::next_branches() {
  tm::RequestCtx* ctx = sc_.req;
  if (ctx == nullptr) return -1;
  auto& groups = ctx->kind == tm::RouteKind::kFailure && ctx->tx ? ctx->tx->serial : ctx->serial;
  if (groups.empty()) return -1;
  std::vector<tm::BranchTarget> group = std::move(groups.front());
  groups.erase(groups.begin());
  tm::BranchTarget& first = group.front();
  ctx->ruri = std::move(first.ruri);
  ctx->ruri_changed = true;
  ctx->du = std::move(first.du);
  ctx->dst_conn_id = first.conn_id;
  ctx->dst_conn_owner = first.conn_owner;
  ctx->dst_no_new_conn = first.no_new_conn;
  ctx->dst_q = first.q;
  ctx->dst_path = std::move(first.path);
  if (first.socket >= 0) ctx->forced_socket = first.socket;
  ctx->branches.assign(std::make_move_iterator(group.begin() + 1),
                       std::make_move_iterator(group.end()));
  return groups.empty() ? 2 : 1;
}

int MessageEnv::registrar_save(std::string_view flag_text, std::string_view aor) {
  reg::Registrar* r = sv_.registrar;
  const sip::Message* m = message();
  if (r == nullptr || m == nullptr || sc_.from == nullptr || sc_.req == nullptr) return -1;
  reg::SaveFlags flags;
  std::string why;
  if (!reg::parse_save_flags(flag_text, &flags, &why)) {
    LOG_ERR("registrar", "save(): %s", why.c_str());
    return -1;
  }
  const Inbound& in = *sc_.from;
  reg::SaveRequest q;
  q.req = m;
  q.src.proto = in.proto;
  q.src.src_ip = in.src_ip;
  q.src.src_port = in.src_port;
  q.src.conn_id = in.proto == Proto::kUdp ? 0 : in.conn_id;
  if (in.listener >= 0 && sv_.tm != nullptr) {
    const SocketAddr& s = sv_.tm->transport().sockets()[static_cast<size_t>(in.listener)];
    q.src.socket = std::string(proto_name(s.proto)) + ":" + s.ip + ":" + std::to_string(s.port);
  }
  q.msg_flags = sc_.req->flags;
  std::string received;
  if (sv_.received_avp_slot >= 0) {
    ScriptValue v = avps().get(sv_.received_avp_slot);
    if (v.is_str()) received.assign(v.str());
  }
  q.received = received;
  q.aor_uri = aor;
  q.now = now_s();
  reg::SaveResult res = r->save(q, flags);
  if (res.conn_bound && sv_.tm != nullptr)
    sv_.tm->transport().extend_lifetime(in.conn_id, (res.max_expires_left + 10) * 1000);
  if (!res.reply.empty() && sc_.sink != nullptr) {
    sc_.sink->send_reply(res.reply);
    stat_add(Stat::kSlSentReplies);
    if (res.code >= 300) stat_add(Stat::kSlSentErrReplies);
    stat_add(static_cast<Stat>(static_cast<int>(Stat::kSl1xx) + res.code / 100 - 1));
  }
  return res.rc;
}

// The index of the listener usrloc names "proto:ip:port" (as save() stored it), or -1.
int MessageEnv::listener_named(std::string_view socket) const {
  if (socket.empty() || sv_.tm == nullptr) return -1;
  const std::vector<SocketAddr>& all = sv_.tm->transport().sockets();
  for (size_t i = 0; i < all.size(); ++i) {
    const SocketAddr& s = all[i];
    if (socket == std::string(proto_name(s.proto)) + ":" + s.ip + ":" + std::to_string(s.port))
      return static_cast<int>(i);
  }
  return -1;
}

// The listener a binding was registered on, when its next hop (the $du lookup() gives it, else
// the Contact) uses that listener's transport; -1 otherwise (a Path or du over another transport:
// the usual choice of socket applies).
int MessageEnv::binding_socket(const reg::LookupTarget& t) const {
  const int socket = listener_named(t.socket);
  if (socket < 0) return -1;
  sip::Uri hop;
  if (!sip::parse_uri(t.du.empty() ? t.uri : t.du, &hop).ok()) return -1;
  std::string_view transport;
  std::optional<Proto> proto = hop.scheme == sip::UriScheme::kSips ? Proto::kTls : Proto::kUdp;
  if (hop.param("transport", &transport)) proto = proto_from_name(ascii_to_lower(transport));
  const SocketAddr& s = sv_.tm->transport().sockets()[static_cast<size_t>(socket)];
  return proto && *proto == s.proto ? socket : -1;
}

int MessageEnv::registrar_lookup(std::string_view flag_text, std::string_view aor_arg) {
  reg::Registrar* r = sv_.registrar;
  tm::RequestCtx* ctx = sc_.req;
  const sip::Message* m = message();
  if (r == nullptr || ctx == nullptr || m == nullptr) return -3;
  reg::LookupFlags flags;
  std::string why;
  if (!reg::parse_lookup_flags(flag_text, &flags, &why)) {
    LOG_ERR("registrar", "lookup(): %s", why.c_str());
    return -3;
  }
  std::string aor;
  std::string_view uri = aor_arg.empty() ? ctx->effective_ruri() : aor_arg;
  if (!reg::aor_of_uri(uri, r->config().use_domain, &aor)) return -1;
  Transport* t = sv_.tm != nullptr ? &sv_.tm->transport() : nullptr;
  reg::LookupResult res = r->lookup(
      aor, m->method_id(), m->method(), flags, now_s(),
      [t](Proto p, std::string_view ip, uint16_t port, uint32_t id) -> std::optional<int> {
        if (t == nullptr) return std::nullopt;
        return t->conn_owner(p, ip, port, id);
      });
  if (res.rc < 0) return res.rc;
  reg::LookupTarget& first = res.targets.front();
  ctx->ruri = first.uri;
  ctx->ruri_changed = true;
  ctx->du = first.du;
  ctx->dst_conn_id = first.conn_id;
  ctx->dst_conn_owner = first.conn_owner;
  ctx->dst_no_new_conn = first.no_new_conn;
  ctx->dst_q = first.q;
  ctx->dst_path = first.path;
  // As OpenSIPS: each branch leaves from the listener its binding was registered on (the R-URI
  // branch through the forced send socket), so its Via and Record-Route name the socket the
  // phone knows (and a request from another listener gets the double Record-Route).
  const int first_socket = binding_socket(first);
  if (first_socket >= 0) ctx->forced_socket = first_socket;
  ctx->branches.clear();
  for (size_t i = 1; i < res.targets.size(); ++i) {
    reg::LookupTarget& b = res.targets[i];
    const int socket = binding_socket(b);  // before b's strings move
    ctx->branches.push_back(tm::BranchTarget{std::move(b.uri), std::move(b.du), b.conn_id,
                                             b.conn_owner, b.no_new_conn, b.q, std::move(b.path),
                                             socket});
  }
  return 1;
}

int MessageEnv::registrar_is_registered(std::string_view aor_arg) {
  reg::Registrar* r = sv_.registrar;
  const sip::Message* m = message();
  if (r == nullptr || m == nullptr) return -1;
  std::string_view uri = aor_arg;
  if (uri.empty()) {
    const sip::NameAddr* na = m->method_id() == sip::Method::kRegister ? m->to() : m->from();
    if (na == nullptr) return -1;
    uri = na->uri;
  }
  std::string aor;
  if (!reg::aor_of_uri(uri, r->config().use_domain, &aor)) return -1;
  return r->is_registered(aor, now_s());
}

int MessageEnv::registrar_remove(std::string_view aor_arg, std::string_view contact) {
  reg::Registrar* r = sv_.registrar;
  if (r == nullptr) return -1;
  std::string aor;
  if (!reg::aor_of_uri(aor_arg, r->config().use_domain, &aor)) {
    // A bare AoR ("alice") is accepted as it is.
    if (aor_arg.empty() || aor_arg.find(':') != std::string_view::npos) return -1;
    aor.assign(aor_arg);
  }
  return r->remove(aor, contact);
}

}  // namespace sipsd
