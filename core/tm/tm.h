// Tm: a worker's transactions (OpenSIPS tm) and stateless forwarding. It creates server
// transactions for requests the script relays or answers statefully, sends one branch per
// destination (resolving names with RFC 3263, failing over to the next address), retransmits
// over UDP, times out with a local 408, relays provisional replies and every 2xx at once, picks
// the best final reply when every branch has failed (after the failure_route had its say),
// absorbs request retransmissions (resending the last reply) and the ACK of a negative reply,
// ACKs the negative replies it receives, and handles CANCEL (200 to it, CANCEL to each pending
// branch, 487 upstream).
//
// Wire formats follow OpenSIPS 3.x: the 100 "Giving it a try",
// 37-character local To-tags, retransmission pacing (T1 doubling, capped at T2, INVITE too),
// best-reply ranking, fr_timeout / fr_inv_timeout.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/dns/resolver.h"
#include "core/shm/hash_words.h"
#include "core/sip/local_tag.h"
#include "core/sip/message.h"
#include "core/sip/message_editor.h"
#include "core/tm/request_ctx.h"
#include "core/tm/transaction.h"
#include "core/transport/transport.h"

namespace sipsd::tm {

// tm, rr and core parameters that shape transactions (defaults are OpenSIPS 3.x's).
struct TmConfig {
  int64_t fr_timeout_ms = 30000;
  int64_t fr_inv_timeout_ms = 120000;
  int64_t t1_ms = 500;
  int64_t t2_ms = 4000;
  int64_t wt_ms = 5000;  // wt_timer: linger after the final reply
  bool restart_fr_on_each_reply = true;
  bool auto_100trying = true;
  bool disable_6xx_block = false;
  bool disable_dns_failover = false;
  size_t max_transactions = 65536;  // per worker (sipsd)
  int max_branches = 12;            // per transaction
  // rr
  bool append_fromtag = true;
  bool enable_double_rr = true;
  // path
  bool enable_double_path = true;
  std::string server_header;  // "sipsd (0.1.0)"
  // tls_mgm's client_tls_domain_avp / client_sip_domain_avp as $avp slots of the transaction
  // (-1: unset, or never written by the script): they choose a new TLS connection's client
  // domain by name, or the SIP domain matched against match_sip_domain.
  int client_tls_domain_avp_slot = -1;
  int client_sip_domain_avp_slot = -1;
};

// t_relay() flags (OpenSIPS names).
struct RelayFlags {
  bool no_auto_477 = false;
  bool no_dns_failover = false;
  // "proto:host:port": where to send when neither $du nor anything else says.
  std::string proxy;
};

// What tm needs from the worker: running the script's reply, failure and branch routes.
class TmHost {
 public:
  virtual ~TmHost() = default;
  // The unnamed onreply_route (every reply) and then `route` (the transaction's or branch's
  // named one; invalid when none) on a reply; `edits` are applied when it is relayed. False:
  // the script dropped it (honoured for provisional replies only).
  virtual bool run_reply_routes(Transaction* tx, Branch* branch, RouteRef route,
                                sip::Message& reply, sip::MessageEditor& edits,
                                const Inbound& from) = 0;
  // failure_route `route` for tx (every branch has a final reply; tx->winner is the best).
  virtual void run_failure_route(Transaction& tx, RouteRef route) = 0;
  // branch_route `route` for a branch about to leave; `edits` go into that branch only. False:
  // the script dropped the branch.
  virtual bool run_branch_route(Transaction& tx, Branch& branch, RouteRef route,
                                sip::MessageEditor& edits) = 0;
  // The first final reply of tx is about to go upstream (relayed or local): accounting.
  virtual void on_final_reply(const Transaction& tx, int code, std::string_view reason,
                              std::string_view to_tag) {
    (void)tx, (void)code, (void)reason, (void)to_tag;
  }
};

// do_accounting() bits (RequestCtx::acc, Transaction::acc).
inline constexpr uint8_t kAccLog = 1;     // "log": account the transaction to the log
inline constexpr uint8_t kAccMissed = 2;  // "missed": a failed INVITE is also a missed call
inline constexpr uint8_t kAccFailed = 4;  // "failed": account negative replies too
inline constexpr uint8_t kAccDb = 8;      // "db": account the transaction to acc's database

struct TmSetup {
  struct event_base* base = nullptr;
  Transport* transport = nullptr;
  dns::Resolver* resolver = nullptr;  // null: IP addresses only
  TmConfig config;
  int proc_index = 0;
  HashWords owner_index;  // shared: which worker holds an INVITE server transaction
  TmHost* host = nullptr;
};

class Tm {
 public:
  explicit Tm(TmSetup setup);
  ~Tm();
  Tm(const Tm&) = delete;
  Tm& operator=(const Tm&) = delete;

  // ---- the script's functions (OpenSIPS return values) -------------------------------------
  int t_newtran(RequestCtx& ctx);
  int t_relay(RequestCtx& ctx, const RelayFlags& flags);
  int t_reply(RequestCtx& ctx, int code, std::string_view reason);
  int t_check_trans(RequestCtx& ctx);
  // forward(): stateless, to `dest` ("[proto:]host[:port]" or a URI; "" = $du, else $ru).
  int forward(RequestCtx& ctx, std::string_view dest);

