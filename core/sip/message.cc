#include "core/sip/message.h"

#include <algorithm>
#include <cstring>

#include "core/base/ascii.h"
#include "core/sip/syntax.h"

namespace sipsd::sip {
namespace {

using lex::has_class;
using lex::is_digit;
using lex::is_token;
using lex::is_ws;
using lex::parse_decimal;
using lex::scan_token;
using lex::skip_ws;
using lex::trim;

// "SIP/2.0" (case-insensitive, RFC 3261 §7.1).
enum class VersionKind { kSip20, kOtherSip, kNotSip };

VersionKind classify_version(std::string_view v) {
  if (v.size() < 4 || !ascii_iequals(v.substr(0, 4), "SIP/")) return VersionKind::kNotSip;
  const std::string_view num = v.substr(4);
  const size_t dot = num.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == num.size()) {
    return VersionKind::kNotSip;
  }
  for (size_t i = 0; i < num.size(); ++i) {
    if (i != dot && !is_digit(num[i])) return VersionKind::kNotSip;
  }
  return num == "2.0" ? VersionKind::kSip20 : VersionKind::kOtherSip;
}

// Request-URI (RFC 3261 §25.1 absoluteURI / SIP-URI): a scheme, a colon, no whitespace or
// control characters. The URI itself is parsed by whoever routes on it.
bool plausible_request_uri(std::string_view u) {
  if (u.empty()) return false;
  const char c0 = u[0];
  if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z'))) return false;
  size_t i = 1;
  while (i < u.size() && has_class(u[i], lex::kScheme)) ++i;
  if (i >= u.size() || u[i] != ':' || i + 1 == u.size()) return false;
  for (char c : u) {
    const auto uc = static_cast<unsigned char>(c);
    if (uc <= 0x20 || uc == 0x7f || c == '<' || c == '>' || c == '"') return false;
  }
  return true;
}

}  // namespace

// ---- names ------------------------------------------------------------------------------------

namespace {

struct NameEntry {
  std::string_view name;
  HeaderType type;
};

constexpr NameEntry kHeaderNames[] = {
    {"Via", HeaderType::kVia},
    {"From", HeaderType::kFrom},
    {"To", HeaderType::kTo},
    {"Call-ID", HeaderType::kCallId},
    {"CSeq", HeaderType::kCSeq},
    {"Max-Forwards", HeaderType::kMaxForwards},
    {"Content-Length", HeaderType::kContentLength},
    {"User-Agent", HeaderType::kUserAgent},
    {"Contact", HeaderType::kContact},
    {"Content-Type", HeaderType::kContentType},
    {"Route", HeaderType::kRoute},
    {"Record-Route", HeaderType::kRecordRoute},
    {"Supported", HeaderType::kSupported},
    {"Require", HeaderType::kRequire},
    {"Allow", HeaderType::kAllow},
    {"Subject", HeaderType::kSubject},
    {"Content-Encoding", HeaderType::kContentEncoding},
    {"Proxy-Require", HeaderType::kProxyRequire},
    {"Unsupported", HeaderType::kUnsupported},
    {"Server", HeaderType::kServer},
    {"Expires", HeaderType::kExpires},
    {"Event", HeaderType::kEvent},
    {"Refer-To", HeaderType::kReferTo},
    {"Authorization", HeaderType::kAuthorization},
    {"Proxy-Authorization", HeaderType::kProxyAuthorization},
    {"WWW-Authenticate", HeaderType::kWwwAuthenticate},
    {"Proxy-Authenticate", HeaderType::kProxyAuthenticate},
    {"Alert-Info", HeaderType::kAlertInfo},
};

struct MethodEntry {
  std::string_view name;
  Method id;
};

constexpr MethodEntry kMethods[] = {
    {"INVITE", Method::kInvite},   {"ACK", Method::kAck},
    {"OPTIONS", Method::kOptions}, {"BYE", Method::kBye},
    {"CANCEL", Method::kCancel},   {"REGISTER", Method::kRegister},
    {"INFO", Method::kInfo},       {"PRACK", Method::kPrack},
    {"UPDATE", Method::kUpdate},   {"SUBSCRIBE", Method::kSubscribe},
    {"NOTIFY", Method::kNotify},   {"MESSAGE", Method::kMessage},
    {"REFER", Method::kRefer},     {"PUBLISH", Method::kPublish},
};

}  // namespace

