#include "core/sip/request_builder.h"

#include <charconv>

#include "core/sip/syntax.h"

namespace sipsd::sip {
namespace {

void append_header(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

// The INVITE's top Via, From, To, Call-ID and CSeq are there and parsed.
bool usable_invite(const Message& m) {
  return m.is_request() && m.method_id() == Method::kInvite && m.top_via() != nullptr &&
         m.from() != nullptr && m.to() != nullptr && !m.call_id().empty() &&
         !m.cseq_method().empty();
}

// Everything but To, which the caller gives: the INVITE's or the reply's.
void build(const Message& invite, std::string_view method, std::string_view to,
           std::string_view reason, std::string* out) {
  size_t need = 160 + invite.ruri().size() + invite.top_via()->value.size() +
                invite.first(HeaderType::kFrom)->value.size() + to.size() +
                invite.call_id().size() + reason.size();
  for (const Header& h : invite.headers()) {
    if (h.type == HeaderType::kRoute) need += h.value.size() + 9;
  }
  out->reserve(need);

  out->append(method);
  out->push_back(' ');
  out->append(invite.ruri());
  out->append(" SIP/2.0\r\n");
  append_header(out, "Via", invite.top_via()->value);
  for (const Header& h : invite.headers()) {
    if (h.type == HeaderType::kRoute) append_header(out, "Route", h.value);
  }
  out->append("Max-Forwards: 70\r\n");
  append_header(out, "From", invite.first(HeaderType::kFrom)->value);
  append_header(out, "To", to);
  append_header(out, "Call-ID", invite.call_id());
  char num[16];
  const auto r = std::to_chars(num, num + sizeof(num), invite.cseq_number());
  out->append("CSeq: ");
  out->append(num, static_cast<size_t>(r.ptr - num));
  out->push_back(' ');
  out->append(method);
  out->append("\r\n");
  if (!reason.empty()) append_header(out, "Reason", reason);
  out->append("Content-Length: 0\r\n\r\n");
}

}  // namespace

bool build_cancel(const Message& invite, std::string_view reason, std::string* out) {
  out->clear();
  if (!usable_invite(invite) || !lex::is_line_safe(reason)) return false;
  build(invite, "CANCEL", invite.first(HeaderType::kTo)->value, reason, out);
  return true;
}

bool build_non2xx_ack(const Message& invite, const Message& reply, std::string* out) {
  out->clear();
  if (!usable_invite(invite) || reply.is_request() || reply.status_code() < 300 ||
      reply.status_code() > 699) {
    return false;
  }
  const Header* to = reply.first(HeaderType::kTo);
  if (to == nullptr || reply.call_id() != invite.call_id() ||
      reply.cseq_number() != invite.cseq_number()) {
    return false;
  }
  build(invite, "ACK", to->value, {}, out);
  return true;
}

}  // namespace sipsd::sip
