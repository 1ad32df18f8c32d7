// DbUrl: the `db_url` modparam value of the SQLite backend, `sqlite:///abs/path.db` (as
// OpenSIPS's db_sqlite: what follows `sqlite://` is the file's absolute path).
#pragma once

#include <string>
#include <string_view>

#include "core/base/result.h"

namespace sipsd::db {

struct DbUrl {
  std::string path;  // absolute file path

  // Accepts `sqlite:///abs/path.db`; any other scheme, a relative or empty path, or
  // `?`/`#` parts give an error naming the url and the reason.
  static Result<DbUrl> parse(std::string_view url);
  std::string text() const { return "sqlite://" + path; }
};

}  // namespace sipsd::db
