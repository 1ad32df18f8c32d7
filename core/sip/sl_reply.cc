#include "core/sip/sl_reply.h"

#include <charconv>
#include <cstring>

namespace sipsd::sip {
namespace {

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  // Length-terminate each field so ("ab","c") and ("a","bc") differ.
  h ^= s.size() & 0xff;
  h *= 0x100000001b3ULL;
  return h;
}

}  // namespace

std::string_view sl_to_tag(const Message& req, char (&buf)[kSlTagLength]) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, req.call_id());
  if (const Header* from = req.first(HeaderType::kFrom)) {
    h = fnv1a(h, req.from_tag().empty() ? from->value : req.from_tag());
  } else {
    h = fnv1a(h, {});
  }
  char num[16];
  const auto r = std::to_chars(num, num + sizeof(num), req.cseq_number());
  h = fnv1a(h, std::string_view(num, static_cast<size_t>(r.ptr - num)));
  if (const Via* v = req.top_via()) {
    h = fnv1a(h, v->branch.empty() ? v->sent_by : v->branch);
  } else if (const Header* via = req.first(HeaderType::kVia)) {
    h = fnv1a(h, via->value);
  }
  memcpy(buf, kSlTagPrefix.data(), kSlTagPrefix.size());
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < 16; ++i) {
    buf[kSlTagPrefix.size() + i] = kHex[(h >> (60 - 4 * i)) & 0xf];
  }
  return std::string_view(buf, kSlTagLength);
}

bool is_sl_to_tag(std::string_view tag) {
  if (tag.size() != kSlTagLength || tag.substr(0, kSlTagPrefix.size()) != kSlTagPrefix) {
    return false;
  }
  for (char c : tag.substr(kSlTagPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void build_stateless_reply(const Message& req, int code, std::string_view reason,
                           const ReplyParams& p, std::string* out) {
  LocalReply r;
  r.code = code;
  r.reason = reason;
  char tag[kSlTagLength];
  if (code > 100 && req.is_request() && req.method_id() != Method::kAck && !req.has_to_tag()) {
    r.to_tag = sl_to_tag(req, tag);
  }
  internal::write_reply(req, r, p, out);  // the tag is ours: a token by construction
}

}  // namespace sipsd::sip
