#include "core/worker/sip_receiver.h"

#include "core/base/ascii.h"
#include "core/cfg/schema.h"
#include "core/shm/stats.h"
#include "core/sip/sl_reply.h"

namespace sipsd {

// The script's view of the message being processed.
class SipReceiver::Env final : public ScriptEnv {
 public:
  Env(SipReceiver& r, const MessageOrigin& origin, ReplySink& sink)
      : r_(r), origin_(origin), sink_(sink) {}

  ScriptValue pv_get(const PvRef& ref) override {
    if (is_tls_pv(ref.id)) {
      if (!tls_ready_) {  // computed only for messages whose script looks at TLS
        r_.tls_pvs_.reset(origin_.tls);
        tls_ready_ = true;
      }
      return of(r_.tls_pvs_.get(ref.id));
    }
    const sip::Message& m = r_.msg_;
    switch (ref.id) {
      case PvId::kRm:
        return ScriptValue::of(m.method());
      case PvId::kRu:
        return ScriptValue::of(r_.ruri_set_ ? std::string_view(r_.ruri_) : m.ruri());
      case PvId::kDu:
        return r_.du_set_ ? ScriptValue::of(std::string_view(r_.du_)) : ScriptValue::null();
      case PvId::kSi:
        return ScriptValue::of(origin_.src_ip);
      case PvId::kSp:
        return ScriptValue::of(static_cast<int64_t>(origin_.src_port));
      case PvId::kProto:
        return ScriptValue::of(std::string_view(proto_name(origin_.proto)));
      case PvId::kCi:
        return non_empty(m.call_id());
      case PvId::kUa:
        return non_empty(m.user_agent());
      case PvId::kFromTag:
        return non_empty(m.from_tag());
      case PvId::kToTag:
        return m.has_to_tag() ? ScriptValue::of(m.to_tag()) : ScriptValue::null();
      case PvId::kCseq:
        return ScriptValue::of(static_cast<int64_t>(m.cseq_number()));
      case PvId::kHdr:
        return header(m, ref.name, ref.index);
      default:  // $rs $rr: NULL on a request; the others are not offered yet (schema: ready)
        return ScriptValue::null();
    }
  }

  bool pv_set(const PvRef& ref, const ScriptValue& v) override {
    switch (ref.id) {
      case PvId::kRu:
        if (!v.is_str() || v.str().empty()) {
          LOG_ERR("script", "$ru: a URI is expected, not %s", v.is_null() ? "NULL" : "a number");
          return false;
        }
        r_.ruri_.assign(v.str());
        r_.ruri_set_ = true;
        return true;
      case PvId::kDu:
        r_.du_set_ = v.is_str() && !v.str().empty();
        if (r_.du_set_) r_.du_.assign(v.str());
        return true;
      default:
        LOG_ERR("script", "assigning to this variable is not supported yet");
        return false;
    }
  }

  int call(FuncId id, std::span<const ScriptValue> args) override {
    switch (id) {
      case FuncId::kSlSendReply: {
        if (r_.msg_.method_id() == sip::Method::kAck) return -1;  // ACK is never answered
        const std::string_view reason = args[1].str();
        if (reason.empty()) return -1;
        r_.reply(origin_, sink_, static_cast<int>(args[0].int_value()), reason);
        return 1;
      }
      default: {
        // The schema's `ready` flags keep every other function out of a loaded cfg.
        const std::string_view name = cfg::func_def(id).name;
        LOG_ERR("script", "%.*s(): the worker does not offer this function",
                static_cast<int>(name.size()), name.data());
        return -1;
      }
    }
  }

  void xlog(LogLevel level, std::string_view text) override {
    if (logger().enabled(level)) logger().write_text(level, "script", text);
  }

  AvpStore& avps() override { return r_.avps_; }

