#include "core/ctl/sipsctl_format.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include "core/base/printable.h"
#include "core/base/result.h"

namespace sipsd::ctl {

namespace {

constexpr const char* kRed = "\033[1;31m";
constexpr const char* kReset = "\033[0m";

// Display width: ANSI "ESC [ … m" sequences take none, a UTF-8 sequence takes one column.
size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

void pad_to(std::string* out, size_t have, size_t want) {
  if (want > have) out->append(want - have, ' ');
}

void trim_trailing_blanks(std::string* line) {
  while (!line->empty() && line->back() == ' ') line->pop_back();
}

// Text from the server for the terminal: every string shown goes through this (SNI, subjects,
// SANs and the like come from peers and files): control bytes, ill-formed UTF-8 and terminal or
// bidi controls are escaped (core/base/printable.h), so a cell cannot move the cursor, change
// colours or start a new row. The --json output is JSON-escaped instead.
std::string shown(std::string_view s) {
  return printable(s, kPrintableAll);
}

// A value as table cell text: strings shown(), booleans yes/no, arrays joined, null "-".
std::string cell(const Json* v) {
  if (v == nullptr || v->is_null()) return "-";
  switch (v->type()) {
    case Json::Type::kString:
      return v->as_string().empty() ? "-" : shown(v->as_string());
    case Json::Type::kBool:
      return v->as_bool() ? "yes" : "no";
    case Json::Type::kArray: {
      std::string out;
      for (const Json& item : v->items()) {
        if (!out.empty()) out += ", ";
        out += item.is_string() ? shown(item.as_string()) : item.dump();
      }
      return out.empty() ? "-" : out;
    }
    default:
      return v->dump();
  }
}

std::string cell(const Json& obj, std::string_view key) {
  return cell(obj.find(key));
}

// The array under `key` in an object result, or null when the shape is something else.
const Json* list_of(const Json& result, std::string_view key) {
  if (!result.is_object()) return nullptr;
  const Json* list = result.find(key);
  if (list == nullptr || !list->is_array()) return nullptr;
  for (const Json& item : list->items())
    if (!item.is_object()) return nullptr;
  return list;
}

std::string domain_type(const Json& domain) {
  const Json* t = domain.find("type");
  if (t == nullptr || !t->is_string()) return cell(t);
  const std::string& s = t->as_string();
  if (s == "TLS_DOMAIN_SRV") return "server";
  if (s == "TLS_DOMAIN_CLI") return "client";
  return shown(s);
}

std::string conn_state(const Json* state) {
  if (state == nullptr || !state->is_int()) return cell(state);
  switch (state->as_int()) {
    case 0:
      return "ok";
    case 1:
      return "connecting";
    case 2:
      return "eof";
    case -1:
      return "bad";
    case -2:
      return "error";
    default:
      return state->dump();
  }
}

void pretty_to(const Json& v, int depth, std::string* out) {
  auto indent = [&](int d) { out->append(static_cast<size_t>(d) * 2, ' '); };
  if (v.is_array() && v.size() > 0) {
    out->append("[\n");
    for (size_t i = 0; i < v.items().size(); ++i) {
      indent(depth + 1);
      pretty_to(v.items()[i], depth + 1, out);
      out->append(i + 1 < v.items().size() ? ",\n" : "\n");
    }
    indent(depth);
    out->push_back(']');
  } else if (v.is_object() && v.size() > 0) {
    out->append("{\n");
    for (size_t i = 0; i < v.members().size(); ++i) {
      indent(depth + 1);
      Json(v.members()[i].first).dump_to(out);
      out->append(": ");
      pretty_to(v.members()[i].second, depth + 1, out);
      out->append(i + 1 < v.members().size() ? ",\n" : "\n");
    }
    indent(depth);
    out->push_back('}');
  } else {
    v.dump_to(out);
  }
}

std::optional<long long> stat_value(const Json& stats, const std::string& name) {
  if (!stats.is_object()) return std::nullopt;
  const Json* v = stats.find(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->as_int();
  if (v->is_string()) {
    const std::string& s = v->as_string();
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    long long n = strtoll(s.c_str(), &end, 10);
    if (end != nullptr && *end == '\0') return n;
  }
  return std::nullopt;
}

// The sum of `name` over the tcp: and tls: groups, or nothing when neither has it.
std::optional<long long> transport_sum(const Json& stats, const std::string& name) {
  std::optional<long long> sum;
  for (const char* group : {"tcp:", "tls:"}) {
    if (auto v = stat_value(stats, group + name)) sum = sum.value_or(0) + *v;
  }
  return sum;
}

double rate(std::optional<long long> before, std::optional<long long> after, double seconds) {
  if (!after || seconds <= 0) return 0;
  long long b = before.value_or(0);
  long long delta = *after >= b ? *after - b : *after;  // reset in between: count from zero
  return static_cast<double>(delta) / seconds;
}

}  // namespace

// ---- tables ----------------------------------------------------------------------------------

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right_aligned) {
  const size_t ncols = header.size();
  std::vector<size_t> width(ncols, 0);
  for (size_t c = 0; c < ncols; ++c) width[c] = display_width(header[c]);
  for (const auto& row : rows)
    for (size_t c = 0; c < ncols && c < row.size(); ++c)
      width[c] = std::max(width[c], display_width(row[c]));

  auto line = [&](const std::vector<std::string>& cells, bool is_header) {
    std::string out;
    for (size_t c = 0; c < ncols; ++c) {
      const std::string empty;
      const std::string& text = c < cells.size() ? cells[c] : empty;
      size_t w = display_width(text);
      bool right = !is_header && c < right_aligned.size() && right_aligned[c];
      if (is_header && c < right_aligned.size() && right_aligned[c]) right = true;
      if (c > 0) out += "  ";
      if (right) pad_to(&out, w, width[c]);
      out += text;
      if (!right && c + 1 < ncols) pad_to(&out, w, width[c]);
    }
    trim_trailing_blanks(&out);
    return out + "\n";
  };

  std::string out = line(header, true);
  for (const auto& row : rows) out += line(row, false);
  return out;
}

std::string format_ps(const Json& result) {
  const Json* procs = list_of(result, "Processes");
  if (procs == nullptr) return format_pretty_json(result);
  bool listeners = false;
  bool stalled = false;
  for (const Json& p : procs->items()) {
    listeners = listeners || p.find("Listeners") != nullptr;
    stalled = stalled || p.find("Stalled") != nullptr;
  }
  std::vector<std::string> header = {"ID", "PID", "Type"};
  if (listeners) header.push_back("Listeners");
  if (stalled) header.push_back("Stalled");
  std::vector<std::vector<std::string>> rows;
  for (const Json& p : procs->items()) {
    std::vector<std::string> row = {cell(p, "ID"), cell(p, "PID"), cell(p, "Type")};
    if (listeners) row.push_back(p.find("Listeners") ? cell(p, "Listeners") : "");
    if (stalled) row.push_back(p.find("Stalled") ? cell(p, "Stalled") : "");
    rows.push_back(std::move(row));
  }
  return format_table(header, rows, {true, true});
}

std::string format_tcp_conns(const Json& result) {
  if (result.is_null()) return "TCP is disabled\n";
  const Json* conns = list_of(result, "Connections");
  if (conns == nullptr) return format_pretty_json(result);
  if (conns->size() == 0) return "no connections\n";

  bool tls = false;
  bool aliases = false;
  bool worker = false;
  for (const Json& c : conns->items()) {
    const Json* type = c.find("Type");
    tls = tls || (type && type->is_string() && type->as_string() == "tls") ||
          c.find("TLS Version") || c.find("TLS Cipher");
    aliases = aliases || c.find("Alias port");
    worker = worker || c.find("Worker");
  }
  std::vector<std::string> header = {"ID", "Type", "State", "Remote", "Local", "Lifetime"};
  if (tls) header.insert(header.end(), {"TLS", "Verified", "SNI", "Domain"});
  if (aliases) header.push_back("Aliases");
  if (worker) header.push_back("Worker");

  std::vector<std::vector<std::string>> rows;
  for (const Json& c : conns->items()) {
    std::vector<std::string> row = {
        cell(c, "ID"),     cell(c, "Type"),  conn_state(c.find("State")),
        cell(c, "Remote"), cell(c, "Local"), cell(c, "Lifetime")};
    if (tls) {
      const Json* version = c.find("TLS Version");
      const Json* cipher = c.find("TLS Cipher");
      std::string summary = cell(version);
      if (cipher) summary += "/" + cell(cipher);
      row.push_back(summary);
      row.push_back(cell(c, "TLS Peer verified"));
      row.push_back(cell(c, "TLS SNI"));
      row.push_back(cell(c, "TLS Domain"));
    }
    if (aliases) {
      std::string ports;
      for (const auto& [key, value] : c.members()) {
        if (key != "Alias port") continue;
        if (!ports.empty()) ports += ",";
        ports += cell(&value);
      }
      row.push_back(ports.empty() ? "-" : ports);
    }
    if (worker) row.push_back(cell(c, "Worker"));
    rows.push_back(std::move(row));
  }
  std::vector<bool> right(header.size(), false);
  right[0] = true;
  if (worker) right.back() = true;
  return format_table(header, rows, right);
}

std::string format_ul_dump(const Json& result) {
  auto text = [](const Json* v) -> std::string {
    if (v == nullptr) return "";
    if (v->is_string()) return v->as_string();
    if (v->is_number()) return std::to_string(v->as_int());
    return v->dump();
  };
  std::vector<std::vector<std::string>> rows;
  auto add_aor = [&](const Json& aor) {
    const Json* contacts = aor.find("Contacts");
    if (contacts == nullptr) return;
    for (const Json& c : contacts->items())
      rows.push_back({text(aor.find("AOR")), text(c.find("Contact")), text(c.find("Expires")),
                      text(c.find("Q")), text(c.find("Received")), text(c.find("Socket")),
                      text(c.find("User-agent"))});
  };
  if (const Json* domains = result.find("Domains")) {
    for (const Json& d : domains->items())
      if (const Json* aors = d.find("AORs"))
        for (const Json& a : aors->items()) add_aor(a);
  } else {
    add_aor(result);
  }
  if (rows.empty()) return "no registrations\n";
  return format_table({"AOR", "Contact", "Expires", "Q", "Received", "Socket", "User-agent"}, rows,
                      {false, false, true, true, false, false, false});
}

std::string format_tls_list(const Json& result) {
  const Json* domains = list_of(result, "Domains");
  if (domains == nullptr) return format_pretty_json(result);
  if (domains->size() == 0) return "no TLS domains\n";
  // OpenSIPS's keys in OpenSIPS's order, with readable labels; keys not known here follow.
  static const std::pair<const char*, const char*> kLabels[] = {
      {"IP ADDRESS FILTERS", "match IP addresses"},
      {"SIP DOMAIN FILTERS", "match SIP domains"},
      {"METHOD", "TLS method"},
      {"VERIFY_CERT", "verify peer cert"},
      {"REQ_CLI_CERT", "require peer cert"},
      {"CRL_CHECKALL", "CRL check all"},
      {"CERT_FILE", "certificate"},
      {"CRL_DIR", "CRL dir"},
      {"CA_FILE", "CA file"},
      {"CA_DIR", "CA dir"},
      {"PKEY_FILE", "private key"},
      {"CIPHER_LIST", "ciphers"},
      {"DH_PARAMS_FILE", "DH params"},
      {"EC_CURVE", "EC curve"},
  };
  auto known = [](const std::string& key) {
    if (key == "name" || key == "type") return true;
    for (const auto& [k, label] : kLabels)
      if (key == k) return true;
    return false;
  };

  std::string out;
  for (const Json& d : domains->items()) {
    if (!out.empty()) out += "\n";
    out += cell(d, "name") + " (" + domain_type(d) + " domain)\n";
    std::vector<std::pair<std::string, std::string>> lines;
    for (const auto& [key, label] : kLabels)
      if (const Json* value = d.find(key)) lines.emplace_back(label, cell(value));
    for (const auto& [key, value] : d.members())
      if (!known(key)) lines.emplace_back(shown(key), cell(&value));
    size_t w = 0;
    for (const auto& [label, value] : lines) w = std::max(w, display_width(label));
    for (const auto& [label, value] : lines) {
      std::string line = "  " + label;
      pad_to(&line, display_width(label), w);
      line += "  " + value;
      trim_trailing_blanks(&line);
      out += line + "\n";
    }
  }
  return out;
}

std::string format_cert_status(const Json& result, const FormatOptions& options) {
  const Json* domains = list_of(result, "Domains");
  if (domains == nullptr) return format_pretty_json(result);
  if (domains->size() == 0) return "no TLS domains\n";
  std::vector<std::vector<std::string>> rows;
  for (const Json& d : domains->items()) {
    std::string days = cell(d, "Days left");
    const Json* left = d.find("Days left");
    if (left && left->is_number() && left->as_int() < kCertWarnDays) {
      bool expired = left->as_int() < 0;
      if (options.color)
        days = kRed + days + kReset;
      else
        days += expired ? " (expired)" : " (!)";
    }
    rows.push_back({cell(d, "name"), domain_type(d), cell(d, "Subject"), cell(d, "SANs"),
                    cell(d, "Not after"), days});
  }
  return format_table({"Domain", "Type", "Subject", "SANs", "Not after", "Days left"}, rows);
}

std::string format_statistics(const Json& result) {
  if (!result.is_object()) return format_pretty_json(result);
  if (result.size() == 0) return "no matching statistics\n";
  struct Group {
    std::string name;
    struct Stat {
      std::string name;
      std::string text;
      bool numeric;
    };
    std::vector<Stat> stats;
  };
  std::vector<Group> groups = {{"", {}}};  // ungrouped first
  size_t name_w = 0;
  size_t num_w = 0;
  for (const auto& [raw_key, value] : result.members()) {
    const std::string key = shown(raw_key);
    size_t colon = key.find(':');
    std::string group = colon == std::string::npos ? "" : key.substr(0, colon + 1);
    std::string name = colon == std::string::npos ? key : key.substr(colon + 1);
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.name == group; });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{group, {}});
    std::string text = value.is_string() ? shown(value.as_string()) : value.dump();
    if (value.is_number()) num_w = std::max(num_w, text.size());
    name_w = std::max(name_w, (group.empty() ? 0 : 2) + display_width(name));
    it->stats.push_back({std::move(name), std::move(text), value.is_number()});
  }
  // Sorted: Json::parse does not keep the server's member order, and sorted lists are easy to
  // scan (handshakes_failed next to handshakes_ok).
  std::sort(groups.begin(), groups.end(),
            [](const Group& a, const Group& b) { return a.name < b.name; });
  // (std::sort: stable_sort's temporary buffer trips ASan with clang 14 + libstdc++ 12.)
  for (Group& g : groups)
    std::sort(g.stats.begin(), g.stats.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string out;
  for (const Group& g : groups) {
    if (g.stats.empty()) continue;
    std::string indent;
    if (!g.name.empty()) {
      out += g.name + "\n";
      indent = "  ";
    }
    for (const auto& [name, text, numeric] : g.stats) {
      std::string line = indent + name;
      pad_to(&line, display_width(line), name_w);
      line += "  ";
      if (numeric) pad_to(&line, text.size(), num_w);
      line += text;
      trim_trailing_blanks(&line);
      out += line + "\n";
    }
  }
  return out;
}

