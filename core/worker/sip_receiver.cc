#include "core/worker/sip_receiver.h"

#include <time.h>

#include "core/base/process_context.h"
#include "core/base/syslog_sink.h"
#include "core/shm/stats.h"
#include "core/sip/sl_reply.h"

namespace sipsd {

SipReceiver::SipReceiver(std::shared_ptr<const Script> script, std::string server_header)
    : script_(std::move(script)) {
  services_.server_header = std::move(server_header);
  services_.tls_pvs = &tls_pvs_;
  services_.message_avps = &avps_;
}

void SipReceiver::attach(tm::Tm* tm, Transport* transport, const Myself* myself,
                         int accept_aliases) {
  accept_aliases_ = accept_aliases;
  services_.tm = tm;
  services_.myself = myself;
  transport_ = transport;
}

ReceiveVerdict SipReceiver::receive(char* data, size_t len, const Inbound& from, ReplySink& sink) {
  const auto label = [&from] { return std::string_view(from.label); };
  sip::ParseResult pr = sip::parse_message(data, len, &msg_);
  if (pr.status == sip::ParseStatus::kUnparseable) {
    stat_add(Stat::kBadMsgHdr);
    LOG_NOTICE("core", "%.*s: unparsable SIP message (%s)", static_cast<int>(label().size()),
               label().data(), pr.reason ? pr.reason : "bad message");
    return ReceiveVerdict::kClose;
  }
  if (!msg_.is_request()) {
    if (pr.status != sip::ParseStatus::kOk || services_.tm == nullptr) {
      stat_add(Stat::kRcvReplies);
      stat_add(Stat::kDropReplies);
      LOG_DBG("core", "%.*s: dropping reply %d (%s)", static_cast<int>(label().size()),
              label().data(), msg_.status_code(),
              pr.status != sip::ParseStatus::kOk ? pr.reason : "no transactions here");
      return ReceiveVerdict::kKeep;
    }
    services_.tm->on_reply(msg_, from);
    return ReceiveVerdict::kKeep;
  }
  if (from.relayed_from == 0) stat_add(Stat::kRcvRequests);
  if (pr.status == sip::ParseStatus::kBadRequest) {
    stat_add(Stat::kErrRequests);
    LOG_INFO("core", "%.*s: bad %.*s request: %s", static_cast<int>(label().size()), label().data(),
             static_cast<int>(msg_.method().size()), msg_.method().data(), pr.reason);
    if (msg_.method_id() != sip::Method::kAck)
      MessageEnv::stateless_reply(msg_, from, sink, services_.server_header,
                                  pr.reply_code != 0 ? pr.reply_code : 400, pr.reason, &reply_);
    return ReceiveVerdict::kKeep;
  }
  // The ACK of a reply we sent statelessly (sl_send_reply, www_challenge, ...) ends here, as
  // OpenSIPS's sl module filters it before the script: its To-tag is one sl_to_tag() made.
  if (msg_.method_id() == sip::Method::kAck && msg_.to() != nullptr && msg_.to()->has_tag &&
      sip::is_sl_to_tag(msg_.to()->tag)) {
    stat_add(Stat::kSlReceivedAcks);
    return ReceiveVerdict::kKeep;
  }
  // A CANCEL or the ACK of a negative reply belongs to the worker holding the INVITE
  // transaction (it may have come on another connection, or from another source port).
  if (services_.tm != nullptr && transport_ != nullptr && from.relayed_from == 0) {
    if (int owner = services_.tm->owner_elsewhere(msg_); owner > 0) {
      if (transport_->relay(owner, from, msg_.raw())) return ReceiveVerdict::kKeep;
    }
  }
  // RFC 5923: the Via port becomes an alias of the connection (tcp_accept_aliases).
  if (transport_ != nullptr && from.conn_id != 0 && from.relayed_from == 0 && accept_aliases_ > 0) {
    const sip::Via* v = msg_.top_via();
    if (v != nullptr && (v->has_alias || accept_aliases_ == 2)) {
      const uint16_t port =
          v->port != 0 ? v->port : (from.proto == Proto::kTls ? uint16_t{5061} : uint16_t{5060});
      if (port != from.src_port) transport_->set_alias(from.conn_id, port);
    }
  }
  edits_.reset(msg_);
  avps_.clear();
  tm::RequestCtx ctx;
  ctx.kind = tm::RouteKind::kRequest;
  ctx.msg = &msg_;
  ctx.edits = &edits_;
  ctx.from = &from;
  ctx.avps = &avps_;
  MessageScope scope;
  scope.kind = tm::RouteKind::kRequest;
  scope.req = &ctx;
  scope.from = &from;
  scope.sink = &sink;
  MessageEnv env(services_, scope);
  if (script_->run(script_->main_route(), env, vars_).outcome == ScriptOutcome::kDrop)
    stat_add(Stat::kDropRequests);
  return ReceiveVerdict::kKeep;
}

void SipReceiver::set_acc(const AccParams& acc) {
  acc_ = acc;
  if (!parse_syslog_facility(acc.log_facility, &acc_facility_)) acc_facility_ = -1;
}

void SipReceiver::on_final_reply(const tm::Transaction& tx, int code, std::string_view reason,
                                 std::string_view to_tag) {
  if (!(tx.acc & (tm::kAccLog | tm::kAccDb))) return;
  const sip::NameAddr* from = tx.req.from();
  const std::string_view from_tag =
      from != nullptr && from->has_tag ? from->tag : std::string_view();
  // OpenSIPS acc's rows (acc, missed_calls): what the log line says, for the supervisor to write.
  auto row = [&](bool missed) {
    if (!acc_db_sink_) {
      if (!acc_db_warned_)
        LOG_ERR("acc",
                "do_accounting(\"db\") without modparam(\"acc\", \"db_url\", ...): "
                "records are not written");
      acc_db_warned_ = true;
      return;
    }
    ipc::AccRecord r;
    r.set_missed(missed);
    r.set_method(tx.method);
    r.set_from_tag(std::string(from_tag));
    r.set_to_tag(std::string(to_tag));
    r.set_callid(std::string(tx.req.call_id()));
    r.set_sip_code(code);
    r.set_sip_reason(std::string(reason));
    r.set_time(static_cast<int64_t>(time(nullptr)));
    if (!acc_db_sink_(r)) stat_add(Stat::kAccDbDropped);
  };
  // OpenSIPS acc's log lines: "ACC: transaction answered: timestamp=...;method=...;...".
  auto line = [&](const char* what) {
    if (!(tx.acc & tm::kAccLog)) return;
    std::string text = strprintf(
        "ACC: %s: timestamp=%lld;method=%s;from_tag=%.*s;to_tag=%.*s;"
        "call_id=%.*s;code=%d;reason=%.*s",
        what, static_cast<long long>(time(nullptr)), tx.method.c_str(),
        static_cast<int>(from_tag.size()), from_tag.data(), static_cast<int>(to_tag.size()),
        to_tag.data(), static_cast<int>(tx.req.call_id().size()), tx.req.call_id().data(), code,
        static_cast<int>(reason.size()), reason.data());
    const auto level = static_cast<LogLevel>(acc_.log_level);
    if (logger().enabled(level)) logger().write_text(level, nullptr, text, acc_facility_);
  };
  if (tx.invite && code >= 300 && (tx.acc & tm::kAccMissed)) {
    line("call missed");
    if (tx.acc & tm::kAccDb) row(true);
  }
  if (code < 300 || (tx.acc & tm::kAccFailed)) {
    line("transaction answered");
    if (tx.acc & tm::kAccDb) row(false);
  }
}

void SipReceiver::run_route(RouteRef route) {
  MessageScope scope;
  MessageEnv env(services_, scope);
  script_->run(route, env, vars_);
}

bool SipReceiver::run_reply_routes(tm::Transaction* tx, tm::Branch* branch, RouteRef route,
                                   sip::Message& reply, sip::MessageEditor& edits,
                                   const Inbound& from) {
  MessageScope scope;
  scope.kind = tm::RouteKind::kOnReply;
  scope.reply = &reply;
  scope.reply_edits = &edits;
  scope.tx = tx;
  scope.branch = branch;
  scope.from = &from;
  bool keep = true;
  for (RouteRef r : {script_->default_onreply_route(), route}) {
    if (!r.valid()) continue;
    MessageEnv env(services_, scope);
    if (script_->run(r, env, vars_).outcome == ScriptOutcome::kDrop) keep = false;
  }
  return keep;
}

void SipReceiver::run_failure_route(tm::Transaction& tx, RouteRef route) {
  sip::MessageEditor edits;
  edits.reset(tx.req);
  tm::RequestCtx ctx;
  ctx.kind = tm::RouteKind::kFailure;
  ctx.msg = &tx.req;
  ctx.edits = &edits;
  ctx.tx = &tx;
  if (tx.winner >= 0) {
    const tm::Branch& w = *tx.branches[static_cast<size_t>(tx.winner)];
    ctx.ruri = w.ruri;
    ctx.ruri_changed = true;
  }
  ctx.flags = tx.flags;
  ctx.acc = tx.acc;
  ctx.rr = tx.rr;
  ctx.forced_socket = tx.forced_socket;
  ctx.on_reply = tx.on_reply;
  ctx.on_branch = tx.on_branch;
  ctx.avps = &tx.avps;
  MessageScope scope;
  scope.kind = tm::RouteKind::kFailure;
  scope.req = &ctx;
  MessageEnv env(services_, scope);
  script_->run(route, env, vars_);
  tx.flags = ctx.flags;
  tx.acc = ctx.acc;
}

bool SipReceiver::run_branch_route(tm::Transaction& tx, tm::Branch& branch, RouteRef route,
                                   sip::MessageEditor& edits) {
  tm::RequestCtx ctx;
  ctx.kind = tm::RouteKind::kBranch;
  ctx.msg = &tx.req;
  ctx.edits = &edits;
  ctx.tx = &tx;
  ctx.branch = branch.index;
  ctx.ruri = branch.ruri;
  ctx.ruri_changed = true;
  ctx.du = branch.du;
  ctx.flags = tx.flags;
  ctx.rr = tx.rr;
  ctx.avps = &tx.avps;
  MessageScope scope;
  scope.kind = tm::RouteKind::kBranch;
  scope.req = &ctx;
  MessageEnv env(services_, scope);
  if (script_->run(route, env, vars_).outcome == ScriptOutcome::kDrop) return false;
  branch.ruri = ctx.ruri;
  branch.du = ctx.du;
  return true;
}

}  // namespace sipsd
