#include "core/registrar/registrar.h"

#include <algorithm>
#include <charconv>

#include "core/base/ascii.h"
#include "core/base/log.h"
#include "core/shm/stats.h"
#include "core/sip/header_cursor.h"
#include "core/sip/reply_builder.h"
#include "core/sip/sl_reply.h"
#include "core/sip/uri.h"

namespace sipsd::reg {

namespace {

// A rejected REGISTER: code, reason phrase, P-Registrar-Error.
struct Rejection {
  int code;
  const char* reason;
  std::string error;
};

Rejection bad(std::string error) {
  return Rejection{400, "Bad Request", std::move(error)};
}

std::string q_text(int q) {
  if (q >= 1000) return "1";
  std::string s = strprintf("0.%03d", q);
  while (s.size() > 3 && s.back() == '0') s.pop_back();
  return s;
}

const char* proto_lower(Proto p) {
  return proto_name(p);
}

// One Contact of the REGISTER, parsed.
struct NewBinding {
  std::string uri;
  int64_t expires = 0;  // seconds after clamping; 0 = remove
  int q = ul::kQUnspecified;
  std::string instance;
  uint32_t reg_id = 0;    // RFC 5626 reg-id, kept only when the binding is an outbound flow
  bool outbound = false;  // RFC 5626: the binding is the flow (instance, reg-id)
};

bool supports(const sip::Message& req, std::string_view option_tag) {
  std::string_view v;
  for (sip::HeaderValueCursor c(req, sip::HeaderType::kSupported); c.next(&v);)
    if (ascii_iequals(v, option_tag)) return true;
  return false;
}

bool supports_path(const sip::Message& req) {
  return supports(req, "path");
}

// RFC 5626 section 6: we can keep a flow to the UA when we are its first hop (one Via), or
// when the first Path URI (an edge proxy that keeps the flow) carries ";ob".
bool outbound_possible(const sip::Message& req, std::string_view stored_path) {
  size_t vias = 0;
  sip::Via via;
  for (sip::ViaCursor c(req); c.next(&via);) ++vias;
  if (vias == 1) return true;
  std::string_view first = stored_path.substr(0, stored_path.find('>'));
  size_t lt = first.find('<');
  if (lt == std::string_view::npos) return false;
  sip::Uri u;
  if (!sip::parse_uri(first.substr(lt + 1), &u).ok()) return false;
  sip::UriParam p;
  for (sip::UriParamCursor c(u.params); c.next(&p);)
    if (ascii_iequals(p.name, "ob")) return true;
  return false;
}

std::string path_of(const sip::Message& req) {
  std::string out;
  std::string_view v;
  for (sip::HeaderValueCursor c(req, "Path"); c.next(&v);) {
    if (!out.empty()) out += ",";
    out.append(v);
  }
  return out;
}

// The first URI of a Path vector ("<sip:p1;lr>,<sip:p2;lr>" -> "sip:p1;lr").
std::string first_path_uri(std::string_view path) {
  size_t lt = path.find('<');
  size_t gt = path.find('>');
  if (lt == std::string_view::npos || gt == std::string_view::npos || gt < lt) return {};
  return std::string(path.substr(lt + 1, gt - lt - 1));
}

}  // namespace

int64_t contact_expires(int64_t contact_expires, int64_t header_expires, int64_t default_expires,
                        int64_t min_expires, int64_t max_expires) {
  int64_t e = contact_expires >= 0  ? contact_expires
              : header_expires >= 0 ? header_expires
                                    : default_expires;
  if (e == 0) return 0;
  if (min_expires > 0 && e < min_expires) e = min_expires;
  if (max_expires > 0 && e > max_expires) e = max_expires;
  return e;
}

bool aor_of_uri(std::string_view uri_text, bool use_domain, std::string* out) {
  sip::Uri u;
  if (!sip::parse_uri(uri_text, &u).ok()) return false;
  if (u.user.empty()) return false;
  out->assign(u.user);
  if (use_domain) {
    out->push_back('@');
    out->append(ascii_to_lower(std::string(u.host)));
  }
  return true;
}

uint32_t method_bit(sip::Method m) {
  switch (m) {
    case sip::Method::kOther:
      return ul::kAllMethods;
    default:
      return 1u << static_cast<unsigned>(m);
  }
}

uint32_t methods_of_allow(const sip::Message& req) {
  if (req.count(sip::HeaderType::kAllow) == 0) return ul::kAllMethods;
  uint32_t mask = 0;
  std::string_view v;
  for (sip::HeaderValueCursor c(req, sip::HeaderType::kAllow); c.next(&v);) {
    sip::Method m = sip::method_from_name(v);
    if (m != sip::Method::kOther) mask |= method_bit(m);
  }
  // Extension methods are not tracked: they always pass.
  return mask == 0 ? ul::kAllMethods : mask | 0x80000000u;
}

SaveResult Registrar::save(const SaveRequest& in, const SaveFlags& flags) {
  SaveResult out;
  const sip::Message& req = *in.req;
  std::optional<Rejection> reject;
  std::string aor;
  std::vector<NewBinding> news;
  bool star = false;
  std::string path;
  const bool path_supported = supports_path(req);
  const bool outbound_supported = supports(req, "outbound");
  size_t flows = 0;  // Contacts with reg-id
  const int64_t min_e = flags.min_expires >= 0 ? flags.min_expires : cfg_.min_expires;
  const int64_t max_e = flags.max_expires >= 0 ? flags.max_expires : cfg_.max_expires;
  int limit = flags.max_contacts >= 0 ? flags.max_contacts : cfg_.max_contacts;
  if (limit == 0) limit = kMaxContactsPerAor;

  // 1. The AoR, the Contacts and their expires.
  std::string_view aor_uri = !in.aor_uri.empty()   ? in.aor_uri
                             : req.to() != nullptr ? req.to()->uri
                                                   : std::string_view();
  if (aor_uri.empty() || !aor_of_uri(aor_uri, cfg_.use_domain, &aor)) {
    reject = bad("Error while extracting Address Of Record");
  } else if (aor.size() > ul::kMaxAorLen) {
    reject = bad("Too long AOR");
  }
  int64_t header_expires = -1;
  if (uint32_t e = 0; req.expires(&e)) header_expires = e;
  if (!reject && flags.path != PathMode::kOff) {
    path = path_of(req);
    if (!path.empty() && flags.path == PathMode::kStrict && !path_supported)
      reject = Rejection{420, "Bad Extension", "Path not supported by UA"};
    if (path.size() > ul::kMaxPathLen) reject = bad("Too long Path");
  }
  if (!reject) {
    sip::NameAddr na;
    size_t n = 0;
    sip::NameAddrCursor c(req, sip::HeaderType::kContact);
    while (c.next(&na)) {
      if (++n > kMaxContactsPerRequest) {
        reject = Rejection{503, "Service Unavailable", "Too many registered contacts"};
        LOG_NOTICE("registrar", "%.*s:%u: REGISTER for '%s' with more than %zu contacts refused",
                   static_cast<int>(in.src.src_ip.size()), in.src.src_ip.data(), in.src.src_port,
                   aor.c_str(), kMaxContactsPerRequest);
        break;
      }
      if (na.star) {
        star = true;
        continue;
      }
      if (na.expires_malformed) {
        reject = bad("Invalid expires param in contact");
        break;
      }
      sip::Uri u;
      if (!sip::parse_uri(na.uri, &u).ok()) {
        reject = bad("Bad Contact URI");
        break;
      }
      if (na.uri.size() > ul::kMaxContactLen) {
        reject = bad("Contact/received too long");
        break;
      }
      NewBinding b;
      b.uri.assign(na.uri);
      b.q = na.q;
      b.expires = contact_expires(na.expires, header_expires, cfg_.default_expires, min_e, max_e);
      std::string_view v;
      if (na.param("+sip.instance", &v)) b.instance.assign(v.substr(0, ul::kMaxInstanceLen));
      if (na.param("reg-id", &v)) {
        // RFC 5626: a flow of this instance. Without the outbound option tag, or without an
        // instance, reg-id is ignored (RFC 3261 rules); one reg-id Contact per REGISTER.
        uint32_t id = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
        if (ec != std::errc() || end != v.data() + v.size() || id == 0) {
          reject = bad("Invalid reg-id param in contact");
          break;
        }
        if (outbound_supported && !b.instance.empty()) {
          if (++flows > 1) {
            reject = bad("More than one Contact with reg-id");
            break;
          }
          if (!outbound_possible(req, path)) {
            reject = Rejection{439, "First Hop Lacks Outbound Support", "First hop lacks outbound"};
            break;
          }
          b.reg_id = id;
          b.outbound = true;
        }
      }
      news.push_back(std::move(b));
    }
    if (!reject && c.failed()) reject = bad("Invalid Contact header");
    if (!reject && star) {
      // RFC 3261 §10.3 step 6: "*" only with Expires: 0 and alone.
      if (!news.empty() || n != 1)
        reject = bad("Wildcard used with other contacts");
      else if (header_expires != 0)
        reject = bad("Wildcard used with non-zero expires");
    }
  }

  // 2. The table, under the AoR's lock.
  const std::string_view callid = req.call_id();
  const uint32_t cseq = req.cseq_number();
  const bool persistent = cfg_.tcp_persistent_flag >= 0 && in.src.conn_id != 0 &&
                          (in.msg_flags & (1u << cfg_.tcp_persistent_flag)) != 0;
  const uint32_t methods = methods_of_allow(req);
  std::vector<ul::Contact> result;
  bool full = false;
  if (!reject && (star || !news.empty())) {
    std::optional<Rejection> inner;
    ul::LocationTable::UpdateOutcome o = table_.update(aor, [&](std::vector<ul::Contact>& cs) {
      if (star) {
        for (const ul::Contact& c : cs) {
          if (c.callid == callid && c.cseq >= cseq) {
            inner = bad("Invalid CSeq number");
            return false;
          }
        }
        cs.clear();
        return true;
      }
      for (const NewBinding& b : news) {
        // An outbound flow replaces the binding of the same (instance, reg-id), whatever its
        // Contact URI (RFC 5626 section 6); otherwise the Contact URI is the key.
        auto it = std::find_if(cs.begin(), cs.end(), [&](const ul::Contact& c) {
          return b.outbound ? c.reg_id == b.reg_id && c.instance == b.instance : c.uri == b.uri;
        });
        if (it != cs.end() && it->callid == callid && it->cseq >= cseq) {
          // A retransmission within cseq_delay changes nothing; an older CSeq is an error.
          if (in.now - it->last_modified <= cfg_.cseq_delay) continue;
          inner = bad("Invalid CSeq number");
          return false;
        }
        if (b.expires == 0) {
          if (it != cs.end()) cs.erase(it);
          continue;
        }
        ul::Contact fresh;
        ul::Contact& c = it != cs.end() ? *it : fresh;
        c.uri = b.uri;
        c.q = b.q;
        c.expires = in.now + b.expires;
        c.last_modified = in.now;
        c.callid.assign(callid.substr(0, ul::kMaxCallidLen));
        c.cseq = cseq;
        c.user_agent.assign(req.user_agent().substr(0, ul::kMaxUserAgentLen));
        c.received.assign(in.received.substr(0, ul::kMaxReceivedLen));
        c.path = path;
        c.socket = in.src.socket;
        c.methods = methods;
        c.instance = b.instance;
        c.reg_id = b.reg_id;
        c.proto = in.src.proto;
        c.src_ip.assign(in.src.src_ip);
        c.src_port = in.src.src_port;
        c.conn_id = in.src.conn_id;
        // A flow over TCP/TLS lives as long as its connection (RFC 5626: a failed flow's
        // binding goes), as with tcp_persistent_flag.
        c.conn_bound = persistent || (b.outbound && in.src.conn_id != 0 && path.empty());
        c.state = it != cs.end() && c.state == ul::ContactState::kSync ? ul::ContactState::kDirty
                                                                       : c.state;
        if (it == cs.end()) cs.push_back(std::move(fresh));
      }
      if (static_cast<int>(cs.size()) > limit) {
        if (!flags.force_registration) {
          inner = Rejection{503, "Service Unavailable", "Too many registered contacts"};
          return false;
        }
        // Evict the oldest bindings.
        std::stable_sort(cs.begin(), cs.end(), [](const ul::Contact& a, const ul::Contact& b) {
          return a.last_modified < b.last_modified;
        });
        cs.erase(cs.begin(), cs.begin() + static_cast<ptrdiff_t>(cs.size() - limit));
      }
      return true;
    });
    if (inner) reject = inner;
    if (o.status == ul::LocationTable::UpdateStatus::kFull) {
      full = true;
      stat_add(Stat::kUlTableFull);
      LOG_WARN("usrloc", "location table full (%u bindings): '%s' not stored", table_.capacity(),
               aor.c_str());
    }
  }
  if (!reject && full) reject = Rejection{503, "Service Unavailable", "Internal error"};
  if (!reject) result = table_.get(aor);

  // 3. The reply.
  std::vector<sip::HeaderField> hdrs;
  std::string contact_hdr, retry;
  if (reject) {
    out.rc = -2;
    out.code = reject->code;
    out.reason = reject->reason;
    out.error = reject->error;
    stat_add(Stat::kRegRejected);
    LOG_INFO("registrar", "%.*s:%u: REGISTER for '%s' refused: %d %s",
             static_cast<int>(in.src.src_ip.size()), in.src.src_ip.data(), in.src.src_port,
             aor.c_str(), out.code, out.error.c_str());
    hdrs.push_back({"P-Registrar-Error", out.error});
    if (out.code == 420) hdrs.push_back({"Unsupported", "path"});
    if (out.code == 503 && cfg_.retry_after > 0) {
      retry = std::to_string(cfg_.retry_after);
      hdrs.push_back({"Retry-After", retry});
    }
  } else {
    out.rc = 1;
    out.code = 200;
    out.reason = "OK";
    stat_add(Stat::kRegAccepted);
    for (const ul::Contact& c : result) {
      if (c.expired(in.now)) continue;
      if (!contact_hdr.empty()) contact_hdr += ", ";
      contact_hdr += "<" + c.uri + ">";
      if (c.q != ul::kQUnspecified) contact_hdr += ";q=" + q_text(c.q);
      contact_hdr += ";expires=" + std::to_string(c.seconds_left(in.now));
      if (!c.received.empty()) contact_hdr += ";" + cfg_.received_param + "=\"" + c.received + "\"";
      if (c.conn_bound && c.conn_id == in.src.conn_id) {
        out.conn_bound = true;
        out.max_expires_left = std::max(out.max_expires_left, c.seconds_left(in.now));
      }
    }
    if (!contact_hdr.empty()) hdrs.push_back({"Contact", contact_hdr});
    if (!path.empty() && flags.path != PathMode::kOff && path_supported)
      hdrs.push_back({"Path", path});
    // RFC 5626: the registrar says it kept the flow.
    if (std::any_of(news.begin(), news.end(), [](const NewBinding& b) { return b.outbound; }))
      hdrs.push_back({"Require", "outbound"});
  }
  if (flags.no_reply) return out;
  sip::LocalReply r;
  r.code = out.code;
  r.reason = out.reason;
  char tag[sip::kSlTagLength];
  r.to_tag = sip::sl_to_tag(req, tag);
  r.headers = hdrs;
  sip::ReplyParams p;
  p.source_ip = in.src.src_ip;
  p.source_port = in.src.src_port;
  p.server = cfg_.server_header;
  if (!sip::build_reply(req, r, p, &out.reply)) {
    out.rc = -1;
    out.reply.clear();
  }
  return out;
}

LookupResult Registrar::lookup(std::string_view aor, sip::Method method,
                               std::string_view method_name, const LookupFlags& flags, int64_t now,
                               const ConnProbe& probe) const {
  LookupResult out;
  std::vector<ul::Contact> cs = table_.get(aor);
  bool filtered = false;
  const uint32_t bit = method_bit(method);
  std::vector<std::optional<int>> owners(cs.size());
  std::vector<bool> live(cs.size());
  for (size_t i = 0; i < cs.size(); ++i) {
    const ul::Contact& c = cs[i];
    if (c.conn_id != 0 && probe) owners[i] = probe(c.proto, c.src_ip, c.src_port, c.conn_id);
    // Expired, or its connection is gone (and so is the binding).
    live[i] = !c.expired(now) && !(c.conn_bound && !owners[i]);
  }
  // RFC 5626 section 5.3: one flow per instance, its most recently refreshed live one.
  auto superseded = [&](size_t i) {
    const ul::Contact& c = cs[i];
    if (c.reg_id == 0 || c.instance.empty()) return false;
    for (size_t j = 0; j < cs.size(); ++j) {
      if (j == i || !live[j] || cs[j].reg_id == 0 || cs[j].instance != c.instance) continue;
      if (cs[j].last_modified > c.last_modified ||
          (cs[j].last_modified == c.last_modified && j > i))
        return true;
    }
    return false;
  };
  for (size_t i = 0; i < cs.size(); ++i) {
    const ul::Contact& c = cs[i];
    if (!live[i] || superseded(i)) continue;
    const std::optional<int>& owner = owners[i];
    if (flags.method_filtering && bit != ul::kAllMethods && (c.methods & bit) == 0) {
      filtered = true;
      continue;
    }
    LookupTarget t;
    t.uri = c.uri;
    t.q = c.q;
    t.cflags = c.cflags;
    t.path = c.path;
    t.socket = c.socket;
    if (!c.path.empty()) {
      t.du = first_path_uri(c.path);
    } else if (!c.received.empty()) {
      t.du = c.received;
    } else if (c.conn_id != 0 && !c.src_ip.empty()) {
      const bool v6 = c.src_ip.find(':') != std::string::npos;
      t.du = strprintf("sip:%s%s%s:%u;transport=%s", v6 ? "[" : "", c.src_ip.c_str(), v6 ? "]" : "",
                       c.src_port, proto_lower(c.proto));
    }
    if (c.conn_id != 0 && c.path.empty()) {
      t.no_new_conn = true;
      if (owner) {
        t.conn_id = c.conn_id;
        t.conn_owner = *owner;
      }
    }
    out.targets.push_back(std::move(t));
    if (flags.no_branches) break;
  }
  (void)method_name;
  if (!out.targets.empty()) {
    out.rc = 1;
  } else {
    out.rc = filtered ? -2 : -1;
  }
  return out;
}

int Registrar::is_registered(std::string_view aor, int64_t now) const {
  for (const ul::Contact& c : table_.get(aor))
    if (!c.expired(now)) return 1;
  return -1;
}

int Registrar::remove(std::string_view aor, std::string_view contact) {
  if (contact.empty()) return table_.remove_aor(aor) > 0 ? 1 : -1;
  return table_.remove_contact(aor, contact) ? 1 : -1;
}

}  // namespace sipsd::reg
