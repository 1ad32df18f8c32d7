#include "core/worker/script_env.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "core/base/ascii.h"
#include "core/base/printable.h"
#include "core/base/transport.h"
#include "core/cfg/schema.h"
#include "core/cfg/script_regex.h"
#include "core/shm/stats.h"
#include "core/sip/header_cursor.h"
#include "core/sip/reply_builder.h"
#include "core/sip/sl_reply.h"
#include "core/sip/uri.h"
#include "core/tm/loose_route.h"

namespace sipsd {

namespace {

ScriptValue non_empty(std::string_view v) {
  return v.empty() ? ScriptValue::null() : ScriptValue::of(v);
}

ScriptValue of(std::optional<std::string_view> v) {
  return v ? ScriptValue::of(*v) : ScriptValue::null();
}

bool same_header(const sip::Header& h, sip::HeaderType type, std::string_view name) {
  return type != sip::HeaderType::kOther ? h.type == type : ascii_iequals(h.name, name);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

// ---- the message ------------------------------------------------------------------------------

const sip::Message* MessageEnv::message() const {
  if (sc_.kind == tm::RouteKind::kOnReply) return sc_.reply;
  return sc_.req ? sc_.req->msg : nullptr;
}

sip::MessageEditor* MessageEnv::editor() {
  if (sc_.kind == tm::RouteKind::kOnReply) return sc_.reply_edits;
  return sc_.req ? sc_.req->edits : nullptr;
}

tm::Transaction* MessageEnv::transaction() const {
  if (sc_.kind == tm::RouteKind::kOnReply) return sc_.tx;
  return sc_.req ? sc_.req->tx : nullptr;
}

AvpStore& MessageEnv::avps() {
  if (tm::Transaction* tx = transaction()) return tx->avps;
  if (sc_.req != nullptr && sc_.req->avps != nullptr) return *sc_.req->avps;
  return *sv_.message_avps;
}

// ---- variables --------------------------------------------------------------------------------

ScriptValue MessageEnv::header(std::string_view name, int index) const {
  const sip::Message* m = message();
  if (m == nullptr) return ScriptValue::null();
  const sip::HeaderType type = sip::classify_header(name);
  const auto& hs = m->headers();
  if (index >= 0) {
    for (const sip::Header& h : hs)
      if (same_header(h, type, name) && index-- == 0) return ScriptValue::of(h.value);
  } else {
    for (size_t i = hs.size(); i-- > 0;)
      if (same_header(hs[i], type, name) && ++index == 0) return ScriptValue::of(hs[i].value);
  }
  return ScriptValue::null();
}

ScriptValue MessageEnv::ruri_part(PvId id) {
  if (sc_.req == nullptr || sc_.kind == tm::RouteKind::kOnReply) return ScriptValue::null();
  std::string_view ruri = sc_.req->effective_ruri();
  if (id == PvId::kRu) return non_empty(ruri);
  scratch_.assign(ruri);
  sip::Uri u;
  if (!sip::parse_uri(scratch_, &u).ok()) return ScriptValue::null();
  switch (id) {
    case PvId::kRuUser:
      return non_empty(u.user);
    case PvId::kRuHost:
      return non_empty(u.host);
    case PvId::kRuPort:
      return u.port != 0 ? ScriptValue::of(static_cast<int64_t>(u.port)) : ScriptValue::null();
    case PvId::kRuProto: {
      std::string_view t;
      if (u.param("transport", &t)) return ScriptValue::of(t);
      return ScriptValue::null();
    }
    default:
      return ScriptValue::null();
  }
}

bool MessageEnv::set_ruri_part(PvId id, const ScriptValue& v) {
  if (sc_.req == nullptr) return false;
  tm::RequestCtx& ctx = *sc_.req;
  if (id == PvId::kRu) {
    if (!v.is_str() || v.str().empty()) {
      LOG_ERR("script", "$ru: a URI is expected, not %s", v.is_null() ? "NULL" : "a number");
      return false;
    }
    sip::Uri check;
    std::string text(v.str());
    if (!sip::parse_uri(text, &check).ok()) {
      LOG_ERR("script", "$ru: '%s' is not a SIP URI", printable(text).c_str());
      return false;
    }
    ctx.ruri = std::move(text);
    ctx.ruri_changed = true;
    return true;
  }
  std::string current(ctx.effective_ruri());
  sip::Uri u;
  if (!sip::parse_uri(current, &u).ok()) return false;
  std::string value;
  if (v.is_int()) {
    value = std::to_string(v.int_value());
  } else if (v.is_str()) {
    value.assign(v.str());
  }
  switch (id) {
    case PvId::kRuUser:
      u.user = value;
      break;
    case PvId::kRuHost:
      if (value.empty()) return false;
      u.host = value;
      u.host_is_ipv6 = value.find(':') != std::string::npos;
      if (u.host_is_ipv6 && value.front() == '[') {
        value = value.substr(1, value.size() - 2);
        u.host = value;
      }
      break;
    case PvId::kRuPort: {
      int64_t p = 0;
      if (v.is_null() || value.empty()) {
        u.port = 0;
      } else if (!v.to_int(&p) || p < 1 || p > 65535) {
        LOG_ERR("script", "$rp: bad port '%s'", value.c_str());
        return false;
      } else {
        u.port = static_cast<uint16_t>(p);
      }
      break;
    }
    default:
      return false;
  }
  std::string out;
  if (!sip::append_uri(u, &out)) {
    LOG_ERR("script", "the new Request-URI would not be valid");
    return false;
  }
  ctx.ruri = std::move(out);
  ctx.ruri_changed = true;
  return true;
}

ScriptValue MessageEnv::addr_part(PvId id) {
  const sip::Message* m = message();
  if (m == nullptr) return ScriptValue::null();
  const bool from = id == PvId::kFromUri || id == PvId::kFromUser || id == PvId::kFromHost ||
                    id == PvId::kFromTag;
  const sip::NameAddr* na = from ? m->from() : m->to();
  if (na == nullptr) return ScriptValue::null();
  if (id == PvId::kFromTag || id == PvId::kToTag)
    return na->has_tag ? ScriptValue::of(na->tag) : ScriptValue::null();
  if (id == PvId::kFromUri || id == PvId::kToUri) return non_empty(na->uri);
  sip::Uri u;
  if (!sip::parse_uri(na->uri, &u).ok()) return ScriptValue::null();
  return non_empty(id == PvId::kFromUser || id == PvId::kToUser ? u.user : u.host);
}

ScriptValue MessageEnv::pv_get(const PvRef& ref) {
  if (is_tls_pv(ref.id)) {
    if (sc_.from == nullptr || sv_.tls_pvs == nullptr) return ScriptValue::null();
    if (!tls_ready_) {  // computed only for messages whose script looks at TLS
      sv_.tls_pvs->reset(sc_.from->tls);
      tls_ready_ = true;
    }
    return of(sv_.tls_pvs->get(ref.id));
  }
  const sip::Message* m = message();
  tm::Transaction* tx = transaction();
  switch (ref.id) {
    case PvId::kRm:
      if (m == nullptr) return ScriptValue::null();
      return ScriptValue::of(m->is_request() ? m->method() : m->cseq_method());
    case PvId::kRu:
    case PvId::kRuUser:
    case PvId::kRuHost:
    case PvId::kRuPort:
    case PvId::kRuProto:
      return ruri_part(ref.id);
    case PvId::kDu:
      if (sc_.req == nullptr || sc_.req->du.empty()) return ScriptValue::null();
      return ScriptValue::of(std::string_view(sc_.req->du));
    case PvId::kFromUri:
    case PvId::kFromUser:
    case PvId::kFromHost:
    case PvId::kFromTag:
    case PvId::kToUri:
    case PvId::kToUser:
    case PvId::kToHost:
    case PvId::kToTag:
      return addr_part(ref.id);
    case PvId::kSi:
      if (sc_.from != nullptr) return ScriptValue::of(sc_.from->src_ip);
      if (tx != nullptr) return ScriptValue::of(std::string_view(tx->up.ip));
      return ScriptValue::null();
    case PvId::kSp:
      if (sc_.from != nullptr) return ScriptValue::of(static_cast<int64_t>(sc_.from->src_port));
      if (tx != nullptr) return ScriptValue::of(static_cast<int64_t>(tx->up.port));
      return ScriptValue::null();
    case PvId::kProto:
      if (sc_.from != nullptr)
        return ScriptValue::of(std::string_view(proto_name(sc_.from->proto)));
      if (tx != nullptr) return ScriptValue::of(std::string_view(proto_name(tx->up.proto)));
      return ScriptValue::null();
    case PvId::kSocketIn:
    case PvId::kRcvIp:
    case PvId::kRcvPort: {
      int listener = sc_.from ? sc_.from->listener : (tx ? tx->up.listener : -1);
      if (listener < 0 || sv_.tm == nullptr) return ScriptValue::null();
      const SocketAddr& s = sv_.tm->transport().sockets()[static_cast<size_t>(listener)];
      if (ref.id == PvId::kRcvIp || ref.name == "ip")
        return ScriptValue::of(std::string_view(s.ip));
      if (ref.id == PvId::kRcvPort || ref.name == "port")
        return ScriptValue::of(static_cast<int64_t>(s.port));
      if (ref.name == "proto") return ScriptValue::of(std::string_view(proto_name(s.proto)));
      scratch_ = std::string(proto_name(s.proto)) + ":" + s.ip + ":" + std::to_string(s.port);
      return ScriptValue::of(std::string_view(scratch_));
    }
    case PvId::kSocketOut: {
      int forced = sc_.req != nullptr ? sc_.req->forced_socket : (tx ? tx->forced_socket : -1);
      if (forced < 0 || sv_.tm == nullptr) return ScriptValue::null();
      const SocketAddr& s = sv_.tm->transport().sockets()[static_cast<size_t>(forced)];
      if (ref.name == "ip") return ScriptValue::of(std::string_view(s.ip));
      if (ref.name == "port") return ScriptValue::of(static_cast<int64_t>(s.port));
      if (ref.name == "proto") return ScriptValue::of(std::string_view(proto_name(s.proto)));
      scratch_ = std::string(proto_name(s.proto)) + ":" + s.ip + ":" + std::to_string(s.port);
      return ScriptValue::of(std::string_view(scratch_));
    }
    case PvId::kCi:
      return m ? non_empty(m->call_id()) : ScriptValue::null();
    case PvId::kUa:
      return m ? non_empty(m->user_agent()) : ScriptValue::null();
    case PvId::kCseq:
      return m ? ScriptValue::of(static_cast<int64_t>(m->cseq_number())) : ScriptValue::null();
    case PvId::kReplyStatus:
      if (m == nullptr || m->is_request()) return ScriptValue::null();
      return ScriptValue::of(static_cast<int64_t>(m->status_code()));
    case PvId::kReplyReason:
      if (m == nullptr || m->is_request()) return ScriptValue::null();
      return ScriptValue::of(m->reason());
    case PvId::kHdr:
      return header(ref.name, ref.index);
    case PvId::kAuthUser:
    case PvId::kAuthDomain:
    case PvId::kAuthUsername:
    case PvId::kAuthRealm:
      return auth_pv(ref.id);
    case PvId::kTReplyCode: {
      if (sc_.kind == tm::RouteKind::kOnReply && m != nullptr)
        return ScriptValue::of(static_cast<int64_t>(m->status_code()));
      if (tx == nullptr) return ScriptValue::of(int64_t{0});
      if (sc_.kind == tm::RouteKind::kFailure && tx->winner >= 0)
        return ScriptValue::of(
            static_cast<int64_t>(tx->branches[static_cast<size_t>(tx->winner)]->last_code));
      return ScriptValue::of(static_cast<int64_t>(tx->reply_code));
    }
    case PvId::kTBranchIdx: {
      if (sc_.branch != nullptr) return ScriptValue::of(static_cast<int64_t>(sc_.branch->index));
      if (sc_.req != nullptr && sc_.req->branch >= 0)
        return ScriptValue::of(static_cast<int64_t>(sc_.req->branch));
      return ScriptValue::of(int64_t{0});
    }
    // OpenSIPS core variables (issue 12).
    case PvId::kBody:
      return m ? non_empty(m->body()) : ScriptValue::null();
    case PvId::kContentLength:
      return m ? ScriptValue::of(static_cast<int64_t>(m->body().size())) : ScriptValue::null();
    case PvId::kTimestamp:
      return ScriptValue::of(static_cast<int64_t>(time(nullptr)));
    case PvId::kPid:
      return ScriptValue::of(static_cast<int64_t>(getpid()));
    case PvId::kTime: {
      time_t now = time(nullptr);
      struct tm tm;
      localtime_r(&now, &tm);
      char buf[256];
      // The format is the cfg's ($time(fmt)), checked only by strftime itself.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      size_t n = strftime(buf, sizeof buf, std::string(ref.name).c_str(), &tm);
#pragma GCC diagnostic pop
      scratch_.assign(buf, n);
      return ScriptValue::of(std::string_view(scratch_));
    }
    default:
      return ScriptValue::null();
  }
}

bool MessageEnv::pv_set(const PvRef& ref, const ScriptValue& v) {
  switch (ref.id) {
    case PvId::kRu:
    case PvId::kRuUser:
    case PvId::kRuHost:
    case PvId::kRuPort:
      return set_ruri_part(ref.id, v);
    case PvId::kDu:
      if (sc_.req == nullptr) return false;
      if (v.is_null() || (v.is_str() && v.str().empty())) {
        sc_.req->du.clear();
        return true;
      }
      if (!v.is_str()) return false;
      {
        std::string text(v.str());
        sip::Uri check;
        if (!sip::parse_uri(text, &check).ok()) {
          LOG_ERR("script", "$du: '%s' is not a SIP URI", printable(text).c_str());
          return false;
        }
        sc_.req->du = std::move(text);
      }
      return true;
    case PvId::kSocketOut: {
      tm::RequestCtx* ctx = sc_.req;
      if (ctx == nullptr || !ref.name.empty()) return false;
      int socket = -1;
      if (!v.is_null()) {
        if (!v.is_str()) return false;
        socket = listener_matching(v.str());
        if (socket < 0) {
          LOG_ERR("script", "$socket_out = \"%s\": no such listening socket",
                  printable(v.str()).c_str());
          return false;
        }
      }
      ctx->forced_socket = socket;
      if (ctx->tx != nullptr) ctx->tx->forced_socket = socket;
      return true;
    }
    default:
      LOG_ERR("script", "this variable cannot be assigned");
      return false;
  }
}

// ---- functions --------------------------------------------------------------------------------

int MessageEnv::do_accounting(std::string_view types, std::string_view flags) {
  if (sc_.req == nullptr) return -1;
  uint8_t bits = 0;
  while (!types.empty()) {  // "log", "db", "log|db" (checked at load)
    std::string_view t = types.substr(0, types.find('|'));
    bits |= ascii_iequals(t, "db") ? tm::kAccDb : tm::kAccLog;
    types.remove_prefix(std::min(types.size(), t.size() + 1));
  }
  while (!flags.empty()) {
    size_t bar = flags.find('|');
    std::string_view f = trim(flags.substr(0, bar));
    flags = bar == std::string_view::npos ? std::string_view() : flags.substr(bar + 1);
    if (ascii_iequals(f, "missed")) {
      bits |= tm::kAccMissed;
    } else if (ascii_iequals(f, "failed")) {
      bits |= tm::kAccFailed;
    } else if (ascii_iequals(f, "cdr")) {
      LOG_ERR("acc",
              "do_accounting: \"cdr\" needs OpenSIPS's dialog module, which sipsd does "
              "not support");
      return -1;
    } else if (!f.empty()) {
      LOG_ERR("acc", "do_accounting: unknown flag '%.*s' (missed, failed)",
              static_cast<int>(f.size()), f.data());
      return -1;
    }
  }
  sc_.req->acc |= bits;
  if (sc_.req->tx != nullptr) sc_.req->tx->acc |= bits;
  return 1;
}

int MessageEnv::rewrite_ruri_user(FuncId id, const ScriptValue& arg) {
  if (sc_.req == nullptr) return -1;
  ScriptValue cur = ruri_part(PvId::kRuUser);
  std::string user(cur.is_str() ? cur.str() : std::string_view());
  std::string value;
  if (arg.is_int()) {
    value = std::to_string(arg.int_value());
  } else if (arg.is_str()) {
    value.assign(arg.str());
  }
  if (id == FuncId::kStrip) {
    int64_t n = 0;
    arg.to_int(&n);
    user.erase(0, std::min<size_t>(user.size(), static_cast<size_t>(std::max<int64_t>(n, 0))));
  } else if (id == FuncId::kPrefix) {
    user.insert(0, value);
  } else {
    user = value;
  }
  return set_ruri_part(PvId::kRuUser, ScriptValue::of(std::string_view(user))) ? 1 : -1;
}

int MessageEnv::rewrite_ruri_hostport(std::string_view hostport) {
  if (sc_.req == nullptr || hostport.empty()) return -1;
  std::string_view host = hostport, port;
  if (hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return -1;
    host = hostport.substr(0, close + 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return -1;
      port = hostport.substr(close + 2);
    }
  } else if (size_t colon = hostport.find(':');
             colon != std::string_view::npos &&
             hostport.find(':', colon + 1) == std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (!set_ruri_part(PvId::kRuHost, ScriptValue::of(host))) return -1;
  return set_ruri_part(PvId::kRuPort, port.empty() ? ScriptValue::null() : ScriptValue::of(port))
             ? 1
             : -1;
}

bool MessageEnv::stateless_reply(const sip::Message& req, const Inbound& from, ReplySink& sink,
                                 const std::string& server_header, int code,
                                 std::string_view reason, std::string* scratch) {
  sip::ReplyParams p;
  p.source_ip = from.src_ip;
  p.source_port = from.src_port;
  p.server = server_header;
  sip::build_stateless_reply(req, code, reason, p, scratch);
  if (scratch->empty()) return false;
  sink.send_reply(*scratch);
  stat_add(Stat::kSlSentReplies);
  if (code >= 300) stat_add(Stat::kSlSentErrReplies);
  if (code >= 100 && code < 700)
    stat_add(static_cast<Stat>(static_cast<int>(Stat::kSl1xx) + code / 100 - 1));
  return true;
}

int MessageEnv::sl_send_reply(int code, std::string_view reason) {
  const sip::Message* m = message();
  if (m == nullptr || sc_.from == nullptr || sc_.sink == nullptr) return -1;
  if (m->method_id() == sip::Method::kAck) return -1;  // ACK is never answered
  return stateless_reply(*m, *sc_.from, *sc_.sink, sv_.server_header, code, reason, &scratch2_)
             ? 1
             : -1;
}

int MessageEnv::append_or_insert_hf(std::string_view text, std::string_view anchor, bool append) {
  const sip::Message* m = message();
  sip::MessageEditor* ed = editor();
  if (m == nullptr || ed == nullptr) return -1;
  const sip::Header* at = nullptr;
  if (!anchor.empty()) {
    const sip::HeaderType type = sip::classify_header(anchor);
    for (const sip::Header& h : m->headers())
      if (same_header(h, type, anchor)) {
        at = &h;
        break;
      }
  }
  // The text holds one or more "Name: value" lines (CRLF-terminated, as in OpenSIPS).
  int added = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    line = trim(line);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      LOG_ERR("script", "%s: '%s' is not a header line", append ? "append_hf" : "insert_hf",
              printable(line).c_str());
      return -1;
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    sip::EditStatus st;
    if (append)
      st = at ? ed->insert_header_after(*at, name, value) : ed->append_header(name, value);
    else
      st = at ? ed->insert_header_before(*at, name, value) : ed->insert_header_first(name, value);
    if (st != sip::EditStatus::kOk) {
      LOG_ERR("script", "%s: cannot add '%s': %.*s", append ? "append_hf" : "insert_hf",
              printable(name).c_str(), static_cast<int>(sip::edit_status_name(st).size()),
              sip::edit_status_name(st).data());
      return -1;
    }
    ++added;
  }
  return added > 0 ? 1 : -1;
}

int MessageEnv::remove_hf(std::string_view name) {
  const sip::Message* m = message();
  sip::MessageEditor* ed = editor();
  if (m == nullptr || ed == nullptr) return -1;
  const sip::HeaderType type = sip::classify_header(name);
  int removed = 0;
  for (const sip::Header& h : m->headers()) {
    if (!same_header(h, type, name)) continue;
    if (ed->remove_header(h) == sip::EditStatus::kOk) ++removed;
  }
  return removed > 0 ? removed : -1;
}

int MessageEnv::is_present_hf(std::string_view name) const {
  const sip::Message* m = message();
  if (m == nullptr) return -1;
  const sip::HeaderType type = sip::classify_header(name);
  for (const sip::Header& h : m->headers())
    if (same_header(h, type, name)) return 1;
  return -1;
}

int MessageEnv::mf_process_maxfwd_header(int64_t max) {
  const sip::Message* m = message();
  sip::MessageEditor* ed = editor();
  if (m == nullptr || ed == nullptr) return -2;
  const int mf = m->max_forwards();
  if (mf < 0) {
    // No Max-Forwards: one is added with the given value.
    return ed->set_max_forwards(static_cast<unsigned>(std::clamp<int64_t>(max, 0, 255))) ==
                   sip::EditStatus::kOk
               ? 2
               : -2;
  }
  if (mf == 0) return -1;  // the script answers 483
  const int next = std::min<int64_t>(mf, 256) - 1;
  return ed->set_max_forwards(static_cast<unsigned>(next)) == sip::EditStatus::kOk ? 1 : -2;
}

int MessageEnv::loose_route() {
  if (sc_.req == nullptr || sc_.req->edits == nullptr || sv_.myself == nullptr) return -1;
  tm::RequestCtx& ctx = *sc_.req;
  const Myself& myself = *sv_.myself;
  tm::LooseRouteResult r = tm::loose_route(
      *ctx.msg, *ctx.edits,
      [&myself](std::string_view host, uint16_t port) { return myself.socket_of(host, port); });
  if (!r.why.empty()) {
    LOG_INFO("rr", "%.*s: loose_route(): %s",
             sc_.from ? static_cast<int>(sc_.from->label.size()) : 0,
             sc_.from ? sc_.from->label.data() : "", r.why.c_str());
    return -1;
  }
  if (!r.du.empty()) ctx.du = r.du;
  if (!r.ruri.empty()) {
    ctx.ruri = r.ruri;
    ctx.ruri_changed = true;
  }
  if (r.forced_socket >= 0) ctx.forced_socket = r.forced_socket;
  our_route_params_ = r.our_params;
  int rc = r.rc;
  if (!r.our_user.empty()) {
    rc = route_by_flow_token(r.our_user, rc);
    if (rc == 2 || rc == -2) return rc;
  }
  if (sv_.path_use_received && !r.our_received.empty()) {
    // path's use_received: the address add_path_received() recorded is the next hop.
    ctx.du = sip::unescape_param_value(r.our_received);
    rc = 1;
  }
  return rc;
}

int MessageEnv::relay_flags(std::span<const ScriptValue> args, tm::RelayFlags* out) const {
  if (!args.empty() && args[0].is_str()) {
    std::string_view flags = args[0].str();
    while (!flags.empty()) {
      size_t comma = flags.find(',');
      std::string_view f = trim(flags.substr(0, comma));
      flags = comma == std::string_view::npos ? std::string_view() : flags.substr(comma + 1);
      if (f.empty()) continue;
      if (f == "no-auto-477") {
        out->no_auto_477 = true;
      } else if (f == "no-dns-failover") {
        out->no_dns_failover = true;
      } else if (f != "pass-reason-hdr" && f != "allow-no-cancel") {
        LOG_WARN("tm", "t_relay(): unknown flag '%.*s' ignored", static_cast<int>(f.size()),
                 f.data());
      }
    }
  }
  if (args.size() > 1 && args[1].is_str()) out->proxy = std::string(args[1].str());
  return 1;
}

// force_send_socket()'s argument, as OpenSIPS writes it: "[proto:]ip[:port]".
int MessageEnv::listener_matching(std::string_view spec) const {
  if (sv_.tm == nullptr) return -1;
  std::optional<Proto> proto;
  if (size_t colon = spec.find(':'); colon != std::string_view::npos) {
    proto = proto_from_name(spec.substr(0, colon));
    if (proto) spec.remove_prefix(colon + 1);
  }
  std::string_view ip = spec;
  std::string_view port_text;
  if (!spec.empty() && spec.front() == '[') {
    size_t close = spec.find(']');
    if (close == std::string_view::npos) return -1;
    ip = spec.substr(1, close - 1);
    if (close + 1 < spec.size()) {
      if (spec[close + 1] != ':') return -1;
      port_text = spec.substr(close + 2);
    }
  } else if (size_t colon = spec.rfind(':'); colon != std::string_view::npos) {
    if (spec.find(':') != colon) return -1;  // a bare IPv6 address needs brackets
    ip = spec.substr(0, colon);
    port_text = spec.substr(colon + 1);
  }
  unsigned port = 0;  // 0: any
  if (!port_text.empty()) {
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
      return -1;
  }
  const std::vector<SocketAddr>& all = sv_.tm->transport().sockets();
  for (size_t i = 0; i < all.size(); ++i) {
    const SocketAddr& s = all[i];
    if ((!proto || s.proto == *proto) && s.ip == ip && (port == 0 || s.port == port))
      return static_cast<int>(i);
  }
  return -1;
}

int MessageEnv::call(FuncId id, std::span<const ScriptValue> args) {
  auto arg_str = [&](size_t i) {
    return i < args.size() && args[i].is_str() ? args[i].str() : std::string_view();
  };
  auto arg_int = [&](size_t i) {
    int64_t v = 0;
    if (i < args.size()) args[i].to_int(&v);
    return v;
  };
  tm::RequestCtx* ctx = sc_.req;
  tm::Tm* tm = sv_.tm;
  uint32_t* flags = ctx ? &ctx->flags : (sc_.tx ? &sc_.tx->flags : nullptr);
  switch (id) {
    // ---- core
    case FuncId::kSetflag:
    case FuncId::kResetflag:
    case FuncId::kIsflagset: {
      if (flags == nullptr) return -1;
      const uint32_t bit = 1u << (arg_int(0) & 31);
      if (id == FuncId::kSetflag) *flags |= bit;
      if (id == FuncId::kResetflag) *flags &= ~bit;
      if (id == FuncId::kIsflagset) return (*flags & bit) ? 1 : -1;
      return 1;
    }
    // R-URI user/host edits and branch flags (OpenSIPS core, issue 12).
    case FuncId::kSetbflag:
    case FuncId::kResetbflag:
    case FuncId::kIsbflagset: {
      if (ctx == nullptr) return -1;
      const uint32_t bit = 1u << (arg_int(0) & 31);
      if (id == FuncId::kSetbflag) ctx->bflags |= bit;
      if (id == FuncId::kResetbflag) ctx->bflags &= ~bit;
      if (id == FuncId::kIsbflagset) return (ctx->bflags & bit) ? 1 : -1;
      return 1;
    }
    case FuncId::kStrip:
    case FuncId::kPrefix:
    case FuncId::kRewriteuser:
      return rewrite_ruri_user(id, args.empty() ? ScriptValue::null() : args[0]);
    case FuncId::kRewritehostport:
      return rewrite_ruri_hostport(arg_str(0));
    case FuncId::kHasBody: {
      const sip::Message* m = message();
      if (m == nullptr || m->body().empty()) return -1;
      if (args.empty() || arg_str(0).empty()) return 1;
      ScriptValue ct = header("Content-Type", 0);
      std::string_view type = ct.is_str() ? trim(ct.str()) : std::string_view();
      type = trim(type.substr(0, type.find(';')));
      return ascii_iequals(type, trim(arg_str(0))) ? 1 : -1;
    }
    case FuncId::kDoAccounting:
      return do_accounting(arg_str(0), arg_str(1));
    case FuncId::kForceRport:
      if (ctx == nullptr) return -1;
      ctx->force_rport = true;
      return 1;
    case FuncId::kForceSendSocket: {
      if (ctx == nullptr) return -1;
      const int socket = listener_matching(arg_str(0));
      if (socket < 0) {
        LOG_ERR("core", "force_send_socket(\"%s\"): no such listening socket",
                printable(arg_str(0)).c_str());
        return -1;
      }
      ctx->forced_socket = socket;
      if (ctx->tx != nullptr) ctx->tx->forced_socket = socket;
      return 1;
    }
    case FuncId::kForward:
      if (ctx == nullptr || tm == nullptr) return -1;
      return tm->forward(*ctx, arg_str(0));
    case FuncId::kIsMyself: {
      if (sv_.myself == nullptr) return -1;
      std::string_view host = arg_str(0);
      if (args.size() > 1 && !args[1].is_null()) {
        int64_t port = arg_int(1);
        if (port < 0 || port > 65535) return -1;
        return sv_.myself->socket_of(host, static_cast<uint16_t>(port)) >= 0 ? 1 : -1;
      }
      return sv_.myself->socket_of_uri(host) >= 0 ? 1 : -1;
    }
    // ---- sl / signaling
    case FuncId::kSlSendReply:
      if (arg_str(1).empty()) return -1;
      return sl_send_reply(static_cast<int>(arg_int(0)), arg_str(1));
    case FuncId::kSlReplyError:
      return sl_send_reply(500, "Server Internal Error");
    case FuncId::kSendReply:
      if (ctx != nullptr && ctx->tx != nullptr && tm != nullptr)
        return tm->t_reply(*ctx, static_cast<int>(arg_int(0)), arg_str(1));
      return sl_send_reply(static_cast<int>(arg_int(0)), arg_str(1));
    // ---- sipmsgops
    case FuncId::kAppendHf:
      return append_or_insert_hf(arg_str(0), arg_str(1), true);
    case FuncId::kInsertHf:
      return append_or_insert_hf(arg_str(0), arg_str(1), false);
    case FuncId::kRemoveHf:
      return remove_hf(arg_str(0));
    case FuncId::kIsPresentHf:
      return is_present_hf(arg_str(0));
    case FuncId::kHasTotag: {
      const sip::Message* m = message();
      return m != nullptr && m->has_to_tag() ? 1 : -1;
    }
    // ---- maxfwd
    case FuncId::kMfProcessMaxfwdHeader:
      return mf_process_maxfwd_header(arg_int(0));
    // ---- tm
    case FuncId::kTRelay: {
      if (ctx == nullptr || tm == nullptr) return -1;
      tm::RelayFlags rf;
      relay_flags(args, &rf);
      return tm->t_relay(*ctx, rf);
    }
    case FuncId::kTNewtran:
      if (ctx == nullptr || tm == nullptr) return -1;
      return tm->t_newtran(*ctx);
    case FuncId::kTReply:
      if (ctx == nullptr || tm == nullptr) return -1;
      return tm->t_reply(*ctx, static_cast<int>(arg_int(0)), arg_str(1));
    case FuncId::kTCheckTrans:
      if (ctx == nullptr || tm == nullptr) return -1;
      return tm->t_check_trans(*ctx);
    case FuncId::kTOnFailure:
    case FuncId::kTOnReply:
    case FuncId::kTOnBranch: {
      const RouteType type = id == FuncId::kTOnFailure ? RouteType::kFailure
                             : id == FuncId::kTOnReply ? RouteType::kOnReply
                                                       : RouteType::kBranch;
      RouteRef r{type, static_cast<int>(arg_int(0))};
      if (ctx != nullptr) {
        if (id == FuncId::kTOnFailure) ctx->on_failure = r;
        if (id == FuncId::kTOnReply) ctx->on_reply = r;
        if (id == FuncId::kTOnBranch) ctx->on_branch = r;
        // In a branch route, t_on_reply arms that branch only.
        if (ctx->kind == tm::RouteKind::kBranch && id == FuncId::kTOnReply && ctx->tx &&
            ctx->branch >= 0)
          ctx->tx->branches[static_cast<size_t>(ctx->branch)]->on_reply = r;
        if (ctx->kind == tm::RouteKind::kFailure && ctx->tx && id == FuncId::kTOnFailure)
          ctx->tx->on_failure = r;
      }
      return 1;
    }
    case FuncId::kTCheckStatus: {
      const ScriptRegex* re = args.empty() ? nullptr : args[0].regex();
      if (re == nullptr) return -1;
      int code = 0;
      if (sc_.kind == tm::RouteKind::kOnReply && sc_.reply) {
        code = sc_.reply->status_code();
      } else if (tm::Transaction* tx = transaction()) {
        code = tx->winner >= 0 ? tx->branches[static_cast<size_t>(tx->winner)]->last_code
                               : tx->reply_code;
      }
      if (code == 0) return -1;
      return re->match(std::to_string(code)) ? 1 : -1;
    }
    case FuncId::kTWasCancelled: {
      tm::Transaction* tx = transaction();
      return tx != nullptr && tx->cancelled ? 1 : -1;
    }
    case FuncId::kTLocalReplied: {
      tm::Transaction* tx = transaction();
      if (tx == nullptr) return -1;
      if (tx->winner >= 0) return tx->branches[static_cast<size_t>(tx->winner)]->local ? 1 : -1;
      return tx->reply_local ? 1 : -1;
    }
    // ---- rr
    case FuncId::kRecordRoute:
      return record_route(arg_str(0));
    case FuncId::kRecordRoutePreset:
      if (ctx == nullptr) return -1;
      ctx->rr.enabled = true;
      ctx->rr.preset = true;
      ctx->rr.preset_out = std::string(arg_str(0));
      ctx->rr.preset_in = std::string(arg_str(1));
      if (ctx->tx != nullptr) ctx->tx->rr = ctx->rr;
      return 1;
    case FuncId::kLooseRoute:
      return loose_route();
    // ---- path
    case FuncId::kAddPath:
    case FuncId::kAddPathReceived:
      return add_path(arg_str(0), id == FuncId::kAddPathReceived);
    case FuncId::kAddRrParam:
      if (ctx == nullptr) return -1;
      ctx->rr.params.append(arg_str(0));
      if (ctx->tx != nullptr) ctx->tx->rr = ctx->rr;
      return 1;
    case FuncId::kCheckRouteParam: {
      const ScriptRegex* re = args.empty() ? nullptr : args[0].regex();
      return re != nullptr && !our_route_params_.empty() && re->match(our_route_params_) ? 1 : -1;
    }
    case FuncId::kIsDirection: {
      // ftag in our Route is the From tag of the request that made the dialog: a request with
      // that From tag goes downstream.
      const sip::Message* m = message();
      if (m == nullptr || our_route_params_.empty()) return -1;
      std::string_view ftag;
      sip::Uri fake;
      std::string uri = "sip:x" + our_route_params_;
      if (!sip::parse_uri(uri, &fake).ok() || !fake.param("ftag", &ftag)) return -1;
      const bool downstream = ftag == m->from_tag();
      return (arg_str(0) == "downstream") == downstream ? 1 : -1;
    }
    case FuncId::kSerializeBranches:
    case FuncId::kNextBranches:
      return registrar_call(id, args);
    // ---- registrar
    case FuncId::kSave:
    case FuncId::kLookup:
    case FuncId::kIsRegistered:
    case FuncId::kRemove:
      if (arg_str(0) != "location") {
        // usrloc has one domain (table): "location".
        LOG_ERR("registrar", "%.*s(): unknown usrloc domain '%.*s' (only \"location\")",
                static_cast<int>(cfg::func_def(id).name.size()), cfg::func_def(id).name.data(),
                static_cast<int>(arg_str(0).size()), arg_str(0).data());
        return id == FuncId::kLookup ? -3 : -1;
      }
      return registrar_call(id, args);
    // ---- auth / auth_db
    case FuncId::kWwwAuthorize:
    case FuncId::kProxyAuthorize:
      return auth_authorize(arg_str(0), arg_str(1), id == FuncId::kProxyAuthorize);
    case FuncId::kWwwChallenge:
    case FuncId::kProxyChallenge:
      return auth_challenge(args, id == FuncId::kProxyChallenge);
    case FuncId::kConsumeCredentials:
      return consume_credentials();
    case FuncId::kDbIsToAuthorized:
    case FuncId::kDbIsFromAuthorized:
      return db_is_authorized(id == FuncId::kDbIsToAuthorized);
    default: {
      const std::string_view name = cfg::func_def(id).name;
      LOG_ERR("script", "%.*s(): not available here", static_cast<int>(name.size()), name.data());
      return -1;
    }
  }
}

void MessageEnv::xlog(LogLevel level, std::string_view text) {
  if (logger().xlog_enabled(level)) logger().write_text(level, nullptr, text);
}

}  // namespace sipsd
