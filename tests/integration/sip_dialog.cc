#include "tests/integration/sip_dialog.h"

#include <algorithm>

namespace sipsd::test {

namespace {

std::string default_reason(int code) {
  switch (code) {
    case 100:
      return "Trying";
    case 180:
      return "Ringing";
    case 183:
      return "Session Progress";
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 486:
      return "Busy Here";
    case 487:
      return "Request Terminated";
    case 488:
      return "Not Acceptable Here";
    case 503:
      return "Service Unavailable";
    default:
      return "Reply";
  }
}

// The URI inside "<…>" of a name-addr, or the value itself.
std::string angle_uri(const std::string& v) {
  size_t lt = v.find('<');
  size_t gt = v.find('>', lt == std::string::npos ? 0 : lt);
  if (lt == std::string::npos || gt == std::string::npos) return v;
  return v.substr(lt + 1, gt - lt - 1);
}

}  // namespace

ReplySpec reply_spec(int code, std::string to_tag, std::string contact, std::string body) {
  ReplySpec s;
  s.code = code;
  s.to_tag = std::move(to_tag);
  s.contact = std::move(contact);
  s.body = std::move(body);
  return s;
}

std::string build_reply(const SipMessage& req, const ReplySpec& spec) {
  std::string r = "SIP/2.0 " + std::to_string(spec.code) + " " +
                  (spec.reason.empty() ? default_reason(spec.code) : spec.reason) + "\r\n";
  for (const std::string& v : req.headers("Via")) r += "Via: " + v + "\r\n";
  if (auto f = req.header("From")) r += "From: " + *f + "\r\n";
  if (auto t = req.header("To")) {
    std::string to = *t;
    if (!header_param(to, "tag") && spec.code > 100 && !spec.to_tag.empty())
      to += ";tag=" + spec.to_tag;
    r += "To: " + to + "\r\n";
  }
  if (auto c = req.header("Call-ID")) r += "Call-ID: " + *c + "\r\n";
  if (auto c = req.header("CSeq")) r += "CSeq: " + *c + "\r\n";
  if (spec.record_route)
    for (const std::string& v : req.headers("Record-Route")) r += "Record-Route: " + v + "\r\n";
  if (!spec.contact.empty()) r += "Contact: <" + spec.contact + ">\r\n";
  for (const std::string& h : spec.extra_headers) r += h + "\r\n";
  if (!spec.body.empty()) r += "Content-Type: application/sdp\r\n";
  r += "Content-Length: " + std::to_string(spec.body.size()) + "\r\n\r\n" + spec.body;
  return r;
}

Dialog Dialog::from_2xx(const SipRequest& invite, const SipRequestSpec& spec,
                        const SipMessage& ok) {
  Dialog d;
  d.call_id = invite.call_id;
  d.local_uri = spec.from_uri;
  d.local_tag = invite.from_tag;
  std::string to = ok.header("To").value_or("");
  d.remote_uri = angle_uri(to);
  d.remote_tag = header_param(to, "tag").value_or("");
  d.remote_target = angle_uri(ok.header("Contact").value_or(""));
  for (const std::string& h : ok.headers("Record-Route"))
    for (const std::string& v : split_header_list(h)) d.route_set.push_back(v);
  std::reverse(d.route_set.begin(), d.route_set.end());
  d.cseq = invite.cseq;
  return d;
}

SipRequest Dialog::request(const std::string& method, const SipHop& hop,
                           uint32_t cseq_number) const {
  SipRequest r;
  r.method = method;
  r.cseq = cseq_number;
  r.branch = "z9hG4bK" + unique_token();
  r.call_id = call_id;
  r.from_tag = local_tag;
  std::string& m = r.text;
  m = method + " " + remote_target + " SIP/2.0\r\n";
  m += "Via: SIP/2.0/" + hop.transport + " " + hop.local_ip + ":" + std::to_string(hop.local_port) +
       ";branch=" + r.branch + ";rport\r\n";
  for (const std::string& route : route_set) m += "Route: " + route + "\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "From: <" + local_uri + ">;tag=" + local_tag + "\r\n";
  m += "To: <" + remote_uri + ">;tag=" + remote_tag + "\r\n";
  m += "Call-ID: " + call_id + "\r\n";
  m += "CSeq: " + std::to_string(cseq_number) + " " + method + "\r\n";
  m += "Content-Length: 0\r\n\r\n";
  return r;
}

}  // namespace sipsd::test
