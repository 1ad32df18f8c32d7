#include "core/cfg/schema_doc.h"

#include <algorithm>

#include "core/cfg/schema.h"

namespace sipsd::cfg {

namespace {

struct Doc {
  std::string_view name;
  std::string_view text;
};

// clang-format off
constexpr Doc kCoreParamDocs[] = {
    {"log_level", "Log threshold: -3 ALERT, -2 CRIT, -1 ERR, 1 WARN, 2 NOTICE, 3 INFO, 4 DBG (no 0)."},
    {"stderror_enabled", "Write log lines to stderr."},
    {"log_stderror", "Old name of stderror_enabled."},
    {"stderror_level_filter", "Only lines at this level or more severe go to stderr (0: all that log_level lets through)."},
    {"stderror_log_format", "stderr line format: plain_text, json or json_cee."},
    {"syslog_enabled", "Send log lines to syslog (/dev/log)."},
    {"syslog_level_filter", "Only lines at this level or more severe go to syslog (0: no filter)."},
    {"syslog_log_format", "syslog message format: plain_text, json or json_cee (\"@cee: {...}\")."},
    {"syslog_facility", "Syslog facility, e.g. LOG_LOCAL0 (default LOG_DAEMON)."},
    {"log_facility", "Old name of syslog_facility."},
    {"syslog_name", "Syslog tag (default \"sipsd\")."},
    {"log_name", "Old name of syslog_name."},
    {"log_prefix", "Text written before the level of every log line."},
    {"log_stdout", "Accepted for compatibility: sipsd never closes stdout."},
    {"xlog_level", "Threshold of xlog() output, independent of log_level (default 2, NOTICE)."},
    {"tcp_workers", "Number of TCP/TLS worker processes."},
    {"tcp_children", "Old name of tcp_workers."},
    {"udp_workers", "Number of processes reading each UDP listener."},
    {"children", "Old name of udp_workers."},
    {"socket", "A listener: proto:host[:port] [as host[:port]] [use_workers N]."},
    {"listen", "Old name of socket."},
    {"alias", "Another name of this server, [proto:]host[:port] (is_myself, loose_route)."},
    {"advertised_address", "Address written in Via and Record-Route for sockets without `as`."},
    {"advertised_port", "Port written in Via and Record-Route for sockets without `as`."},
    {"tcp_max_connections", "Most TCP/TLS connections open at once."},
    {"tcp_connection_lifetime", "Seconds an idle TCP/TLS connection is kept."},
    {"tcp_max_msg_time", "Seconds a connection may take to send one whole message (and its TLS handshake)."},
    {"tcp_socket_backlog", "listen(2) backlog of TCP/TLS listeners (10 as OpenSIPS; raise it, e.g. 1024, where connections come in bursts: a full backlog drops SYNs, and clients retry only after 1, 3, 7 s)."},
    {"tcp_keepalive", "Enable TCP keepalive on connections."},
    {"tcp_keepcount", "TCP keepalive probes before the connection is dropped (0: OS default)."},
    {"tcp_keepidle", "Idle seconds before TCP keepalive probes start (0: OS default)."},
    {"tcp_keepinterval", "Seconds between TCP keepalive probes (0: OS default)."},
    {"tcp_accept_aliases", "RFC 5923 connection reuse: 1 with ;alias in Via, 2 always, 0 never."},
    {"tcp_max_output_queue", "Bytes queued for a peer that does not read before its connection is closed."},
    {"user", "Drop privileges to this user after binding."},
    {"group", "Drop privileges to this group after binding."},
    {"dns_try_naptr", "Use NAPTR records (RFC 3263)."},
    {"dns_try_ipv6", "Look up AAAA records too."},
    {"dns_retr_time", "Seconds before a DNS query is retried (0: resolver default)."},
    {"dns_retr_no", "DNS tries per server (0: resolver default)."},
    {"disable_dns_failover", "Do not fail over to the next DNS address after 503/408."},
    {"dns_servers", "DNS servers \"ip[:port],...\" instead of /etc/resolv.conf (sipsd only)."},
    {"dns_max_pending", "Resolutions waiting for DNS per process (sipsd only)."},
    {"check_via", "Only \"no\" (OpenSIPS's default): sipsd does not check the Via host by DNS."},
    {"dns", "Only \"no\" (OpenSIPS's default): no DNS lookup of the Via host."},
    {"rev_dns", "Only \"no\" (OpenSIPS's default): no reverse DNS lookup of the source."},
    {"max_while_loops", "Iterations one while loop may run before it is cut short."},
    {"tcp_worker_stall_timeout", "Milliseconds a TCP worker may show no progress before it gets no new connections (0: off; sipsd only)."},
};

constexpr Doc kModuleDocs[] = {
    {"proto_tls", "SIP over TLS listeners and outbound TLS connections."},
    {"proto_tcp", "SIP over TCP."},
    {"proto_udp", "SIP over UDP."},
    {"tls_mgm", "TLS domains: certificates, keys, CAs, methods, matching; $tls_* variables."},
    {"tls_openssl", "The TLS library module (sipsd always uses OpenSSL); tls_wolfssl is accepted as this."},
    {"sl", "Stateless replies."},
    {"sipmsgops", "Header and message checks and edits."},
    {"mi_fifo", "Management interface over a FIFO (OpenSIPS JSON-RPC)."},
    {"signaling", "Replies that are stateful when a transaction exists."},
    {"maxfwd", "Max-Forwards handling."},
    {"tm", "Transactions: stateful forwarding, failure/reply/branch routes."},
    {"rr", "Record-Route and loose routing."},
    {"path", "Path headers for REGISTERs relayed to a registrar (RFC 3327), flow tokens (RFC 5626)."},
    {"acc", "Accounting of transactions and missed calls to the log (syslog/stderr) and to the acc/missed_calls tables (db_sqlite)."},
    {"usrloc", "The location table (bindings) in shared memory; db_mode 0 or 2 (SQLite write-back); ul_* MI."},
    {"registrar", "REGISTER handling (save) and finding a user's phones (lookup), serial forking by q."},
    {"auth", "Digest authentication: challenges, nonces (any worker verifies), consume_credentials."},
    {"auth_db", "Digest credentials from the subscriber table (cached in shared memory)."},
    {"db_sqlite", "The SQLite database driver (db_url sqlite:///path)."},
};

constexpr Doc kModParamDocs[] = {
    {"proto_tls.tls_port", "Port of tls listeners that name none (default 5061)."},
    {"proto_tls.tls_crlf_pingpong", "Answer a CRLFCRLF keepalive with CRLF."},
    {"proto_tls.tls_crlf_drop", "Drop lone CRLF keepalives."},
    {"proto_tls.tls_max_msg_chunks", "Most reads one message may span; more closes the connection."},
    {"proto_tls.cert_check_on_conn_reusage", "Reuse an outbound connection only if made with the same client domain."},
    {"proto_tls.tls_record_handoff", "After a TLS 1.3 handshake, seal and open records in sipsd and free OpenSSL's SSL object (1; sipsd only)."},
    {"proto_tls.tls_handshake_timeout", "Accepted, no effect (handshakes are bounded by tcp_max_msg_time)."},
    {"proto_tls.tls_send_timeout", "Accepted, no effect (writes never block)."},
    {"proto_tcp.tcp_port", "Port of tcp listeners that name none (default 5060)."},
    {"proto_tcp.tcp_crlf_pingpong", "Answer a CRLFCRLF keepalive with CRLF."},
    {"proto_tcp.tcp_crlf_drop", "Drop lone CRLF keepalives."},
    {"proto_tcp.tcp_max_msg_chunks", "Most reads one message may span."},
    {"proto_tcp.tcp_send_timeout", "Accepted, no effect (writes never block)."},
    {"proto_udp.udp_port", "Port of udp listeners that name none (default 5060)."},
    {"tls_mgm.server_domain", "Declares a server domain (name)."},
    {"tls_mgm.client_domain", "Declares a client domain (name)."},
    {"tls_mgm.match_ip_address", "[dom]ip:port,... the domain serves (or \"*\")."},
    {"tls_mgm.match_sip_domain", "[dom]names/globs matched against SNI or the SIP domain."},
    {"tls_mgm.certificate", "[dom]certificate chain file (PEM)."},
    {"tls_mgm.private_key", "[dom]private key file (PEM, unencrypted, mode 0600)."},
    {"tls_mgm.ca_list", "[dom]trusted CA certificates (PEM)."},
    {"tls_mgm.ca_dir", "[dom]directory of trusted CA certificates."},
    {"tls_mgm.crl_dir", "[dom]directory of CRLs."},
    {"tls_mgm.crl_check_all", "[dom]check CRLs for the whole chain."},
    {"tls_mgm.verify_cert", "[dom]verify the peer's certificate."},
    {"tls_mgm.require_cert", "[dom]server: require a client certificate."},
    {"tls_mgm.ciphers_list", "[dom]TLS 1.2 cipher list (OpenSSL syntax)."},
    {"tls_mgm.tls_method", "[dom]TLS versions: TLSv1_2, TLSv1_3, ranges such as TLSv1_2-TLSv1_3."},
    {"tls_mgm.dh_params", "[dom]Diffie-Hellman parameters file."},
    {"tls_mgm.ec_curve", "[dom]elliptic curve for ECDHE."},
    {"tls_mgm.ciphersuites", "[dom]TLS 1.3 cipher suites."},
    {"tls_mgm.verify_depth", "[dom]longest certificate chain accepted."},
    {"tls_mgm.ticket_key_file", "File of TLS session-ticket keys shared by several servers (sipsd only)."},
    {"tls_mgm.ticket_key_interval", "Seconds between session-ticket key rotations (sipsd only)."},
    {"mi_fifo.fifo_name", "Path of the management FIFO."},
    {"mi_fifo.fifo_mode", "Permissions of the FIFO (default 0600)."},
    {"mi_fifo.fifo_user", "Owner of the FIFO."},
    {"mi_fifo.fifo_group", "Group of the FIFO."},
    {"mi_fifo.reply_dir", "Directory of the reply FIFOs."},
    {"mi_fifo.pretty_printing", "Accepted, no effect (replies are one line of JSON)."},
    {"tm.fr_timeout", "Seconds to wait for a final reply (non-INVITE) / a provisional one."},
    {"tm.fr_inv_timeout", "Seconds to wait for a final reply to an INVITE after a provisional."},
    {"tm.T1_timer", "RFC 3261 T1 in milliseconds."},
    {"tm.T2_timer", "RFC 3261 T2 in milliseconds."},
    {"tm.wt_timer", "Seconds a completed transaction lingers for retransmissions."},
    {"tm.restart_fr_on_each_reply", "Restart fr_inv_timeout on each provisional reply."},
    {"tm.auto_100trying", "Send 100 Trying for INVITEs automatically."},
    {"tm.disable_6xx_block", "Do not cancel other branches on a 6xx."},
    {"tm.max_transactions", "Most transactions per worker (sipsd's bound)."},
    {"tm.max_branches", "Most branches per transaction."},
    {"tm.delete_timer", "Accepted, no effect."},
    {"tm.onreply_avp_mode", "Accepted, no effect ($avp is always visible in onreply routes)."},
    {"tm.syn_branch", "Accepted, no effect."},
    {"rr.append_fromtag", "Add the From tag to Record-Route (;ftag=)."},
    {"rr.enable_double_rr", "Two Record-Routes when the message changes transport/interface."},
    {"rr.add_username", "Accepted, no effect."},
    {"rr.enable_socket_mismatch_warning", "Accepted, no effect."},
    {"path.use_received", "loose_route() sends to our Route's ;received= address (add_path_received)."},
    {"path.enable_double_path", "Two Path headers when the REGISTER changes transport/interface."},
    {"acc.log_level", "Level of the ACC log lines (default 2, NOTICE)."},
    {"acc.log_facility", "Syslog facility of the ACC log lines (default LOG_DAEMON)."},
    {"acc.db_url", "Database of do_accounting(\"db\") (sqlite:///path; written by the supervisor in batches)."},
    {"acc.db_table_acc", "Table of accounted transactions (default acc)."},
    {"acc.db_table_missed_calls", "Table of missed calls (default missed_calls)."},
    {"acc.early_media", "Only 0 (OpenSIPS's default): provisional replies are not accounted."},
    {"acc.report_cancels", "Only 0 (OpenSIPS's default): CANCELs are not accounted."},
    {"acc.detect_direction", "Only 0 (OpenSIPS's default)."},
    {"maxfwd.max_limit", "Accepted, no effect (the function's argument is used)."},
    {"tls_mgm.db_url", "Load TLS domains from this database's tls_mgm table too (re-read by tls_reload)."},
    {"tls_mgm.db_table", "Table of the TLS domains in db_url (default tls_mgm)."},
    {"tls_mgm.client_tls_domain_avp", "AVP naming the client domain of a new outbound TLS connection."},
    {"tls_mgm.client_sip_domain_avp", "AVP holding the SIP domain that picks the client domain (match_sip_domain)."},
    {"usrloc.db_mode", "0 memory only; 2 write-back to db_url (loaded at start, written every timer_interval)."},
    {"usrloc.working_mode_preset", "single-instance-no-db or single-instance-sql-write-back (db_mode 0 or 2)."},
    {"usrloc.db_url", "Database of the location table (sqlite:///path)."},
    {"usrloc.timer_interval", "Seconds between expiry runs (and write-backs in db_mode 2)."},
    {"usrloc.nat_bflag", "Branch flag saved with a binding to mark it as behind NAT."},
    {"usrloc.use_domain", "AoRs include the domain (user@domain) instead of the user only."},
    {"usrloc.hash_size", "The table has 2^hash_size buckets (default 9)."},
    {"usrloc.cseq_delay", "Seconds within which a REGISTER with an old CSeq is accepted as a retransmission."},
    {"usrloc.max_contacts_total", "Bindings the shared table holds (default 65536; sipsd only)."},
    {"usrloc.matching_mode", "Only 0: contacts match by URI."},
    {"usrloc.desc_time_order", "Accepted, no effect: equal q lists oldest first."},
    {"registrar.default_expires", "Expires of a binding that gives none (default 3600)."},
    {"registrar.min_expires", "Shorter expires are raised to this (default 60)."},
    {"registrar.max_expires", "Longer expires are lowered to this (0: no limit)."},
    {"registrar.max_contacts", "Most bindings per AoR (0: no limit); more gets 503."},
    {"registrar.tcp_persistent_flag", "Flag that ties a TCP/TLS connection's life to its binding's."},
    {"registrar.received_avp", "AVP holding the source address to store as 'received'."},
    {"registrar.received_param", "Name of the Contact parameter that carries 'received' (default received)."},
    {"registrar.retry_after", "Retry-After seconds on a 503 for too many contacts (0: none)."},
    {"registrar.case_sensitive", "Accepted, no effect: AoRs are compared as written."},
    {"auth.nonce_expire", "Seconds a nonce stays valid (default 30)."},
    {"auth.secret", "Secret that seals nonces (default: random at start)."},
    {"auth.disable_nonce_check", "1: do not track nonce counts (replays are not refused)."},
    {"auth.realm_prefix", "Prefix removed from the realm taken from the request."},
    {"auth.nonce_index_size", "Slots of the shared nonce-count index (sipsd only)."},
    {"auth.rpid_prefix", "Accepted, no effect: sipsd has no RPID functions."},
    {"auth.rpid_suffix", "Accepted, no effect: sipsd has no RPID functions."},
    {"auth_db.db_url", "Database of the subscriber table (sqlite:///path)."},
    {"auth_db.calculate_ha1", "1: compute HA1 from the plain password column."},
    {"auth_db.user_column", "Column of the user name (default username)."},
    {"auth_db.domain_column", "Column of the domain (default domain)."},
    {"auth_db.password_column", "Column of HA1 (or of the password with calculate_ha1)."},
    {"auth_db.hash_column_sha256", "Column of the SHA-256 HA1."},
    {"auth_db.hash_column_sha512t256", "Column of the SHA-512-256 HA1."},
    {"auth_db.use_domain", "Match the domain as well as the user name."},
    {"auth_db.skip_version_check", "Do not check the subscriber table's version row."},
    {"auth_db.load_credentials", "Only \"\": no columns are loaded into AVPs."},
    {"auth_db.cache_size", "Subscribers the shared cache holds (sipsd only)."},
    {"auth_db.cache_refresh", "Seconds between checks for database changes (sipsd only)."},
    {"db_sqlite.busy_timeout", "Accepted, no effect: sipsd's connections wait 500 ms for a writer."},
    {"db_sqlite.alloc_limit", "Accepted, no effect: rows are read one at a time."},
    {"db_sqlite.exec_pragma", "Accepted, no effect: sipsctl db init sets WAL mode."},
};

constexpr Doc kFunctionDocs[] = {
    {"xlog", "Log a formatted line: xlog([level,] format)."},
    {"setflag", "Set a message flag."},
    {"resetflag", "Clear a message flag."},
    {"isflagset", "True if a message flag is set."},
    {"force_rport", "Add rport to the received Via as if the client had asked for it."},
    {"force_send_socket", "Send from this listener ([proto:]ip[:port]), named in Via and Record-Route."},
    {"forward", "Forward statelessly to the R-URI or the given destination."},
    {"is_myself", "True if host[:port] (or a URI) is this server (listeners, `as`, alias)."},
    {"setbflag", "Set a branch flag of the R-URI branch."},
    {"resetbflag", "Clear a branch flag of the R-URI branch."},
    {"isbflagset", "True if a branch flag of the R-URI branch is set."},
    {"strip", "Remove the first N characters of the R-URI user."},
    {"prefix", "Put a prefix before the R-URI user."},
    {"rewriteuser", "Replace the R-URI user."},
    {"rewritehostport", "Replace the R-URI host and port (\"host[:port]\")."},
    {"sl_send_reply", "Send a stateless reply (code, reason)."},
    {"sl_reply_error", "Send the stateless error reply the last failure calls for."},
    {"send_reply", "Reply statefully when a transaction exists, else statelessly."},
    {"is_method", "True if the method is one of \"A|B|...\"."},
    {"append_hf", "Append a header (after the last, or after the named one)."},
    {"insert_hf", "Insert a header (before the first, or before the named one)."},
    {"remove_hf", "Remove every header of that name."},
    {"is_present_hf", "True if the message has a header of that name."},
    {"has_totag", "True if the To header has a tag (in-dialog request)."},
    {"has_body", "True if the message has a body (of the given content type)."},
    {"mf_process_maxfwd_header", "Add or decrement Max-Forwards; false when it reached 0."},
    {"t_relay", "Forward statefully (creates the transaction)."},
    {"t_newtran", "Create the transaction for the request."},
    {"t_reply", "Reply within the transaction."},
    {"t_check_trans", "True if the request belongs to a known transaction (retransmissions end here)."},
    {"t_on_failure", "failure_route to run when the transaction fails."},
    {"t_on_reply", "onreply_route to run for its replies."},
    {"t_on_branch", "branch_route to run for each branch."},
    {"t_check_status", "True if the reply status matches the regex."},
    {"t_was_cancelled", "True if the transaction was cancelled."},
    {"t_local_replied", "True if the replies were made locally (all|branch|last)."},
    {"record_route", "Add Record-Route (with optional parameters)."},
    {"record_route_preset", "Add a Record-Route with the given address."},
    {"loose_route", "Route by the Route headers (RFC 3261 loose routing); 2: by a flow token, -2: a forged one."},
    {"add_path", "Add our Path header (a flow token and ;ob for an outbound REGISTER at its first hop)."},
    {"add_path_received", "add_path() with ;received= naming where the REGISTER came from."},
    {"add_rr_param", "Add a parameter to the Record-Route."},
    {"check_route_param", "True if the Route parameters match the regex."},
    {"is_direction", "True if the request goes downstream/upstream (ftag)."},
    {"do_accounting", "Account the transaction: do_accounting(\"log\"|\"db\"|\"log|db\"[, \"missed|failed\"])."},
    {"is_peer_verified", "True if the TLS peer's certificate was verified."},
    {"save", "Store the REGISTER's bindings and reply (flags: no-reply, max-contacts=N, path-*, ...)."},
    {"lookup", "Set the R-URI (and branches) to the AoR's bindings, best q first; -1 none, -2 method not allowed."},
    {"is_registered", "True if the AoR has a binding."},
    {"remove", "Remove an AoR's bindings (or one contact)."},
    {"serialize_branches", "Group the R-URI and branches by q for serial forking."},
    {"next_branches", "Take the next q group of branches (1 more remain, 2 the last, -1 none)."},
    {"www_authorize", "Check the Authorization credentials against the subscriber table (1 ok, -1..-5 as OpenSIPS)."},
    {"proxy_authorize", "Check the Proxy-Authorization credentials against the subscriber table."},
    {"www_challenge", "Send 401 with WWW-Authenticate (qop, algorithms MD5/SHA-256/SHA-512-256)."},
    {"proxy_challenge", "Send 407 with Proxy-Authenticate."},
    {"consume_credentials", "Remove the credentials just checked before relaying."},
    {"db_is_to_authorized", "True if the To user is the authorized user."},
    {"db_is_from_authorized", "True if the From user is the authorized user."},
};

constexpr Doc kVariableDocs[] = {
    {"rm", "Method (of the CSeq on a reply)."},
    {"ru", "Request-URI."},
    {"si", "Source IP."},
    {"sp", "Source port."},
    {"proto", "Transport of the received message (OpenSIPS 2.x; use $socket_in(proto))."},
    {"ci", "Call-ID."},
    {"ua", "User-Agent."},
    {"rU", "User of the Request-URI."},
    {"rd", "Host of the Request-URI."},
    {"rp", "Port of the Request-URI."},
    {"rP", "Transport parameter of the Request-URI."},
    {"du", "Destination URI (next hop); NULL resets."},
    {"fu", "From URI."},
    {"fU", "From user."},
    {"fd", "From host."},
    {"ft", "From tag."},
    {"tu", "To URI."},
    {"tU", "To user."},
    {"td", "To host."},
    {"tt", "To tag."},
    {"cs", "CSeq number."},
    {"socket_in", "Receiving socket \"proto:ip:port\", or one field: (proto), (ip), (port)."},
    {"socket_out", "Forced sending socket (force_send_socket or assigned: $socket_out = \"udp:ip:port\"; NULL unforces), or one field."},
    {"Ri", "Receiving IP (OpenSIPS 2.x)."},
    {"Rp", "Receiving port (OpenSIPS 2.x)."},
    {"rs", "Reply status."},
    {"rr", "Reply reason."},
    {"hdr", "Header body: $hdr(Name), $(hdr(Name)[i])."},
    {"T_reply_code", "Reply code of the transaction's (winning) reply."},
    {"T_branch_idx", "Index of the branch being handled."},
    {"var", "Script variable of this process: $var(x)."},
    {"avp", "Attribute of the transaction: $avp(x)."},
    {"rc", "Return code of the last function or route."},
    {"retcode", "Same as $rc."},
    {"param", "Route parameter: $param(n)."},
    {"rb", "Message body."},
    {"cl", "Body length."},
    {"Ts", "Current Unix time."},
    {"pp", "Process id."},
    {"time", "Current local time through strftime: $time(%H:%M)."},
    {"au", "User name of the credentials just authorized (user@domain with use_domain)."},
    {"ad", "Domain (realm) of the credentials just authorized."},
    {"aU", "User part of the authorized user name."},
    {"ar", "Realm of the credentials."},
};
// clang-format on

std::string_view find_doc(std::span<const Doc> table, std::string_view name) {
  for (const Doc& d : table)
    if (d.name == name) return d.text;
  return {};
}

// "$tls_peer_subject_cn": the peer's (or our) certificate, field of subject/issuer.
std::string tls_variable_doc(std::string_view name) {
  static constexpr Doc kFixed[] = {
      {"tls_version", "TLS version of the connection."},
      {"tls_description", "Cipher description."},
      {"tls_cipher_info", "Cipher name."},
      {"tls_cipher_bits", "Cipher key bits."},
      {"tls_peer_verified", "\"1\" if the peer's certificate was verified."},
      {"tls_peer_revoked", "\"1\" if the peer's certificate is revoked."},
      {"tls_peer_expired", "\"1\" if the peer's certificate has expired."},
      {"tls_peer_selfsigned", "\"1\" if the peer's certificate is self-signed."},
      {"tls_peer_notBefore", "Start of the peer certificate's validity."},
      {"tls_peer_notAfter", "End of the peer certificate's validity."},
      {"tls_sni", "Server name the client sent (sipsd only)."},
      {"tls_domain", "The tls_mgm domain that serves the connection (sipsd only)."},
      {"tls_peer_fingerprint", "SHA-256 fingerprint of the peer's certificate (sipsd only)."},
  };
  std::string_view fixed = find_doc(kFixed, name);
  if (!fixed.empty()) return std::string(fixed);
  std::string_view rest = name.substr(4);  // after "tls_"
  const bool peer = rest.starts_with("peer_");
  rest.remove_prefix(peer ? 5 : 3);
  std::string out = peer ? "Peer certificate: " : "Our certificate: ";
  static constexpr Doc kParts[] = {
      {"version", "X.509 version"}, {"serial", "serial number"},  {"subject", "subject"},
      {"issuer", "issuer"},         {"san_email", "SAN email"},   {"san_hostname", "SAN DNS name"},
      {"san_uri", "SAN URI"},       {"san_ip", "SAN IP address"},
  };
  static constexpr Doc kFields[] = {
      {"cn", "common name"},
      {"locality", "locality"},
      {"country", "country"},
      {"state", "state"},
      {"organization", "organization"},
      {"unit", "organizational unit"},
      {"serial", "serial number"},
  };
  for (const Doc& p : kParts) {
    if (!rest.starts_with(p.name)) continue;
    std::string_view field = rest.substr(p.name.size());
    out += p.text;
    if (field.starts_with("_")) {
      out += " ";
      out += find_doc(kFields, field.substr(1));
    }
    return out + ".";
  }
  return {};
}

std::string escape_cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string_view describe(DocKind kind, std::string_view name) {
  switch (kind) {
    case DocKind::kCoreParam:
      return find_doc(kCoreParamDocs, name);
    case DocKind::kModule:
      return find_doc(kModuleDocs, name);
    case DocKind::kModParam:
      return find_doc(kModParamDocs, name);
    case DocKind::kFunction:
      return find_doc(kFunctionDocs, name);
    case DocKind::kVariable:
      return find_doc(kVariableDocs, name);
  }
  return {};
}

std::string schema_markdown() {
  std::string md;
  auto row = [&md](std::initializer_list<std::string> cells) {
    md += "|";
    for (const std::string& c : cells) md += " " + escape_cell(c) + " |";
    md += "\n";
  };
  md += "#### Core parameters\n\n| parameter | meaning |\n| --- | --- |\n";
  for (const CoreParamDef& p : core_param_defs())
    row({"`" + std::string(p.name) + "`", std::string(describe(DocKind::kCoreParam, p.name))});
  md += "\n#### Modules\n\n| module | meaning |\n| --- | --- |\n";
  for (const ModuleDef& m : module_defs()) {
    std::string text(describe(DocKind::kModule, m.name));
    if (!m.ready) text += " (not carried out yet)";
    row({"`" + std::string(m.name) + "`", text});
  }
  md += "\n#### Module parameters\n\n| module | parameter | meaning |\n| --- | --- | --- |\n";
  for (const ModuleDef& m : module_defs()) {
    for (const ModParamDef& p : m.params) {
      const std::string key = std::string(m.name) + "." + std::string(p.name);
      row({"`" + std::string(m.name) + "`", "`" + std::string(p.name) + "`",
           std::string(describe(DocKind::kModParam, key))});
    }
  }
  md += "\n#### Functions\n\n| function | module | meaning |\n| --- | --- | --- |\n";
  auto func_row = [&](const FuncDef& f, std::string_view module) {
    if (!f.ready) return;
    row({"`" + std::string(f.name) + "()`", std::string(module),
         std::string(describe(DocKind::kFunction, f.name))});
  };
  for (const FuncDef& f : core_func_defs()) func_row(f, "core");
  for (const ModuleDef& m : module_defs())
    for (const FuncDef& f : m.funcs) func_row(f, m.name);
  md +=
      "\n#### Variables\n\n| variable | module | writable | meaning |\n| --- | --- | --- | --- |\n";
  for (const PvDef& p : pv_defs()) {
    if (!p.ready) continue;
    std::string text(describe(DocKind::kVariable, p.name));
    if (text.empty() && p.name.starts_with("tls_")) text = tls_variable_doc(p.name);
    std::string spelled = "$" + std::string(p.name) + (p.arg == PvArg::kName ? "(...)" : "");
    row({"`" + spelled + "`", p.module.empty() ? "core" : std::string(p.module),
         p.writable ? "yes" : "", text});
  }
  return md;
}

}  // namespace sipsd::cfg
