#include "bench/sipsbench/call_messages.h"

#include <algorithm>

#include "core/base/result.h"

namespace sipsd::bench {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void append_via(std::string* out, const CallerEnd& from, std::string_view branch,
                std::string_view suffix) {
  out->append("Via: SIP/2.0/");
  out->append(transport_via(from.transport));
  out->append(" ");
  out->append(from.ip);
  out->append(":");
  out->append(std::to_string(from.port));
  out->append(";branch=");
  out->append(branch);
  out->append(suffix);
  out->append(";rport\r\n");
}

void append_from(std::string* out, const CallerEnd& from, std::string_view tag) {
  out->append("From: <sip:");
  out->append(from.user);
  out->append("@");
  out->append(from.domain.empty() ? from.ip : from.domain);
  out->append(">;tag=");
  out->append(tag);
  out->append("\r\n");
}

void append_line(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

void append_contact(std::string* out, const CallerEnd& from) {
  out->append("Contact: <");
  out->append(sip_uri(from.user, from.ip, from.port, from.transport));
  out->append(">\r\n");
}

void append_end(std::string* out, std::string_view body) {
  if (!body.empty()) out->append("Content-Type: application/sdp\r\n");
  out->append("Content-Length: ");
  out->append(std::to_string(body.size()));
  out->append("\r\n\r\n");
  out->append(body);
}

// An in-dialog request (ACK of a 2xx, BYE) along the dialog's route.
void append_in_dialog(std::string* out, std::string_view method, uint32_t cseq,
                      std::string_view branch_suffix, const CallerEnd& from,
                      const CallerDialog& d) {
  out->append(method);
  out->append(" ");
  out->append(d.route.request_uri);
  out->append(" SIP/2.0\r\n");
  append_via(out, from, d.branch, branch_suffix);
  out->append("Max-Forwards: 70\r\n");
  out->append(d.route.route);
  append_from(out, from, d.from_tag);
  append_line(out, "To", d.to);
  append_line(out, "Call-ID", d.call_id);
  out->append("CSeq: ");
  out->append(std::to_string(cseq));
  out->append(" ");
  out->append(method);
  out->append("\r\n");
  append_end(out, {});
}

}  // namespace

std::string_view uri_transport_param(Transport t) {
  switch (t) {
    case Transport::kTls:
      return ";transport=tls";
    case Transport::kTcp:
      return ";transport=tcp";
    case Transport::kUdp:
      return ";transport=udp";
  }
  return "";
}

std::string sip_uri(std::string_view user, std::string_view ip, uint16_t port, Transport t) {
  std::string uri = "sip:";
  uri.append(user);
  uri.append("@");
  uri.append(ip);
  uri.append(":");
  uri.append(std::to_string(port));
  uri.append(uri_transport_param(t));
  return uri;
}

void split_name_addrs(std::string_view value, std::vector<std::string_view>* out) {
  bool in_angle = false;
  bool in_quote = false;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < value.size()) {
        ++i;
      } else if (c == '"') {
        in_quote = false;
      }
    } else if (c == '"') {
      in_quote = true;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      std::string_view e = trim(value.substr(start, i - start));
      if (!e.empty()) out->push_back(e);
      start = i + 1;
    }
  }
  std::string_view e = trim(value.substr(start));
  if (!e.empty()) out->push_back(e);
}

std::string_view name_addr_uri(std::string_view element) {
  size_t lt = element.find('<');
  if (lt != std::string_view::npos) {
    size_t gt = element.find('>', lt + 1);
    if (gt == std::string_view::npos) return {};
    return trim(element.substr(lt + 1, gt - lt - 1));
  }
  return trim(element.substr(0, element.find(';')));
}

