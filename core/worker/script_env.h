// MessageEnv: the route script's view of one message — a request in the request route, the
// transaction's request in a failure or branch route, a reply in an onreply route — and the
// implementation of the script's functions (core, sl, signaling, sipmsgops, maxfwd, tm, rr,
// tls_mgm) on top of tm and the transport.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/auth/authorizer.h"
#include "core/cfg/script.h"
#include "core/registrar/registrar.h"
#include "core/sip/message.h"
#include "core/sip/message_editor.h"
#include "core/tm/request_ctx.h"
#include "core/tm/tm.h"
#include "core/transport/transport.h"
#include "core/worker/myself.h"
#include "tls_mgm/tls_vars.h"

namespace sipsd {

// Where the replies the script makes itself statelessly go (sl_send_reply).
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual void send_reply(std::string_view bytes) = 0;
};

// What every MessageEnv of a worker shares.
struct ScriptServices {
  tm::Tm* tm = nullptr;  // null: no transactions (unit tests of the script path)
  const Myself* myself = nullptr;
  std::string server_header;  // "sipsd (0.1.0)"
  TlsPvCache* tls_pvs = nullptr;
  AvpStore* message_avps = nullptr;     // $avp of a request before it has a transaction
  reg::Registrar* registrar = nullptr;  // null: registrar not loaded
  int received_avp_slot = -1;           // registrar received_avp ($avp slot), -1 = unset
  auth::Authorizer* auth = nullptr;     // auth/auth_db (null: not loaded)
  // RFC 5626 flow tokens' key ("" : no tokens written or read) and path's use_received.
  std::string flow_token_key;
  bool path_use_received = false;
};

// The message one run of a route works on.
struct MessageScope {
  tm::RouteKind kind = tm::RouteKind::kRequest;
  tm::RequestCtx* req = nullptr;  // request, failure and branch routes
  // onreply routes: the reply and its edits (applied when it is relayed).
  sip::Message* reply = nullptr;
  sip::MessageEditor* reply_edits = nullptr;
  tm::Transaction* tx = nullptr;  // onreply: the reply's transaction (null: none matched)
  tm::Branch* branch = nullptr;   // onreply: the branch the reply came on
  const Inbound* from = nullptr;  // where the message came from (null: it did not just arrive)
  ReplySink* sink = nullptr;      // request route: stateless replies
};

class MessageEnv final : public ScriptEnv {
 public:
  MessageEnv(const ScriptServices& services, const MessageScope& scope)
      : sv_(services), sc_(scope) {}

  ScriptValue pv_get(const PvRef& ref) override;
  bool pv_set(const PvRef& ref, const ScriptValue& v) override;
  int call(FuncId id, std::span<const ScriptValue> args) override;
  void xlog(LogLevel level, std::string_view text) override;
  AvpStore& avps() override;

  // A stateless reply to the request (sl_send_reply, and 400s the receive path makes).
  static bool stateless_reply(const sip::Message& req, const Inbound& from, ReplySink& sink,
                              const std::string& server_header, int code, std::string_view reason,
                              std::string* scratch);

 private:
  const sip::Message* message() const;
  sip::MessageEditor* editor();
  tm::Transaction* transaction() const;
  // $ru / $rU / $rd / $rp / $rP, from the effective Request-URI.
  ScriptValue ruri_part(PvId id);
  // strip / prefix / rewriteuser and rewritehostport (R-URI edits through set_ruri_part).
  int rewrite_ruri_user(FuncId id, const ScriptValue& arg);
  int rewrite_ruri_hostport(std::string_view hostport);
  // do_accounting("log|db", flags): marks the request's transaction for the log and/or acc's
  // database.
  int do_accounting(std::string_view types, std::string_view flags);
  bool set_ruri_part(PvId id, const ScriptValue& v);
  ScriptValue addr_part(PvId id);
  ScriptValue header(std::string_view name, int index) const;

  int sl_send_reply(int code, std::string_view reason);
  int append_or_insert_hf(std::string_view text, std::string_view anchor, bool append);
  int remove_hf(std::string_view name);
  int is_present_hf(std::string_view name) const;
  int mf_process_maxfwd_header(int64_t max);
  int loose_route();
  // path, and RFC 5626 flows at the edge (script_env_outbound.cc)
  int add_path(std::string_view user, bool received);
  int record_route(std::string_view params);
  // The flow token of the request's own flow when it comes from an outbound phone at its first
  // hop ("" otherwise): for a REGISTER with a reg-id Contact (`registering`), or a request whose
  // Contact URI has ;ob.
  std::string first_hop_flow_token(bool registering) const;
  // loose_route() found `user` in our Route: a flow token sends the request on that flow
  // (returns 2), a forged one is refused (-2); anything else leaves `rc` as it was.
  int route_by_flow_token(std::string_view user, int rc);
  int relay_flags(std::span<const ScriptValue> args, tm::RelayFlags* out) const;
  // registrar (script_env_registrar.cc)
  int registrar_call(FuncId id, std::span<const ScriptValue> args);
  int serialize_branches();
  int next_branches();
  int registrar_save(std::string_view flags, std::string_view aor);
  int registrar_lookup(std::string_view flags, std::string_view aor);
  int listener_named(std::string_view socket) const;
  int binding_socket(const reg::LookupTarget& t) const;
  // force_send_socket()'s "[proto:]ip[:port]" ([v6] in brackets): the first listener with that
  // address (and proto, port when given), or -1.
  int listener_matching(std::string_view spec) const;
  int registrar_is_registered(std::string_view aor);
  int registrar_remove(std::string_view aor, std::string_view contact);
  // auth / auth_db (script_env_auth.cc)
  int auth_authorize(std::string_view realm, std::string_view table, bool proxy);
  int auth_challenge(std::span<const ScriptValue> args, bool proxy);
  int consume_credentials();
  int db_is_authorized(bool to);
  ScriptValue auth_pv(PvId id) const;

  const ScriptServices& sv_;
  MessageScope sc_;
  std::string scratch_;  // values returned to the interpreter live here until the next call
  std::string scratch2_;
  std::string our_route_params_;  // loose_route(): the parameters of our Route
  bool tls_ready_ = false;
  auth::AuthOutcome auth_;   // the last www/proxy_authorize of this message
  bool auth_stale_ = false;  // it found a stale nonce: the next challenge says stale=true
};

}  // namespace sipsd
