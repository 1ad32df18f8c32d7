// sipsctl's human output: pure functions from an MI result (Json) to text, one per command
// shape, and the rate arithmetic of `sipsctl watch`. No I/O here; sipsctl_main.cc talks to the
// FIFO and prints what these return. Every returned text ends with a newline (or is empty).
#pragma once

#include <string>
#include <vector>

#include "core/mi/json.h"

namespace sipsd::ctl {

struct FormatOptions {
  bool color = false;  // ANSI highlighting (sipsctl turns it on for a terminal)
};

// Certificates with fewer days left than this are highlighted by tls_cert_status.
inline constexpr int kCertWarnDays = 14;

// Aligned columns separated by two spaces, a header line first; the last column is not padded.
// Cells may hold ANSI colour sequences (not counted in the width) and UTF-8.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right_aligned = {});

// {"Processes":[{"ID","PID","Type"[,"Listeners":[…]]}]}: ID | PID | Type (| Listeners).
std::string format_ps(const Json& result);
// {"Connections":[…]} (null when TCP is disabled): ID | Type | State | Remote | Local |
// Lifetime | TLS | Verified | SNI | Domain, plus Aliases/Worker when present; the TLS columns
// only when some connection is TLS.
std::string format_tcp_conns(const Json& result);
// {"Domains":[…]}: one block per domain, OpenSIPS's keys in OpenSIPS's order with readable
// labels, then any other keys.
std::string format_tls_list(const Json& result);
// {"Domains":[{"name","type","Subject","SANs","Not after","Days left"}]}: a table; fewer than
// kCertWarnDays days left is highlighted (in colour, or marked "(!)" / "(expired)").
std::string format_cert_status(const Json& result, const FormatOptions& options = {});
// ul_dump / ul_show_contact: {"Domains":[{"AORs":[{"AOR","Contacts":[…]}]}]} or
// {"AOR","Contacts"}: AOR | Contact | Expires | Q | Received | Socket | User-agent.
std::string format_ul_dump(const Json& result);
// {"group:name": value, …}: grouped by the part before ':', groups and names sorted, names
// and values in aligned columns; names without a group first.
std::string format_statistics(const Json& result);
// Indented JSON (two spaces), members in order, repeated keys kept.
std::string format_pretty_json(const Json& value);
// `which`: the command names, in columns.
std::string format_command_list(const Json& result, size_t width = 80);

// What sipsctl prints for `command`'s result: the table for the commands above, a bare
// string as is ("OK"), anything else as indented JSON.
std::string format_result(const std::string& command, const Json& result,
                          const FormatOptions& options = {});

// ---- sipsctl watch ---------------------------------------------------------------------------

// The statistics `watch` asks for (get_statistics selectors).
std::vector<std::string> watch_selectors();

// One watch line: counters of two get_statistics results `seconds` apart, as rates.
struct WatchRates {
  double accepted_per_s = 0;  // tcp: + tls: conns_accepted
  double handshakes_ok_per_s = 0;
  double handshakes_failed_per_s = 0;
  double requests_per_s = 0;  // core:rcv_requests
  long long open = -1;        // tcp: + tls: conns_open (else handled - closed); -1 unknown
};
WatchRates watch_rates(const Json& before, const Json& after, double seconds);
std::string format_watch_header();
std::string format_watch_line(const std::string& time_of_day, const WatchRates& rates);
// --json: one compact object per line.
std::string format_watch_json(const std::string& time_of_day, const WatchRates& rates);

}  // namespace sipsd::ctl
