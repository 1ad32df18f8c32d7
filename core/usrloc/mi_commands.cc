#include "core/usrloc/mi_commands.h"

#include <time.h>

#include <memory>

#include "core/base/result.h"

namespace sipsd::ul {

namespace {

std::string q_text(int q) {
  if (q == kQUnspecified) return "";
  if (q >= 1000) return "1";
  std::string s = strprintf("0.%03d", q);
  while (s.size() > 3 && s.back() == '0') s.pop_back();
  return s;
}

int64_t now_s() {
  return static_cast<int64_t>(time(nullptr));
}

// The "AOR"/"Contacts" object of one AoR.
Json aor_json(const std::vector<Contact>& cs, int64_t now, const UlMiSetup& s) {
  Json a = Json::object();
  a.add("AOR", cs.front().aor);
  Json list = Json::array();
  for (const Contact& c : cs) list.push(contact_json(c, now, s));
  a.add("Contacts", std::move(list));
  return a;
}

MiError table_not_found() {
  return mi_error(404, "Table not found");
}

}  // namespace

Json contact_json(const Contact& c, int64_t now, const UlMiSetup& s) {
  Json j = Json::object();
  j.add("Contact", c.uri);
  j.add("ContactID", c.contact_id);
  if (c.expires == 0) {
    j.add("Expires", "permanent");
  } else if (c.expires <= now) {
    j.add("Expires", "expired");
  } else {
    j.add("Expires", c.expires - now);
  }
  j.add("Q", q_text(c.q));
  j.add("Callid", c.callid);
  j.add("Cseq", static_cast<int64_t>(c.cseq));
  if (!c.user_agent.empty()) j.add("User-agent", c.user_agent);
  if (!c.received.empty()) j.add("Received", c.received);
  if (!c.path.empty()) j.add("Path", c.path);
  j.add("State", contact_state_name(c.state));
  j.add("Flags", static_cast<int64_t>(c.flags));
  j.add("Cflags", s.flag_names ? s.flag_names(c.cflags) : std::to_string(c.cflags));
  if (!c.socket.empty()) j.add("Socket", c.socket);
  j.add("Methods", static_cast<int64_t>(c.methods));
  if (!c.instance.empty()) j.add("SIP_instance", c.instance);
  return j;
}

void add_usrloc_mi_commands(MiRegistry* reg, UlMiSetup setup) {
  auto s = std::make_shared<UlMiSetup>(std::move(setup));
  reg->keep_alive(s);
  UlMiSetup* sp = s.get();

  auto check_table = [sp](const MiParams& p, std::string* aor) -> std::optional<MiError> {
    std::variant<std::string, MiError> t = p.get_string("table_name");
    MiError e;
    if (mi_failed(t, &e)) return e;
    if (std::get<std::string>(t) != sp->domain) return table_not_found();
    std::variant<std::string, MiError> a = p.get_string("aor");
    if (mi_failed(a, &e)) return e;
    *aor = std::get<std::string>(a);
    if (sp->use_domain && aor->find('@') == std::string::npos)
      return mi_error(400, "Domain missing in AOR");
    return std::nullopt;
  };

  reg->add(MiCommand{"ul_dump",
                     "dumps the location table (brief: AoRs and contact URIs only)",
                     "usrloc",
                     {{}, {"brief"}},
                     [sp](const MiParams& p) -> MiResult {
                       bool brief = false;
                       if (p.has("brief")) {
                         std::variant<int64_t, MiError> b = p.get_int("brief");
                         MiError e;
                         if (mi_failed(b, &e)) return e;
                         brief = std::get<int64_t>(b) != 0;
                       }
                       const int64_t now = now_s();
                       Json aors = Json::array();
                       sp->table.for_each_aor([&](const std::vector<Contact>& cs) {
                         if (brief) {
                           Json a = Json::object();
                           a.add("AOR", cs.front().aor);
                           Json list = Json::array();
                           for (const Contact& c : cs) {
                             Json cj = Json::object();
                             cj.add("Contact", c.uri);
                             list.push(std::move(cj));
                           }
                           a.add("Contacts", std::move(list));
                           aors.push(std::move(a));
                         } else {
                           aors.push(aor_json(cs, now, *sp));
                         }
                       });
                       Json d = Json::object();
                       d.add("name", sp->domain);
                       d.add("hash_size", static_cast<int64_t>(sp->table.hash_size()));
                       d.add("AORs", std::move(aors));
                       Json domains = Json::array();
                       domains.push(std::move(d));
                       Json r = Json::object();
                       r.add("Domains", std::move(domains));
                       return r;
                     },
                     {"usrloc:dump"}});

  reg->add(MiCommand{"ul_show_contact",
                     "shows the contacts of an AoR",
                     "usrloc",
                     {{"table_name", "aor"}},
                     [sp, check_table](const MiParams& p) -> MiResult {
                       std::string aor;
                       if (std::optional<MiError> e = check_table(p, &aor)) return *e;
                       std::vector<Contact> cs = sp->table.get(aor);
                       if (cs.empty()) return mi_error(404, "AOR not found");
                       return aor_json(cs, now_s(), *sp);
                     },
                     {"usrloc:show_contact"}});

  reg->add(MiCommand{"ul_rm",
                     "removes an AoR and all its contacts",
                     "usrloc",
                     {{"table_name", "aor"}},
                     [sp, check_table](const MiParams& p) -> MiResult {
                       std::string aor;
                       if (std::optional<MiError> e = check_table(p, &aor)) return *e;
                       if (sp->table.remove_aor(aor) == 0) return mi_error(404, "AOR not found");
                       return Json("OK");
                     },
                     {"usrloc:rm"}});

  reg->add(MiCommand{"ul_rm_contact",
                     "removes one contact of an AoR",
                     "usrloc",
                     {{"table_name", "aor", "contact"}},
                     [sp, check_table](const MiParams& p) -> MiResult {
                       std::string aor;
                       if (std::optional<MiError> e = check_table(p, &aor)) return *e;
                       std::variant<std::string, MiError> c = p.get_string("contact");
                       MiError err;
                       if (mi_failed(c, &err)) return err;
                       if (sp->table.get(aor).empty()) return mi_error(404, "AOR not found");
                       if (!sp->table.remove_contact(aor, std::get<std::string>(c)))
                         return mi_error(404, "Contact not found");
                       return Json("OK");
                     },
                     {"usrloc:rm_contact"}});

  reg->add(MiCommand{"ul_flush",
                     "writes pending location changes to the database",
                     "usrloc",
                     {{}},
                     [sp](const MiParams&) -> MiResult {
                       if (sp->flush) sp->flush();
                       return Json("OK");
                     },
                     {"usrloc:flush"}});
}

}  // namespace sipsd::ul
