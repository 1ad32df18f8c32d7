#include "core/tm/loose_route.h"

#include <vector>

#include "core/sip/header_cursor.h"
#include "core/sip/uri.h"

namespace sipsd::tm {

namespace {

struct RouteValue {
  const sip::Header* header;
  std::string_view element;  // the whole list element ("<sip:a;lr>;x=y")
  std::string_view uri;
  sip::Uri parsed;
};

// Writes every Route header again without the removed values: a header left empty goes, one
// with some values left gets the rest.
bool apply_removals(const std::vector<RouteValue>& routes, const std::vector<bool>& removed,
                    sip::MessageEditor& ed) {
  size_t i = 0;
  while (i < routes.size()) {
    const sip::Header* h = routes[i].header;
    size_t j = i;
    bool any_removed = false;
    std::string rest;
    for (; j < routes.size() && routes[j].header == h; ++j) {
      if (removed[j]) {
        any_removed = true;
        continue;
      }
      if (!rest.empty()) rest += ", ";
      rest.append(routes[j].element);
    }
    if (any_removed) {
      sip::EditStatus st = rest.empty() ? ed.remove_header(*h) : ed.replace_header_value(*h, rest);
      if (st != sip::EditStatus::kOk) return false;
    }
    i = j;
  }
  return true;
}

}  // namespace

LooseRouteResult loose_route(const sip::Message& msg, sip::MessageEditor& ed,
                             const MyselfCheck& is_myself) {
  LooseRouteResult r;
  std::vector<RouteValue> routes;
  sip::NameAddrCursor cur(msg, sip::HeaderType::kRoute);
  sip::NameAddr na;
  while (cur.next(&na)) {
    RouteValue v;
    v.header = cur.header();
    v.element = na.value;
    v.uri = na.uri;
    if (!sip::parse_uri(na.uri, &v.parsed).ok() || v.parsed.scheme == sip::UriScheme::kTel) {
      r.why = "bad Route URI";
      return r;
    }
    routes.push_back(v);
  }
  if (cur.failed()) {
    r.why = std::string("bad Route header: ") + (cur.error() ? cur.error() : "malformed");
    return r;
  }
  if (routes.empty()) return r;  // -1: no Route
  std::vector<bool> removed(routes.size(), false);

  // The previous hop was a strict router: the Request-URI is ours (one of our Record-Route
  // URIs, with ;lr), and the last Route is where the request really goes.
  sip::Uri ruri;
  if (sip::parse_uri(msg.ruri(), &ruri).ok() && ruri.scheme != sip::UriScheme::kTel &&
      ruri.param("lr") && is_myself(ruri.host, ruri.port) >= 0) {
    r.ruri = std::string(routes.back().uri);
    removed.back() = true;
    if (!apply_removals(routes, removed, ed)) {
      r.why = "cannot rewrite the Route headers";
      return r;
    }
    r.rc = 1;
    return r;
  }

  size_t next = 0;
  const sip::Uri& first = routes[0].parsed;
  auto note_ours = [&r](const sip::Uri& u) {
    std::string_view received;
    if (r.our_user.empty() && !u.user.empty()) r.our_user = std::string(u.user);
    if (r.our_received.empty() && u.param("received", &received))
      r.our_received = std::string(received);
  };
  if (is_myself(first.host, first.port) >= 0) {
    removed[0] = true;
    r.our_params = std::string(first.params);
    note_ours(first);
    next = 1;
    // A double Record-Route: our second value names the socket facing the next hop.
    if (first.param("r2") && routes.size() > 1) {
      const sip::Uri& second = routes[1].parsed;
      int sock = is_myself(second.host, second.port);
      if (sock >= 0) {
        removed[1] = true;
        r.forced_socket = sock;
        note_ours(second);
        next = 2;
      }
    }
  }
  if (next >= routes.size()) {
    // Nothing after ours: the Request-URI is the next hop — for an in-dialog request. An
    // initial request that only carried our own Route is the script's to route.
    if (!apply_removals(routes, removed, ed)) {
      r.why = "cannot rewrite the Route headers";
      return r;
    }
    r.rc = msg.has_to_tag() ? 1 : -1;
    return r;
  }
  const RouteValue& hop = routes[next];
  if (hop.parsed.param("lr")) {
    r.du = std::string(hop.uri);
  } else {
    // Strict next hop (RFC 3261 §16.12): it becomes the Request-URI; the Request-URI goes to
    // the end of the Route set.
    r.ruri = std::string(hop.uri);
    removed[next] = true;
    const sip::Header* last = routes.back().header;
    std::string appended = "<" + std::string(msg.ruri()) + ">";
    if (ed.insert_header_after(*last, "Route", appended) != sip::EditStatus::kOk) {
      r.why = "cannot append the Request-URI to the Route set";
      return r;
    }
  }
  if (!apply_removals(routes, removed, ed)) {
    r.why = "cannot rewrite the Route headers";
    return r;
  }
  r.rc = 1;
  return r;
}

}  // namespace sipsd::tm