std::string format_pretty_json(const Json& value) {
  std::string out;
  pretty_to(value, 0, &out);
  return out + "\n";
}

std::string format_command_list(const Json& result, size_t width) {
  if (!result.is_array()) return format_pretty_json(result);
  std::vector<std::string> names;
  size_t longest = 0;
  for (const Json& item : result.items()) {
    if (!item.is_string()) return format_pretty_json(result);
    names.push_back(shown(item.as_string()));
    longest = std::max(longest, names.back().size());
  }
  if (names.empty()) return "";
  // Column-major, as ls does.
  const size_t col_w = longest + 2;
  const size_t ncols = std::max<size_t>(1, width / col_w);
  const size_t nrows = (names.size() + ncols - 1) / ncols;
  std::string out;
  for (size_t r = 0; r < nrows; ++r) {
    std::string line;
    for (size_t c = 0; c < ncols; ++c) {
      size_t i = c * nrows + r;
      if (i >= names.size()) break;
      line += names[i];
      pad_to(&line, names[i].size(), col_w);
    }
    trim_trailing_blanks(&line);
    out += line + "\n";
  }
  return out;
}

std::string format_result(const std::string& command, const Json& result,
                          const FormatOptions& options) {
  if (command == "ps" || command == "core:ps") return format_ps(result);
  if (command == "list_tcp_conns" || command == "tcp:list_conns") return format_tcp_conns(result);
  if (command == "ul_dump" || command == "usrloc:dump" || command == "ul_show_contact" ||
      command == "usrloc:show_contact")
    return format_ul_dump(result);
  if (command == "tls_list" || command == "tls_mgm:list") return format_tls_list(result);
  if (command == "tls_cert_status") return format_cert_status(result, options);
  if (command == "get_statistics" || command == "list_statistics" || command == "statistics:get" ||
      command == "statistics:list")
    return format_statistics(result);
  if (command == "which" && result.is_array() &&
      std::all_of(result.items().begin(), result.items().end(),
                  [](const Json& j) { return j.is_string(); }))
    return format_command_list(result);
  if (result.is_string()) return shown(result.as_string()) + "\n";
  return format_pretty_json(result);
}

