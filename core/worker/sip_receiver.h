// SipReceiver: what a worker does with one framed SIP message (OpenSIPS's receive_msg): parse
// it; hand a reply to tm; answer an invalid request with 400; send a CANCEL or ACK whose INVITE
// transaction another worker holds to that worker; run the route script for the rest. It also
// runs the script's reply, failure and branch routes for tm (tm::TmHost). It reaches the network
// only through tm, the transport and the ReplySink of each message, so without tm it is
// unit-testable with a fake sink (the stateless script functions then work, tm's do not).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/cfg/script.h"
#include "core/sip/message.h"
#include "core/sip/message_editor.h"
#include "core/tm/tm.h"
#include "core/transport/transport.h"
#include "core/worker/myself.h"
#include "core/worker/script_env.h"
#include "ipc/ipc.pb.h"
#include "tls_mgm/tls_vars.h"

namespace sipsd {

enum class ReceiveVerdict : uint8_t { kKeep, kClose };

class SipReceiver final : public tm::TmHost {
 public:
  SipReceiver(std::shared_ptr<const Script> script, std::string server_header);

  // The worker's tm, transport and listener table (all may stay null in unit tests).
  // `accept_aliases`: tcp_accept_aliases.
  void attach(tm::Tm* tm, Transport* transport, const Myself* myself, int accept_aliases = 0);
  // registrar's functions work on `registrar` (null: not loaded); received_avp's $avp slot.
  void attach_registrar(reg::Registrar* registrar, int received_avp_slot) {
    services_.registrar = registrar;
    services_.received_avp_slot = received_avp_slot;
  }
  // auth/auth_db's script functions (null: not loaded).
  void set_auth(auth::Authorizer* auth) { services_.auth = auth; }
  // RFC 5626 flow tokens (add_path*(), record_route(), loose_route()) and path's use_received.
  void set_outbound(std::string flow_token_key, bool path_use_received) {
    services_.flow_token_key = std::move(flow_token_key);
    services_.path_use_received = path_use_received;
  }

  // `data` is one complete message, mutable (the parser unfolds headers in place).
  ReceiveVerdict receive(char* data, size_t len, const Inbound& from, ReplySink& sink);

  // A route that runs without a message (startup_route, timer_route): functions that need one
  // return -1; xlog, $var and the like work.
  void run_route(RouteRef route);

  // tm::TmHost
  bool run_reply_routes(tm::Transaction* tx, tm::Branch* branch, RouteRef route,
                        sip::Message& reply, sip::MessageEditor& edits,
                        const Inbound& from) override;
  void run_failure_route(tm::Transaction& tx, RouteRef route) override;
  bool run_branch_route(tm::Transaction& tx, tm::Branch& branch, RouteRef route,
                        sip::MessageEditor& edits) override;
  void on_final_reply(const tm::Transaction& tx, int code, std::string_view reason,
                      std::string_view to_tag) override;
  // acc's modparams (log level and syslog facility of the ACC lines).
  void set_acc(const AccParams& acc);
  // Where do_accounting("db") records go (the worker sends them to the supervisor, which
  // writes them); false when one could not be queued. Unset: "db" accounting is refused.
  using AccDbSink = std::function<bool(const ipc::AccRecord&)>;
  void set_acc_db_sink(AccDbSink sink) { acc_db_sink_ = std::move(sink); }

 private:
  std::shared_ptr<const Script> script_;
  ScriptServices services_;
  Transport* transport_ = nullptr;
  int accept_aliases_ = 0;
  sip::Message msg_;          // reused for every message
  sip::MessageEditor edits_;  // the request route's edits
  std::string reply_;         // reused for stateless replies
  TlsPvCache tls_pvs_;        // $tls_* values of the current message, reset when first used
  ScriptVars vars_;           // $var(x): this process's, kept from one message to the next
  AvpStore avps_;             // $avp(x) of a request before it has a transaction
  AccParams acc_;
  int acc_facility_ = -1;  // syslog facility of acc's lines (-1: the logger's)
  AccDbSink acc_db_sink_;
  bool acc_db_warned_ = false;  // "no db_url" said once
};

}  // namespace sipsd
