#include "core/sip/reply_builder.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <utility>

#include "core/base/ascii.h"
#include "core/sip/syntax.h"

namespace sipsd::sip {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// Values coming from outside the parsed request (reason, Server, source address) must not
// inject header lines.
void append_line_safe(std::string* out, std::string_view s) {
  for (char c : s) out->push_back((c == '\r' || c == '\n') ? ' ' : c);
}

void append_uint(std::string* out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void append_header(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append(kCrlf);
}

std::string_view strip_brackets(std::string_view ip) {
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') return ip.substr(1, ip.size() - 2);
  return ip;
}

// An address in binary, IPv4-mapped IPv6 folded to IPv4, for comparison.
struct Addr {
  int family = 0;  // 0: not an IP address
  unsigned char bytes[16] = {};
};

Addr to_addr(std::string_view s) {
  Addr a;
  char buf[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() >= sizeof(buf)) return a;
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  if (inet_pton(AF_INET, buf, a.bytes) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes) == 1) {
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a.bytes, kMapped, sizeof(kMapped)) == 0) {
      memmove(a.bytes, a.bytes + 12, 4);
      memset(a.bytes + 4, 0, 12);
      a.family = AF_INET;
    } else {
      a.family = AF_INET6;
    }
  }
  return a;
}

// RFC 3261 §18.2.1: is the sent-by host the address the request came from?
bool same_host(std::string_view via_host, std::string_view source_ip) {
  const Addr a = to_addr(via_host);
  const Addr b = to_addr(source_ip);
  if (a.family != 0 && b.family != 0) {
    return a.family == b.family && memcmp(a.bytes, b.bytes, a.family == AF_INET ? 4 : 16) == 0;
  }
  return ascii_iequals(via_host, source_ip);  // a host name never equals an address
}

// The top Via value with received/rport applied (RFC 3261 §18.2.1, RFC 3581 §4).
void append_top_via(std::string* out, std::string_view header_value, const Via& v,
                    const ReplyParams& p, bool force_rport = false) {
  const std::string_view ip = strip_brackets(p.source_ip);
  const bool fill_rport = v.has_rport && v.rport.empty() && p.source_port != 0;
  const bool add_rport = force_rport && !v.has_rport && p.source_port != 0;
  const bool add_received = !ip.empty() && (v.has_received || fill_rport || !same_host(v.host, ip));

  struct Edit {
    size_t off;
    size_t len;
    bool received;
  };
  Edit edits[2];
  size_t n = 0;
  const char* base = v.value.data();
  if (add_received && v.has_received) {
    edits[n++] =
        Edit{static_cast<size_t>(v.received_param.data() - base), v.received_param.size(), true};
  }
  if (fill_rport) {
    edits[n++] =
        Edit{static_cast<size_t>(v.rport_param.data() - base), v.rport_param.size(), false};
  }
  if (n == 2 && edits[1].off < edits[0].off) std::swap(edits[0], edits[1]);

  const size_t lead = static_cast<size_t>(base - header_value.data());
  out->append(header_value.substr(0, lead));
  size_t cur = 0;
  for (size_t k = 0; k < n; ++k) {
    out->append(v.value.substr(cur, edits[k].off - cur));
    if (edits[k].received) {
      out->append(";received=");
      append_line_safe(out, ip);
    } else {
      out->append(";rport=");
      append_uint(out, p.source_port);
    }
    cur = edits[k].off + edits[k].len;
  }
  out->append(v.value.substr(cur));
  if (add_received && !v.has_received) {
    out->append(";received=");
    append_line_safe(out, ip);
  }
  if (add_rport) {
    out->append(";rport=");
    append_uint(out, p.source_port);
  }
  out->append(header_value.substr(lead + v.value.size()));
}

struct ReasonEntry {
  int code;
  std::string_view text;
};

