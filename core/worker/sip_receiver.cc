#include "core/worker/sip_receiver.h"

#include <charconv>

#include "core/shm/stats.h"
#include "core/sip/sl_reply.h"

namespace sipsd {

// The script's view of the message being processed.
class SipReceiver::Env final : public ScriptEnv {
 public:
  Env(SipReceiver& r, const MessageOrigin& origin, ReplySink& sink)
      : r_(r), origin_(origin), sink_(sink) {}

  std::optional<std::string_view> pv(PvId id) override {
    if (is_tls_pv(id)) {
      if (!tls_ready_) {  // computed only for messages whose script looks at TLS
        r_.tls_pvs_.reset(origin_.tls);
        tls_ready_ = true;
      }
      return r_.tls_pvs_.get(id);
    }
    const sip::Message& m = r_.msg_;
    switch (id) {
      case PvId::kRm:
        return m.method();
      case PvId::kRu:
        return m.ruri();
      case PvId::kSi:
        return origin_.src_ip;
      case PvId::kSp: {
        auto [end, ec] = std::to_chars(port_, port_ + sizeof port_, origin_.src_port);
        return std::string_view(port_, static_cast<size_t>(end - port_));
      }
      case PvId::kProto:
        return std::string_view(proto_name(origin_.proto));
      case PvId::kCi:
        return non_empty(m.call_id());
      case PvId::kUa:
        return non_empty(m.user_agent());
      default:
        return std::nullopt;
    }
  }

  int sl_send_reply(int code, std::string_view reason) override {
    if (r_.msg_.method_id() == sip::Method::kAck) return -1;  // ACK is never answered
    r_.reply(origin_, sink_, code, reason);
    return 1;
  }

  void xlog(LogLevel level, std::string_view text) override {
    if (logger().enabled(level)) logger().write_text(level, "script", text);
  }

 private:
  static std::optional<std::string_view> non_empty(std::string_view v) {
    if (v.empty()) return std::nullopt;
    return v;
  }

  SipReceiver& r_;
  const MessageOrigin& origin_;
  ReplySink& sink_;
  char port_[8];
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
  Env env(*this, origin, sink);
  if (script_->run_request(env) == ScriptOutcome::kDrop) stat_add(Stat::kDropRequests);
  return ReceiveVerdict::kKeep;
}

}  // namespace sipsd
