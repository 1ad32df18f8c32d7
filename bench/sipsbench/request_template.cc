#include "bench/sipsbench/request_template.h"

#include <cstring>

namespace sipsd::bench {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr size_t kSlotSeqLen = 4 + 1 + 9;  // "ssss.nnnnnnnnn"
constexpr std::string_view kCallIdSuffix = "@sipsbench";

void put_hex(char* p, uint32_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i, v >>= 4) p[i] = kHex[v & 0xf];
}

void put_dec9(char* p, uint32_t v) {
  for (int i = 8; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
}

void put_slot_seq(char* p, uint16_t slot, uint32_t seq) {
  put_hex(p, slot, 4);
  p[4] = '.';
  put_dec9(p + 5, seq);
}

bool get_hex(std::string_view s, uint32_t* out) {
  uint32_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = v << 4 | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

bool get_dec(std::string_view s, uint32_t* out) {
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

RequestSpec target_request(const Options& options, const std::string& method, int body_size,
                           uint16_t local_port, uint32_t tag) {
  RequestSpec spec;
  spec.transport = options.target.transport;
  spec.method = method;
  spec.body_size = body_size;
  spec.target_ip = options.target.ip;
  spec.target_port = options.target.port;
  spec.local_ip = options.target.ip;  // loopback: the same address family and host
  spec.local_port = local_port;
  spec.tag = tag;
  return spec;
}

RequestTemplate::RequestTemplate(const RequestSpec& spec) : method_(spec.method), tag_(spec.tag) {
  char tag[9];
  put_hex(tag, spec.tag, 8);
  tag[8] = '\0';
  const std::string placeholder(kSlotSeqLen, '0');
  const char* via = transport_via(spec.transport);
  const char* tp = transport_name(spec.transport);
  std::string target = strprintf("%s:%u", spec.target_ip.c_str(), spec.target_port);
  std::string local = strprintf("%s:%u", spec.local_ip.c_str(), spec.local_port);
  std::string aor = strprintf("sip:sipsbench@%s", spec.target_ip.c_str());
  bool is_register = spec.method == "REGISTER";
  bool is_message = spec.method == "MESSAGE";

  std::string& t = text_;
  t.reserve(640 + static_cast<size_t>(spec.body_size));
  if (is_register) {
    t += strprintf("REGISTER sip:%s;transport=%s SIP/2.0\r\n", spec.target_ip.c_str(), tp);
  } else {
    t += strprintf("%s sip:%s;transport=%s SIP/2.0\r\n", spec.method.c_str(), target.c_str(), tp);
  }
  t += strprintf("Via: SIP/2.0/%s %s;rport;branch=z9hG4bK.sb%s.", via, local.c_str(), tag);
  branch_at_ = t.size();
  t.append(placeholder).append("\r\n");
  t += "Max-Forwards: 70\r\n";
  t += strprintf("From: <%s>;tag=sb%s\r\n", aor.c_str(), tag);
  if (is_register) {
    t += strprintf("To: <%s>\r\n", aor.c_str());
  } else {
    t += strprintf("To: <sip:%s;transport=%s>\r\n", target.c_str(), tp);
  }
  t += strprintf("Call-ID: sb%s.", tag);
  call_id_at_ = t.size();
  t.append(placeholder).append(kCallIdSuffix).append("\r\n");
  t += "CSeq: ";
  cseq_at_ = t.size();
  t.append(9, '0').append(" ").append(spec.method).append("\r\n");
  if (is_register) {
    t += strprintf("Contact: <sip:sipsbench@%s;transport=%s>\r\nExpires: 3600\r\n", local.c_str(),
                   tp);
  }
  t += "User-Agent: sipsbench\r\n";
  if (is_message && spec.body_size > 0) t += "Content-Type: text/plain\r\n";
  int body = is_message ? spec.body_size : 0;
  t += strprintf("Content-Length: %d\r\n\r\n", body);
  t.append(static_cast<size_t>(body), 'x');
}

void RequestTemplate::append_to(std::string* out, uint16_t slot, uint32_t seq) const {
  size_t at = out->size();
  out->append(text_);
  char* p = out->data() + at;
  put_slot_seq(p + branch_at_, slot, seq);
  memcpy(p + call_id_at_, p + branch_at_, kSlotSeqLen);
  memcpy(p + cseq_at_, p + branch_at_ + 5, 9);
}

bool decode_call_id(std::string_view id, CallIdFields* out) {
  // sb<8 hex>.<4 hex>.<9 dec>@sipsbench
  constexpr size_t kLen = 2 + 8 + 1 + kSlotSeqLen + kCallIdSuffix.size();
  if (id.size() != kLen || id.substr(0, 2) != "sb" || id[10] != '.' || id[15] != '.' ||
      id.substr(25) != kCallIdSuffix)
    return false;
  uint32_t slot = 0;
  if (!get_hex(id.substr(2, 8), &out->tag) || !get_hex(id.substr(11, 4), &slot) ||
      !get_dec(id.substr(16, 9), &out->seq))
    return false;
  out->slot = static_cast<uint16_t>(slot);
  return true;
}

}  // namespace sipsd::bench