constexpr ReasonEntry kReasons[] = {
    {100, "Trying"},
    {180, "Ringing"},
    {181, "Call Is Being Forwarded"},
    {182, "Queued"},
    {183, "Session Progress"},
    {200, "OK"},
    {202, "Accepted"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Moved Temporarily"},
    {305, "Use Proxy"},
    {380, "Alternative Service"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {410, "Gone"},
    {413, "Request Entity Too Large"},
    {414, "Request-URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Unsupported URI Scheme"},
    {420, "Bad Extension"},
    {421, "Extension Required"},
    {423, "Interval Too Brief"},
    {480, "Temporarily Unavailable"},
    {481, "Call/Transaction Does Not Exist"},
    {482, "Loop Detected"},
    {483, "Too Many Hops"},
    {484, "Address Incomplete"},
    {485, "Ambiguous"},
    {486, "Busy Here"},
    {487, "Request Terminated"},
    {488, "Not Acceptable Here"},
    {491, "Request Pending"},
    {493, "Undecipherable"},
    {500, "Server Internal Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Server Time-out"},
    {505, "Version Not Supported"},
    {513, "Message Too Large"},
    {600, "Busy Everywhere"},
    {603, "Decline"},
    {604, "Does Not Exist Anywhere"},
    {606, "Not Acceptable"},
};

}  // namespace

std::string_view default_reason(int code) {
  for (const ReasonEntry& e : kReasons) {
    if (e.code == code) return e.text;
  }
  switch (code / 100) {
    case 1:
      return "Provisional";
    case 2:
      return "Success";
    case 3:
      return "Redirection";
    case 4:
      return "Client Error";
    case 5:
      return "Server Error";
    case 6:
      return "Global Failure";
    default:
      return {};
  }
}

bool top_via_with_received(std::string_view via_value, const Via& top, std::string_view source_ip,
                           uint16_t source_port, bool force_rport, std::string* out) {
  ReplyParams p;
  p.source_ip = source_ip;
  p.source_port = source_port;
  std::string value;
  append_top_via(&value, via_value, top, p, force_rport);
  if (value == via_value) return false;
  *out = std::move(value);
  return true;
}

bool build_reply(const Message& req, const LocalReply& r, const ReplyParams& p, std::string* out) {
  out->clear();
  if (!r.to_tag.empty() && !lex::all_of_class(r.to_tag, lex::kToken)) return false;
  for (const HeaderField& h : r.headers) {
    if (!lex::all_of_class(h.name, lex::kToken) || !lex::is_line_safe(h.value)) return false;
  }
  return internal::write_reply(req, r, p, out);
}

bool internal::write_reply(const Message& req, const LocalReply& r, const ReplyParams& p,
                           std::string* out) {
  out->clear();
  const int code = r.code;
  if (!req.is_request() || req.method_id() == Method::kAck || code < 100 || code > 699) {
    return false;
  }
  const std::string_view reason = r.reason.empty() ? default_reason(code) : r.reason;

  // One reservation, reused across messages once the string has grown.
  size_t need =
      64 + reason.size() + p.server.size() + p.source_ip.size() + r.to_tag.size() + r.body.size();
  for (const Header& h : req.headers()) {
    if (h.type == HeaderType::kVia || h.type == HeaderType::kFrom || h.type == HeaderType::kTo ||
        h.type == HeaderType::kCallId || h.type == HeaderType::kCSeq ||
        (r.copy_record_route && h.type == HeaderType::kRecordRoute)) {
      need += h.value.size() + 24;
    }
  }
  for (const HeaderField& h : r.headers) need += h.name.size() + h.value.size() + 4;
  out->reserve(need);

  out->append("SIP/2.0 ");
  append_uint(out, static_cast<uint64_t>(code));
  out->push_back(' ');
  append_line_safe(out, reason);
  out->append(kCrlf);

  const Header* top = req.first(HeaderType::kVia);
  for (const Header& h : req.headers()) {
    if (h.type != HeaderType::kVia) continue;
    out->append("Via: ");
    if (&h == top && req.top_via() != nullptr) {
      append_top_via(out, h.value, *req.top_via(), p);
    } else {
      out->append(h.value);
    }
    out->append(kCrlf);
  }
  if (const Header* h = req.first(HeaderType::kFrom)) append_header(out, "From", h->value);
  if (const Header* h = req.first(HeaderType::kTo)) {
    out->append("To: ");
    out->append(h->value);
    if (!r.to_tag.empty() && !req.has_to_tag()) {
      out->append(";tag=");
      out->append(r.to_tag);
    }
    out->append(kCrlf);
  }
  if (const Header* h = req.first(HeaderType::kCallId)) append_header(out, "Call-ID", h->value);
  if (const Header* h = req.first(HeaderType::kCSeq)) append_header(out, "CSeq", h->value);
  if (r.copy_record_route) {
    for (const Header& h : req.headers()) {
      if (h.type == HeaderType::kRecordRoute) append_header(out, "Record-Route", h.value);
    }
  }
  for (const HeaderField& h : r.headers) append_header(out, h.name, h.value);
  if (!p.server.empty()) {
    out->append("Server: ");
    append_line_safe(out, p.server);
    out->append(kCrlf);
  }
  if (r.body.empty()) {
    out->append("Content-Length: 0\r\n\r\n");
  } else {
    out->append("Content-Length: ");
    append_uint(out, r.body.size());
    out->append("\r\n\r\n");
    out->append(r.body);
  }
  return true;
}

}  // namespace sipsd::sip
