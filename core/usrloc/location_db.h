// usrloc db_mode 2 (write-back) over SQLite: the bindings are loaded from the OpenSIPS
// `location` table at start, and the whole table is written back by the supervisor every
// timer_interval seconds when something changed (and once more at shutdown), in one transaction
// on a connection opened for that write only. Workers never touch the database: a crash loses
// at most the changes of the last timer_interval. Connection details (which TLS connection a
// phone registered over) are not stored: after a restart the phone's next REGISTER brings them.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/result.h"
#include "core/usrloc/location_table.h"

namespace sipsd::ul {

// Opens db_url, checks the `location` table version (1013) and loads every binding that has
// not expired at `now` into `table` (state CS_SYNC). Returns how many.
Result<size_t> load_locations(const std::string& db_url, LocationTable& table, int64_t now);

// Replaces the rows of `location` with the table's bindings, in one transaction. Returns how
// many rows were written.
Result<size_t> write_back_locations(const std::string& db_url, LocationTable& table);

}  // namespace sipsd::ul