bool uri_has_lr(std::string_view uri) {
  // Parameters start after the host part: the first ';' after any '@'.
  size_t at = uri.find('@');
  size_t semi = uri.find(';', at == std::string_view::npos ? 0 : at);
  if (semi == std::string_view::npos) return false;
  std::string_view params = uri.substr(semi);
  size_t q = params.find('?');
  if (q != std::string_view::npos) params = params.substr(0, q);
  while (!params.empty()) {
    params.remove_prefix(1);  // the ';'
    size_t next = params.find(';');
    std::string_view p = params.substr(0, next);
    std::string_view name = trim(p.substr(0, p.find('=')));
    if (iequals(name, "lr")) return true;
    if (next == std::string_view::npos) break;
    params = params.substr(next);
  }
  return false;
}

bool dialog_route_from_2xx(const sip::Message& ok, DialogRoute* out, const char** why) {
  const sip::Header* contact = ok.first(sip::HeaderType::kContact);
  if (contact == nullptr) {
    *why = "2xx without Contact";
    return false;
  }
  std::vector<std::string_view> contacts;
  split_name_addrs(contact->value, &contacts);
  std::string_view target = contacts.empty() ? std::string_view() : name_addr_uri(contacts[0]);
  if (target.empty()) {
    *why = "2xx with an unusable Contact";
    return false;
  }
  std::vector<std::string_view> rr;
  for (const sip::Header& h : ok.headers()) {
    if (h.type == sip::HeaderType::kRecordRoute) split_name_addrs(h.value, &rr);
  }
  std::reverse(rr.begin(), rr.end());  // the UAC's route set is the reverse (12.1.2)
  out->route.clear();
  if (rr.empty()) {
    out->request_uri = std::string(target);
    return true;
  }
  std::vector<std::string_view> routes;
  std::string target_route;
  if (uri_has_lr(name_addr_uri(rr[0]))) {
    out->request_uri = std::string(target);
    routes = rr;
  } else {
    // A strict router: it becomes the R-URI, the remote target the last route (12.2.1.1).
    out->request_uri = std::string(name_addr_uri(rr[0]));
    routes.assign(rr.begin() + 1, rr.end());
    target_route = "<" + std::string(target) + ">";
    routes.push_back(target_route);
  }
  out->route = "Route: ";
  for (size_t i = 0; i < routes.size(); ++i) {
    if (i > 0) out->route.append(", ");
    out->route.append(routes[i]);
  }
  out->route.append("\r\n");
  return true;
}

std::string sdp_body(std::string_view origin_user, uint32_t session, uint16_t port) {
  return strprintf(
      "v=0\r\n"
      "o=%.*s %u %u IN IP4 127.0.0.1\r\n"
      "s=-\r\n"
      "c=IN IP4 127.0.0.1\r\n"
      "t=0 0\r\n"
      "m=audio %u RTP/AVP 0 8 101\r\n"
      "a=rtpmap:101 telephone-event/8000\r\n"
      "a=sendrecv\r\n",
      static_cast<int>(origin_user.size()), origin_user.data(), session, session,
      static_cast<unsigned>(port));
}

void append_invite(std::string* out, const CallerEnd& from, const CallerDialog& d,
                   std::string_view sdp) {
  out->append("INVITE ");
  out->append(d.ruri);
  out->append(" SIP/2.0\r\n");
  append_via(out, from, d.branch, "");
  out->append("Max-Forwards: 70\r\n");
  append_from(out, from, d.from_tag);
  append_line(out, "To", d.to);
  append_line(out, "Call-ID", d.call_id);
  out->append("CSeq: ");
  out->append(std::to_string(d.cseq));
  out->append(" INVITE\r\n");
  append_contact(out, from);
  out->append(d.auth);
  out->append("User-Agent: sipsbench\r\n");
  append_end(out, sdp);
}

void append_ack_2xx(std::string* out, const CallerEnd& from, const CallerDialog& d) {
  append_in_dialog(out, "ACK", d.cseq, ".a", from, d);
}