std::string_view header_type_name(HeaderType t) {
  for (const NameEntry& e : kHeaderNames) {
    if (e.type == t) return e.name;
  }
  return {};
}

HeaderType classify_header(std::string_view n) {
  if (n.size() == 1) {
    switch (ascii_lower(n[0])) {
      case 'v':
        return HeaderType::kVia;
      case 'f':
        return HeaderType::kFrom;
      case 't':
        return HeaderType::kTo;
      case 'i':
        return HeaderType::kCallId;
      case 'l':
        return HeaderType::kContentLength;
      case 'm':
        return HeaderType::kContact;
      case 'c':
        return HeaderType::kContentType;
      case 'k':
        return HeaderType::kSupported;
      case 's':
        return HeaderType::kSubject;
      case 'e':
        return HeaderType::kContentEncoding;
      case 'o':
        return HeaderType::kEvent;
      case 'r':
        return HeaderType::kReferTo;
      default:
        return HeaderType::kOther;
    }
  }
  for (const NameEntry& e : kHeaderNames) {
    if (e.name.size() == n.size() && ascii_iequals(e.name, n)) return e.type;
  }
  return HeaderType::kOther;
}

Method method_from_name(std::string_view name) {
  for (const MethodEntry& e : kMethods) {
    if (e.name == name) return e.id;
  }
  return Method::kOther;
}

// ---- Message ------------------------------------------------------------------------------------

void Message::clear() {
  raw_ = {};
  is_request_ = false;
  method_id_ = Method::kOther;
  method_ = ruri_ = version_ = reason_ = {};
  status_code_ = 0;
  headers_.clear();  // keeps capacity
  first_.fill(-1);
  counts_.fill(0);
  cseq_number_ = 0;
  cseq_method_ = {};
  max_forwards_ = -1;
  has_top_via_ = false;
  top_via_ = Via{};
  has_from_ = has_to_ = false;  // from_/to_ are only read when these are set
  content_length_ = -1;
  start_line_ = header_lines_ = {};
  headers_complete_ = false;
  body_ = {};
}

const Header* Message::first(HeaderType t) const {
  const int16_t i = first_[static_cast<size_t>(t)];
  return i < 0 ? nullptr : &headers_[static_cast<size_t>(i)];
}

std::string_view Message::call_id() const {
  const Header* h = first(HeaderType::kCallId);
  return h ? h->value : std::string_view();
}

std::string_view Message::user_agent() const {
  const Header* h = first(HeaderType::kUserAgent);
  return h ? h->value : std::string_view();
}

bool Message::expires(uint32_t* seconds) const {
  const Header* h = first(HeaderType::kExpires);
  uint64_t v = 0;
  if (h == nullptr || !parse_decimal(h->value, UINT32_MAX, &v)) return false;
  *seconds = v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v);
  return true;
}

// ---- the parser -------------------------------------------------------------------------------

class MessageParser {
 public:
  MessageParser(char* d, size_t n, Message* m) : d_(d), n_(n), m_(m) {}

  ParseResult run();

 private:
  enum class Line { kOk, kNoEnd, kTooLong, kBareCr };

  // The line starting at pos: *content_end excludes CR LF / LF, *next is the next line's start.
  Line read_line(size_t pos, size_t* content_end, size_t* next) const {
    const size_t avail = n_ - pos;
    const size_t scan = std::min(avail, Message::kMaxLineLength + 2);
    const void* lf = memchr(d_ + pos, '\n', scan);
    if (lf == nullptr) return avail > Message::kMaxLineLength + 1 ? Line::kTooLong : Line::kNoEnd;
    size_t e = static_cast<size_t>(static_cast<const char*>(lf) - d_);
    *next = e + 1;
    if (e > pos && d_[e - 1] == '\r') --e;
    if (e - pos > Message::kMaxLineLength) return Line::kTooLong;
    if (memchr(d_ + pos, '\r', e - pos) != nullptr) return Line::kBareCr;
    *content_end = e;
    return Line::kOk;
  }