  // ---- messages the worker received --------------------------------------------------------
  // A reply: matched to its transaction here, relayed to the worker that holds it, or relayed
  // statelessly (a 2xx whose transaction is gone, a reply to forward()).
  void on_reply(sip::Message& reply, const Inbound& from);
  // For a CANCEL or ACK before the script runs: the worker that holds the INVITE transaction
  // it belongs to when that is another worker (0 = this one, or none).
  int owner_elsewhere(const sip::Message& req) const;

  // ---- for the script's variables ----------------------------------------------------------
  const TmConfig& config() const { return s_.config; }
  Transport& transport() { return *s_.transport; }
  size_t count() const { return live_.size(); }

  // The Record-Route header value(s) for a branch leaving from `out_socket` of a request that
  // came in on `in_socket` (-1: a local one): one, or two with ;r2=on when the sockets differ.
  std::vector<std::string> record_route_values(const RecordRouteSpec& rr, const sip::Message& req,
                                               int in_socket, int out_socket) const;
  // add_path*(): the Path values (top first) for a request that came from `up` and leaves from
  // `out_socket`: two (;r2=on) when the sockets differ and enable_double_path is on.
  std::vector<std::string> path_values(const PathSpec& path, const Upstream& up,
                                       int out_socket) const;
  // Puts path_values() above the request's own Path headers.
  bool add_path_headers(const PathSpec& path, const Upstream& up, int out_socket,
                        const sip::Message& req, sip::MessageEditor& ed) const;
  // "<sip:[user@]host[:port][;transport=x][;r2=on];lr" of our listener `socket`, as written in
  // Record-Route and Path (advertised address; no port when 5060; no transport for UDP).
  std::string our_route_uri(int socket, std::string_view user, bool r2) const;

 private:
  struct Resolved;

  Transaction* find(uint64_t id) const;
  Transaction* match(const sip::Message& req, bool ack_or_cancel_of_invite) const;
  static std::string match_key(const sip::Message& req, bool as_invite);
  Transaction* create(RequestCtx& ctx);
  bool build_base(Transaction& tx, const RequestCtx& ctx);
  void retire(Transaction& tx);
  static void on_reap(evutil_socket_t, short, void* arg);

  // Branches.
  int add_branch(Transaction& tx, std::string ruri, std::string du, RouteRef on_reply);
  bool run_branch_route(Transaction& tx, Branch& b);
  void start_branch(Transaction& tx, Branch& b);
  void resolved(Transaction& tx, Branch& b, dns::ResolveResult r);
  void send_branch(Transaction& tx, Branch& b);
  // Sends the branch to its next DNS address that takes it. False: none did (the branch ended
  // with a local 477; the caller completes the transaction).
  bool try_next_address(Transaction& tx, Branch& b);
  void branch_failed_locally(Transaction& tx, Branch& b, int code, std::string_view reason);
  // A send with no address left: 477, or 430 (Flow Failed) when the branch is an RFC 5626 flow.
  void send_failed(Transaction& tx, Branch& b);
  void arm_fr(Branch& b, int64_t ms);
  void arm_retransmit(Branch& b);
  static void on_branch_fr(evutil_socket_t, short, void* arg);
  static void on_branch_retransmit(evutil_socket_t, short, void* arg);
  void send_cancel(Transaction& tx, Branch& b, std::string_view reason);
  void cancel_pending_branches(Transaction& tx, Branch* except, std::string_view reason);

  // Replies.
  void branch_reply(Transaction& tx, Branch& b, sip::Message& reply, const Inbound& from);
  void maybe_complete(Transaction& tx);
  int pick_winner(const Transaction& tx) const;
  void relay_reply(Transaction& tx, sip::Message& reply, sip::MessageEditor& edits, int code);
  void relay_stored_reply(Transaction& tx, Branch& b);
  void send_upstream(Transaction& tx, std::string bytes, int code, bool local);
  void reply_local(Transaction& tx, int code, std::string_view reason);
  void finish(Transaction& tx);
  void arm_linger(Transaction& tx);
  static void on_linger(evutil_socket_t, short, void* arg);
  static void on_upstream_retransmit(evutil_socket_t, short, void* arg);
  static void on_lifetime(evutil_socket_t, short, void* arg);
  void handle_cancel(RequestCtx& ctx, Transaction& invite);
  void ack_negative(Transaction& tx, Branch& b, const sip::Message& reply);
  void forward_reply_stateless(sip::Message& reply, const Inbound& from);

  // Next hops.
  bool parse_next_hop(std::string_view uri, dns::SipTarget* t, std::string* why) const;
  Result<NextHop> hop_for(const dns::Destination& d, const Transaction& tx) const;
  int socket_for(Proto proto, const std::string& ip, int forced, const Upstream* up) const;
  std::string via_value(int socket, std::string_view branch) const;
  bool build_request(Transaction& tx, Branch& b, std::string* out);

  TmSetup s_;
  std::unordered_map<uint64_t, std::unique_ptr<Transaction>> live_;
  std::unordered_map<std::string, Transaction*> by_key_;
  std::vector<std::unique_ptr<Transaction>> graveyard_;
  EventPtr reap_ev_;
  uint64_t salt_ = 0;
  uint64_t next_id_ = 1;
  sip::LocalTagGenerator tags_;
  int64_t last_limit_log_ms_ = 0;
  // Scratch, reused.
  sip::MessageEditor editor_;
  std::string out_;
};

}  // namespace sipsd::tm
