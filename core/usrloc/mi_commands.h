// usrloc's MI commands (OpenSIPS names, parameters and reply shapes): ul_dump [brief],
// ul_show_contact table aor, ul_rm table aor, ul_rm_contact table aor contact, ul_flush. They
// read and change the shared location table directly (the supervisor serves MI).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/mi/command.h"
#include "core/usrloc/location_table.h"

namespace sipsd::ul {

struct UlMiSetup {
  LocationTable table;
  std::string domain = "location";  // the usrloc domain (table) name save() uses
  bool use_domain = false;
  // Names of the branch flags set in a mask ("NAT,KEEP"), for Cflags.
  std::function<std::string(uint32_t)> flag_names;
  // ul_flush: writes pending changes to the database (db_mode 2); null: nothing to do.
  std::function<void()> flush;
};

// The JSON of one binding as ul_dump shows it.
Json contact_json(const Contact& c, int64_t now, const UlMiSetup& s);

void add_usrloc_mi_commands(MiRegistry* reg, UlMiSetup setup);

}  // namespace sipsd::ul
