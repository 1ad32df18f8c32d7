#include "core/cfg/socket_spec.h"

#include <arpa/inet.h>

#include <algorithm>

#include "core/cfg/char_class.h"
#include "core/cfg/lexer.h"

namespace sipsd::cfg {

namespace {

bool valid_ipv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool valid_ipv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// A hostname as OpenSIPS writes them: labels joined by '.', each made of letters, digits, '_'
// and '-'.
bool valid_hostname(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  bool label_empty = true;
  for (char c : s) {
    if (c == '.') {
      if (label_empty) return false;
      label_empty = true;
    } else if (is_word(c) || c == '-') {
      label_empty = false;
    } else {
      return false;
    }
  }
  return !label_empty;
}

}  // namespace

bool Lexer::scan_socket(SocketSpec* out) {
  if (!skip_space()) return false;
  Loc start = loc_here();
  size_t b = pos_;
  if (!at_end() && is_alpha(peek_char())) {
    while (!at_end() && is_word(peek_char())) advance();
  }
  if (pos_ == b) {
    diag_.error(start,
                "protocol expected in socket definition (syntax: proto:host[:port], "
                "e.g. tls:127.0.0.1:5061)");
    return false;
  }
  out->proto.assign(text_.substr(b, pos_ - b));
  out->proto_loc = start;
  out->proto_loc.len = static_cast<int>(pos_ - b);
  skip_blanks();
  if (peek_char() != ':') {
    Loc at = loc_here();
    diag_.error(at, strprintf("':' expected after protocol '%s' (syntax: proto:host[:port])",
                              out->proto.c_str()));
    return false;
  }
  advance();
  skip_blanks();
  return scan_host(out, true);
}

bool Lexer::scan_alias(SocketSpec* out) {
  if (!skip_space()) return false;
  for (std::string_view proto : {"udp", "tcp", "tls"}) {
    if (pos_ + 4 <= text_.size() && text_[pos_ + 3] == ':' &&
        std::equal(proto.begin(), proto.end(), text_.begin() + static_cast<ptrdiff_t>(pos_),
                   [](char p, char t) { return (t | 0x20) == p; })) {
      out->proto_loc = loc_here();
      out->proto_loc.len = 3;
      out->proto.assign(text_.substr(pos_, 3));
      for (int i = 0; i < 4; ++i) advance();
      break;
    }
  }
  return scan_host(out, true);
}

bool Lexer::scan_host_port(SocketSpec* out) {
  if (!skip_space()) return false;
  return scan_host(out, true);
}

bool Lexer::scan_host(SocketSpec* out, bool allow_port) {
  Loc hstart = loc_here();
  size_t b = pos_;
  char c = peek_char();
  bool port_follows_colon = true;  // for bracketed, quoted and '*' hosts
  if (c == '[') {
    advance();
    while (!at_end() && peek_char() != ']' && peek_char() != '\n') advance();
    if (peek_char() != ']') {
      diag_.error(hstart, "missing ']' after IPv6 address");
      return false;
    }
    out->host.assign(text_.substr(b + 1, pos_ - b - 1));
    advance();
    hstart.len = static_cast<int>(pos_ - b);
    if (!valid_ipv6(out->host)) {
      diag_.error(hstart, strprintf("invalid IPv6 address '%s'", out->host.c_str()));
      return false;
    }
  } else if (c == '"' || c == '\'') {
    Token t = c == '"' ? lex_dq_string() : lex_sq_string();
    if (t.kind == Tok::kError) return false;
    hstart = t.loc;
    if (t.text.empty()) {
      diag_.error(hstart, "empty host name");
      return false;
    }
    out->host = std::move(t.text);
  } else if (c == '*') {
    advance();
    out->host = "*";
  } else {
    while (!at_end() && (is_word(peek_char()) || peek_char() == '.' || peek_char() == '-' ||
                         peek_char() == ':')) {
      advance();
    }
    std::string run(text_.substr(b, pos_ - b));
    hstart.len = std::max(1, static_cast<int>(run.size()));
    if (run.empty()) {
      diag_.error(hstart, "host expected (IPv4, [IPv6], hostname, '*' or a quoted string)");
      return false;
    }
    size_t colons = static_cast<size_t>(std::count(run.begin(), run.end(), ':'));
    std::string port_text;
    Loc port_loc = hstart;
    if (colons >= 2) {
      // A bare IPv6 address: taken whole when it parses (OpenSIPS's lexer is just as greedy);
      // otherwise the text after the last ':' may be a port.
      if (valid_ipv6(run)) {
        out->host = run;
        std::string_view last = std::string_view(run).substr(run.rfind(':') + 1);
        if (run.find("::") != std::string::npos && last.size() >= 4 && all_digits(last)) {
          diag_.warning(hstart, strprintf("bare IPv6 address '%s' is taken whole, without a "
                                          "port; write [host]:port to give a port",
                                          run.c_str()));
        }
      } else {
        size_t k = run.rfind(':');
        std::string prefix = run.substr(0, k);
        if (!valid_ipv6(prefix) || !all_digits(std::string_view(run).substr(k + 1))) {
          diag_.error(hstart, strprintf("invalid IPv6 address '%s' (write IPv6 addresses in "
                                        "brackets: tls:[2001:db8::1]:5061)",
                                        run.c_str()));
          return false;
        }
        out->host = prefix;
        port_text = run.substr(k + 1);
        port_loc.col = hstart.col + static_cast<int>(k) + 1;
      }
    } else {
      size_t k = run.find(':');
      out->host = run.substr(0, k);
      if (k != std::string::npos) {
        port_text = run.substr(k + 1);
        port_loc.col = hstart.col + static_cast<int>(k) + 1;
        if (port_text.empty()) {
          diag_.error(loc_here(), "port number expected after ':'");
          return false;
        }
      }
      Loc host_loc = hstart;
      host_loc.len = std::max(1, static_cast<int>(out->host.size()));
      const std::string& h = out->host;
      bool numeric = !h.empty() && std::all_of(h.begin(), h.end(),
                                               [](char ch) { return is_digit(ch) || ch == '.'; });
      if (h.empty()) {
        diag_.error(host_loc, "host expected (IPv4, [IPv6], hostname, '*' or a quoted string)");
        return false;
      }
      if (numeric ? !valid_ipv4(h) : !valid_hostname(h)) {
        diag_.error(host_loc, strprintf(numeric ? "invalid IPv4 address '%s'"
                                                : "invalid hostname '%s' (use quotes if the "
                                                  "hostname has unusual characters)",
                                        h.c_str()));
        return false;
      }
    }
    port_follows_colon = false;
    if (!port_text.empty()) {
      port_loc.len = static_cast<int>(port_text.size());
      if (!allow_port) {
        diag_.error(port_loc, "no port expected here");
        return false;
      }
      if (port_text.find_first_of("-,") != std::string::npos) {
        diag_.error(port_loc, "port ranges and lists are not supported yet");
        return false;
      }
      if (!all_digits(port_text) || port_text.size() > 6) {
        diag_.error(port_loc, strprintf("port number expected, got '%s'", port_text.c_str()));
        return false;
      }
      out->has_port = true;
      out->port = std::stoll(port_text);
      out->port_loc = port_loc;
    }
  }
  out->host_loc = hstart;
  if (port_follows_colon && allow_port) {
    size_t save_pos = pos_;
    int save_line = line_, save_col = col_;
    skip_blanks();
    if (peek_char() == ':') {
      advance();
      skip_blanks();
      Loc port_loc = loc_here();
      size_t pb = pos_;
      while (!at_end() && is_digit(peek_char())) advance();
      port_loc.len = std::max(1, static_cast<int>(pos_ - pb));
      if (pos_ == pb || pos_ - pb > 6 || (!at_end() && is_word(peek_char()))) {
        diag_.error(port_loc, "port number expected after ':'");
        return false;
      }
      out->has_port = true;
      out->port = std::stoll(std::string(text_.substr(pb, pos_ - pb)));
      out->port_loc = port_loc;
    } else {
      pos_ = save_pos;
      line_ = save_line;
      col_ = save_col;
    }
  }
  if (out->has_port && out->port > 65535) {
    diag_.error(out->port_loc, strprintf("port %lld is out of range (0..65535)",
                                         static_cast<long long>(out->port)));
    return false;
  }
  // The definition must end here (options, if any, follow after a blank).
  char e = peek_char();
  if (!at_end() && e != ' ' && e != '\t' && e != '\r' && e != '\n' && e != '#' && e != '\\' &&
      !(e == '/' && peek_char(1) == '*')) {
    Loc at = loc_here();
    if (e == ',' || e == '-') {
      diag_.error(at, "port ranges and lists are not supported yet");
    } else {
      diag_.error(at, describe_char(e) + " after the socket definition");
    }
    return false;
  }
  return true;
}

}  // namespace sipsd::cfg