// ---- watch -----------------------------------------------------------------------------------

std::vector<std::string> watch_selectors() {
  return {"core:", "tcp:", "tls:"};
}

WatchRates watch_rates(const Json& before, const Json& after, double seconds) {
  WatchRates r;
  r.accepted_per_s = rate(transport_sum(before, "conns_accepted"),
                          transport_sum(after, "conns_accepted"), seconds);
  r.handshakes_ok_per_s = rate(stat_value(before, "tls:handshakes_ok"),
                               stat_value(after, "tls:handshakes_ok"), seconds);
  r.handshakes_failed_per_s = rate(stat_value(before, "tls:handshakes_failed"),
                                   stat_value(after, "tls:handshakes_failed"), seconds);
  r.requests_per_s = rate(stat_value(before, "core:rcv_requests"),
                          stat_value(after, "core:rcv_requests"), seconds);
  if (auto open = transport_sum(after, "conns_open")) {
    r.open = *open;
  } else {
    auto handled = transport_sum(after, "conns_handled");
    auto closed = transport_sum(after, "conns_closed");
    if (handled && closed) r.open = std::max(0LL, *handled - *closed);
  }
  return r;
}

std::string format_watch_header() {
  return strprintf("%-8s  %8s  %10s  %9s  %13s  %9s\n", "time", "open", "accepted/s", "tls_hs/s",
                   "tls_hs_fail/s", "req/s");
}

std::string format_watch_line(const std::string& time_of_day, const WatchRates& r) {
  std::string open = r.open < 0 ? "-" : std::to_string(r.open);
  return strprintf("%-8s  %8s  %10.1f  %9.1f  %13.1f  %9.1f\n", time_of_day.c_str(), open.c_str(),
                   r.accepted_per_s, r.handshakes_ok_per_s, r.handshakes_failed_per_s,
                   r.requests_per_s);
}

std::string format_watch_json(const std::string& time_of_day, const WatchRates& r) {
  std::string open = r.open < 0 ? "null" : std::to_string(r.open);
  return strprintf(
      "{\"time\":%s,\"open\":%s,\"accepted_per_s\":%.2f,\"handshakes_ok_per_s\":%.2f,"
      "\"handshakes_failed_per_s\":%.2f,\"requests_per_s\":%.2f}\n",
      Json(time_of_day).dump().c_str(), open.c_str(), r.accepted_per_s, r.handshakes_ok_per_s,
      r.handshakes_failed_per_s, r.requests_per_s);
}

}  // namespace sipsd::ctl