void append_ack_non2xx(std::string* out, const CallerEnd& from, const CallerDialog& d) {
  out->append("ACK ");
  out->append(d.ruri);
  out->append(" SIP/2.0\r\n");
  append_via(out, from, d.branch, "");
  out->append("Max-Forwards: 70\r\n");
  append_from(out, from, d.from_tag);
  append_line(out, "To", d.to);
  append_line(out, "Call-ID", d.call_id);
  out->append("CSeq: ");
  out->append(std::to_string(d.cseq));
  out->append(" ACK\r\n");
  append_end(out, {});
}

void append_bye(std::string* out, const CallerEnd& from, const CallerDialog& d) {
  append_in_dialog(out, "BYE", d.cseq + 1, ".b", from, d);
}

void append_register(std::string* out, const CallerEnd& from, std::string_view call_id,
                     std::string_view tag, std::string_view branch, uint32_t cseq, int expires,
                     std::string_view authorization) {
  std::string_view host = from.domain.empty() ? std::string_view(from.ip) : from.domain;
  out->append("REGISTER sip:");
  out->append(host);
  out->append(" SIP/2.0\r\n");
  append_via(out, from, branch, "");
  out->append("Max-Forwards: 70\r\n");
  append_from(out, from, tag);
  out->append("To: <sip:");
  out->append(from.user);
  out->append("@");
  out->append(host);
  out->append(">\r\n");
  append_line(out, "Call-ID", call_id);
  out->append("CSeq: ");
  out->append(std::to_string(cseq));
  out->append(" REGISTER\r\n");
  append_contact(out, from);
  out->append("Expires: ");
  out->append(std::to_string(expires));
  out->append("\r\n");
  if (!authorization.empty()) append_line(out, "Authorization", authorization);
  out->append("User-Agent: sipsbench\r\n");
  append_end(out, {});
}

void append_register_options(std::string* out, const CallerEnd& from, std::string_view target_uri,
                             std::string_view call_id, std::string_view tag,
                             std::string_view branch) {
  out->append("OPTIONS ");
  out->append(target_uri);
  out->append(" SIP/2.0\r\n");
  append_via(out, from, branch, "");
  out->append("Max-Forwards: 70\r\n");
  append_from(out, from, tag);
  out->append("To: <sip:");
  out->append(from.user);
  out->append("@");
  out->append(from.ip);
  out->append(">\r\n");
  append_line(out, "Call-ID", call_id);
  out->append("CSeq: 1 OPTIONS\r\n");
  append_contact(out, from);
  out->append("User-Agent: sipsbench\r\n");
  append_end(out, {});
}

void append_response(std::string* out, const sip::Message& req, int status, std::string_view reason,
                     std::string_view to_tag, bool copy_record_route, std::string_view extra,
                     std::string_view body) {
  out->append("SIP/2.0 ");
  out->append(std::to_string(status));
  out->append(" ");
  out->append(reason);
  out->append("\r\n");
  const auto& headers = req.headers();
  for (const sip::Header& h : headers) {
    if (h.type == sip::HeaderType::kVia) append_line(out, "Via", h.value);
  }
  if (copy_record_route) {
    for (const sip::Header& h : headers) {
      if (h.type == sip::HeaderType::kRecordRoute) append_line(out, "Record-Route", h.value);
    }
  }
  for (const sip::Header& h : headers) {
    switch (h.type) {
      case sip::HeaderType::kFrom:
        append_line(out, "From", h.value);
        break;
      case sip::HeaderType::kTo:
        out->append("To: ");
        out->append(h.value);
        if (!req.has_to_tag() && status > 100 && !to_tag.empty()) {
          out->append(";tag=");
          out->append(to_tag);
        }
        out->append("\r\n");
        break;
      case sip::HeaderType::kCallId:
        append_line(out, "Call-ID", h.value);
        break;
      case sip::HeaderType::kCSeq:
        append_line(out, "CSeq", h.value);
        break;
      default:
        break;
    }
  }
  out->append(extra);
  append_end(out, body);
}

}  // namespace sipsd::bench