 private:
  static ScriptValue of(std::optional<std::string_view> v) {
    return v ? ScriptValue::of(*v) : ScriptValue::null();
  }
  static ScriptValue non_empty(std::string_view v) {
    return v.empty() ? ScriptValue::null() : ScriptValue::of(v);
  }

  // $hdr(Name)[index]: the body of that header (compact forms count as the same header);
  // index 0 is the first, -1 the last.
  static ScriptValue header(const sip::Message& m, std::string_view name, int index) {
    const sip::HeaderType type = sip::classify_header(name);
    auto same = [&](const sip::Header& h) {
      return type != sip::HeaderType::kOther ? h.type == type : ascii_iequals(h.name, name);
    };
    const auto& hs = m.headers();
    if (index >= 0) {
      for (const sip::Header& h : hs) {
        if (same(h) && index-- == 0) return ScriptValue::of(h.value);
      }
    } else {
      for (size_t i = hs.size(); i-- > 0;) {
        if (same(hs[i]) && ++index == 0) return ScriptValue::of(hs[i].value);
      }
    }
    return ScriptValue::null();
  }

  SipReceiver& r_;
  const MessageOrigin& origin_;
  ReplySink& sink_;
  bool tls_ready_ = false;
};

SipReceiver::SipReceiver(std::shared_ptr<const Script> script, std::string server_header)
    : script_(std::move(script)), server_header_(std::move(server_header)) {}

void SipReceiver::reply(const MessageOrigin& origin, ReplySink& sink, int code,
                        std::string_view reason) {
  sip::ReplyParams p;
  p.source_ip = origin.src_ip;
  p.source_port = origin.src_port;
  p.server = server_header_;
  sip::build_stateless_reply(msg_, code, reason, p, &reply_);
  sink.send_reply(reply_);
  stat_add(Stat::kSlSentReplies);
  if (code >= 300) stat_add(Stat::kSlSentErrReplies);
  if (code >= 100 && code < 700)
    stat_add(static_cast<Stat>(static_cast<int>(Stat::kSl1xx) + code / 100 - 1));
}

ReceiveVerdict SipReceiver::receive(char* data, size_t len, const MessageOrigin& origin,
                                    ReplySink& sink) {
  sip::ParseResult pr = sip::parse_message(data, len, &msg_);
  if (pr.status == sip::ParseStatus::kUnparseable) {
    stat_add(Stat::kBadMsgHdr);
    LOG_NOTICE("core", "%.*s: unparsable SIP message (%s)", static_cast<int>(origin.label.size()),
               origin.label.data(), pr.reason ? pr.reason : "bad message");
    return ReceiveVerdict::kClose;
  }
  if (!msg_.is_request()) {
    // No transaction layer yet: replies have nowhere to go.
    stat_add(Stat::kRcvReplies);
    LOG_DBG("core", "%.*s: dropping reply %d (no transaction matches)",
            static_cast<int>(origin.label.size()), origin.label.data(), msg_.status_code());
    return ReceiveVerdict::kKeep;
  }
  stat_add(Stat::kRcvRequests);
  if (pr.status == sip::ParseStatus::kBadRequest) {
    stat_add(Stat::kErrRequests);
    LOG_INFO("core", "%.*s: bad %.*s request: %s", static_cast<int>(origin.label.size()),
             origin.label.data(), static_cast<int>(msg_.method().size()), msg_.method().data(),
             pr.reason);
    if (msg_.method_id() != sip::Method::kAck)
      reply(origin, sink, pr.reply_code != 0 ? pr.reply_code : 400, pr.reason);
    return ReceiveVerdict::kKeep;
  }
  avps_.clear();
  ruri_set_ = false;
  du_set_ = false;
  Env env(*this, origin, sink);
  if (script_->run(script_->main_route(), env, vars_).outcome == ScriptOutcome::kDrop) {
    stat_add(Stat::kDropRequests);
  }
  return ReceiveVerdict::kKeep;
}

}  // namespace sipsd
