#include "core/db/db_url.h"

namespace sipsd::db {

Result<DbUrl> DbUrl::parse(std::string_view url) {
  constexpr std::string_view kScheme = "sqlite://";
  if (url.empty()) return make_error("db_url is empty (expected sqlite:///abs/path.db)");
  if (url.substr(0, kScheme.size()) != kScheme) {
    auto colon = url.find(':');
    std::string scheme(colon == std::string_view::npos ? url : url.substr(0, colon));
    return make_error(
        strprintf("db_url '%.*s': unsupported database scheme '%s' (only sqlite:// "
                  "is built in; expected sqlite:///abs/path.db)",
                  static_cast<int>(url.size()), url.data(), scheme.c_str()));
  }
  std::string_view path = url.substr(kScheme.size());
  if (path.empty() || path.front() != '/') {
    return make_error(strprintf("db_url '%.*s': the path must be absolute (sqlite:///abs/path.db)",
                                static_cast<int>(url.size()), url.data()));
  }
  if (path.size() == 1 || path.back() == '/') {
    return make_error(
        strprintf("db_url '%.*s': no file name", static_cast<int>(url.size()), url.data()));
  }
  if (path.find_first_of("?#") != std::string_view::npos ||
      path.find('\0') != std::string_view::npos) {
    return make_error(strprintf("db_url '%.*s': parameters ('?', '#') are not supported",
                                static_cast<int>(url.size()), url.data()));
  }
  return DbUrl{std::string(path)};
}

}  // namespace sipsd::db