  static ParseResult unparseable(const char* why) {
    return ParseResult{ParseStatus::kUnparseable, why, 0};
  }
  void defer(const char* why, int code = 400) {
    if (deferred_ == nullptr) {
      deferred_ = why;
      deferred_code_ = code;
    }
  }

  const char* parse_start_line(std::string_view l);
  bool add_header(size_t line_end);  // false: too many
  const char* check_framing();
  void analyse();

  std::string_view view(size_t b, size_t e) const { return std::string_view(d_ + b, e - b); }

  char* d_;
  size_t n_;
  Message* m_;
  const char* deferred_ = nullptr;
  int deferred_code_ = 0;
  // The header being collected.
  bool have_cur_ = false;
  size_t name_b_ = 0, name_e_ = 0, val_b_ = 0, val_e_ = 0;
  size_t blank_from_ = 0;  // the end of the header's last physical line
};

const char* MessageParser::parse_start_line(std::string_view l) {
  if (l.size() >= 4 && ascii_iequals(l.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    size_t i = 0;
    while (i < l.size() && !is_ws(l[i])) ++i;
    const std::string_view version = l.substr(0, i);
    if (classify_version(version) != VersionKind::kSip20) return "Bad status line";
    if (i >= l.size()) return "Bad status line";
    skip_ws(l, &i);
    const size_t cs = i;
    while (i < l.size() && is_digit(l[i])) ++i;
    if (i - cs != 3 || (i < l.size() && !is_ws(l[i]))) return "Bad status line";
    const int code = (l[cs] - '0') * 100 + (l[cs + 1] - '0') * 10 + (l[cs + 2] - '0');
    if (code < 100 || code > 699) return "Bad status line";
    skip_ws(l, &i);
    m_->is_request_ = false;
    m_->version_ = version;
    m_->status_code_ = code;
    m_->reason_ = trim(l.substr(i));
    return nullptr;
  }

  // Request-Line = Method SP Request-URI SP SIP-Version. Extra whitespace between the elements
  // and after the version is tolerated (RFC 4475 §3.1.1.8 lwsstart, §3.1.1.9 trws).
  size_t i = scan_token(l, 0);
  if (i == 0 || i >= l.size() || !is_ws(l[i])) return "Bad request line";
  const std::string_view method = l.substr(0, i);
  skip_ws(l, &i);
  size_t end = l.size();
  while (end > i && is_ws(l[end - 1])) --end;
  size_t vs = end;
  while (vs > i && !is_ws(l[vs - 1])) --vs;
  if (vs == i) return "Bad request line";  // one element only: no URI or no version
  const std::string_view version = l.substr(vs, end - vs);
  const VersionKind vk = classify_version(version);
  if (vk == VersionKind::kNotSip) return "Bad request line";
  const std::string_view ruri = trim(l.substr(i, vs - i));
  m_->is_request_ = true;
  m_->method_ = method;
  m_->method_id_ = method_from_name(method);
  m_->ruri_ = ruri;
  m_->version_ = version;
  if (vk == VersionKind::kOtherSip) defer("Version Not Supported", 505);
  // Whitespace inside it (lwsruri), <> around it (ltgtruri), no scheme: SIP, but malformed.
  if (!plausible_request_uri(ruri)) defer("Malformed Request-URI");
  return nullptr;
}

// The header being collected ends where the line at line_end starts.
bool MessageParser::add_header(size_t line_end) {
  have_cur_ = false;
  std::vector<Header>& hs = m_->headers_;
  if (hs.size() >= Message::kMaxHeaders) return false;
  const std::string_view name = view(name_b_, name_e_);
  const HeaderType t = classify_header(name);
  const auto ti = static_cast<size_t>(t);
  if (m_->first_[ti] < 0) m_->first_[ti] = static_cast<int16_t>(hs.size());
  if (m_->counts_[ti] < UINT16_MAX) ++m_->counts_[ti];
  hs.push_back(Header{t, name, view(val_b_, val_e_), view(name_b_, line_end)});
  return true;
}

ParseResult MessageParser::run() {
  if (d_ == nullptr || n_ == 0) return unparseable("Empty message");
  size_t pos = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored on streams.
  for (;;) {
    if (pos < n_ && d_[pos] == '\n') {
      ++pos;
    } else if (pos + 1 < n_ && d_[pos] == '\r' && d_[pos + 1] == '\n') {
      pos += 2;
    } else {
      break;
    }
  }
  m_->raw_ = std::string_view(d_, n_);

  size_t ce = 0;
  size_t next = 0;
  switch (read_line(pos, &ce, &next)) {
    case Line::kOk:
      break;
    case Line::kNoEnd:
      return unparseable("No end of start line");
    case Line::kTooLong:
      return unparseable("Start line too long");
    case Line::kBareCr:
      return unparseable("Bare CR in start line");
  }
  if (const char* why = parse_start_line(view(pos, ce))) return unparseable(why);
  m_->start_line_ = view(pos, ce);
  pos = next;
  const size_t headers_begin = pos;

  bool complete = false;
  while (!complete) {
    if (pos >= n_) return unparseable("No end of headers");
    switch (read_line(pos, &ce, &next)) {
      case Line::kOk:
        break;
      case Line::kNoEnd:
        return unparseable("No end of headers");
      case Line::kTooLong:
        return unparseable("Header line too long");
      case Line::kBareCr:
        return unparseable("Bare CR in header");
    }
    if (ce == pos) {  // the empty line
      if (have_cur_ && !add_header(pos)) break;
      m_->header_lines_ = view(headers_begin, pos);
      m_->headers_complete_ = true;
      m_->body_ = view(next, n_);
      complete = true;
      break;
    }
    if (is_ws(d_[pos])) {
      // Continuation (RFC 3261 §7.3.1): the line break and leading whitespace become one SP,
      // in place; the bytes freed at the end of the line become spaces, so the buffer still
      // reads as the same message.
      if (!have_cur_) return unparseable("Continuation line without a header");
      if (ce - name_b_ > Message::kMaxLineLength) return unparseable("Header line too long");
      size_t s = pos;
      while (s < ce && is_ws(d_[s])) ++s;
      size_t e = ce;
      while (e > s && is_ws(d_[e - 1])) --e;
      if (e > s) {
        if (val_e_ > val_b_) d_[val_e_++] = ' ';
        memmove(d_ + val_e_, d_ + s, e - s);
        val_e_ += e - s;
      }
      // [val_e_, blank_from_) is already whitespace: blank only the new bytes, so a header
      // folded over many lines costs linear, not quadratic, time.
      const size_t from = std::max(val_e_, blank_from_);
      memset(d_ + from, ' ', ce - from);
      blank_from_ = ce;
      pos = next;
      continue;
    }
    if (have_cur_ && !add_header(pos)) break;
    // field-name *WSP ":" value (whitespace before the colon is allowed, §7.3.1).
    size_t i = pos;
    while (i < ce && is_token(d_[i])) ++i;
    if (i == pos) return unparseable("Bad header name");
    name_b_ = pos;
    name_e_ = i;
    while (i < ce && is_ws(d_[i])) ++i;
    if (i >= ce || d_[i] != ':') return unparseable("Header without colon");
    ++i;
    while (i < ce && is_ws(d_[i])) ++i;
    size_t e = ce;
    while (e > i && is_ws(d_[e - 1])) --e;
    val_b_ = i;
    val_e_ = e;
    blank_from_ = ce;
    have_cur_ = true;
    pos = next;
  }

  if (!complete) defer("Too many headers");
  if (complete) {
    if (const char* why = check_framing()) {
      m_->headers_complete_ = false;
      m_->header_lines_ = {};
      return unparseable(why);
    }
  }
  analyse();
  if (deferred_ != nullptr) return ParseResult{ParseStatus::kBadRequest, deferred_, deferred_code_};
  return ParseResult{ParseStatus::kOk, "OK", 0};
}

// Content-Length, when present, must describe the body the framer cut: one header, digits only,
// equal to the body length. Anything else means the framer and the parser disagree on where the
// message ends (smuggling), so the connection is closed (RFC 4475 §3.1.2.3 ncl, §3.3.9 mcl01).
const char* MessageParser::check_framing() {
  const size_t n = m_->count(HeaderType::kContentLength);
  if (n == 0) return nullptr;
  if (n > 1) return "Multiple Content-Length headers";
  uint64_t cl = 0;
  if (!parse_decimal(m_->first(HeaderType::kContentLength)->value, UINT32_MAX, &cl)) {
    return "Bad Content-Length";
  }
  // cl saturates at 2^32: a length like 4294967328 never wraps to 32 (CVE-2026-23457).
  if (cl != m_->body_.size()) return "Content-Length does not match the body";
  m_->content_length_ = static_cast<int64_t>(cl);
  return nullptr;
}

void MessageParser::analyse() {
  Message& m = *m_;
  // Mandatory (RFC 3261 §8.1.1): checked for replies too, which are unusable without them.
  if (m.count(HeaderType::kVia) == 0) defer("Missing Via header");
  if (m.count(HeaderType::kFrom) == 0) defer("Missing From header");
  if (m.count(HeaderType::kTo) == 0) defer("Missing To header");
  if (m.count(HeaderType::kCallId) == 0) defer("Missing Call-ID header");
  if (m.count(HeaderType::kCSeq) == 0) defer("Missing CSeq header");
  // Single-valued (RFC 4475 multi01).
  if (m.count(HeaderType::kFrom) > 1) defer("Duplicate From header");
  if (m.count(HeaderType::kTo) > 1) defer("Duplicate To header");
  if (m.count(HeaderType::kCallId) > 1) defer("Duplicate Call-ID header");
  if (m.count(HeaderType::kCSeq) > 1) defer("Duplicate CSeq header");
  if (m.count(HeaderType::kMaxForwards) > 1) defer("Duplicate Max-Forwards header");

  if (const Header* h = m.first(HeaderType::kVia)) {
    std::string_view rest;
    m.has_top_via_ = parse_via(h->value, &m.top_via_, &rest);
    if (!m.has_top_via_) {
      m.top_via_ = Via{};
      defer("Bad Via header");
    }
  }
  if (const Header* h = m.first(HeaderType::kFrom)) {
    m.has_from_ = parse_name_addr(h->value, AddrForm::kFromTo, &m.from_);
    if (!m.has_from_) defer("Bad From header");
  }
  if (const Header* h = m.first(HeaderType::kTo)) {
    m.has_to_ = parse_name_addr(h->value, AddrForm::kFromTo, &m.to_);
    if (!m.has_to_) defer("Bad To header");
  }
  if (const Header* h = m.first(HeaderType::kCallId)) {
    // callid = word [ "@" word ]: no whitespace inside.
    const std::string_view v = h->value;
    if (v.empty() || std::any_of(v.begin(), v.end(), is_ws)) defer("Bad Call-ID header");
  }
  if (const Header* h = m.first(HeaderType::kCSeq)) {
    // CSeq = 1*DIGIT LWS Method, the number < 2**31 (§8.1.1.5).
    const std::string_view v = h->value;
    size_t i = 0;
    while (i < v.size() && is_digit(v[i])) ++i;
    uint64_t num = 0;
    const size_t ms = [&] {
      size_t k = i;
      skip_ws(v, &k);
      return k;
    }();
    const size_t me = scan_token(v, ms);
    if (i == 0 || ms == i || me == ms || me != v.size() ||
        !parse_decimal(v.substr(0, i), UINT32_MAX, &num) || num >= (uint64_t{1} << 31)) {
      defer("Bad CSeq");
    } else {
      m.cseq_number_ = static_cast<uint32_t>(num);
      m.cseq_method_ = v.substr(ms, me - ms);
      if (m.is_request_ && m.cseq_method_ != m.method_) defer("CSeq method mismatch");
    }
  }
  if (const Header* h = m.first(HeaderType::kMaxForwards)) {
    uint64_t mf = 0;
    if (!parse_decimal(h->value, 255, &mf) || mf > 255) {
      defer("Bad Max-Forwards");
    } else {
      m.max_forwards_ = static_cast<int>(mf);
    }
  }
}

ParseResult parse_message(char* data, size_t len, Message* out) {
  out->clear();
  MessageParser p(data, len, out);
  return p.run();
}

}  // namespace sipsd::sip
