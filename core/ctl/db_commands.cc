#include "core/ctl/db_commands.h"

#include "core/auth/digest.h"
#include "core/base/ascii.h"
#include "core/db/connection.h"
#include "core/db/schema.h"

namespace sipsd::ctl {
namespace {

bool valid_part(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '@' || c == ':' || c == '"' || c == '\\' ||
        c == 0x7f)
      return false;
  }
  return true;
}

Result<db::Connection> open_existing(std::string_view url) {
  auto conn = db::Connection::open(url, db::OpenMode::kReadWrite);
  if (!conn.ok()) return make_error(conn.message() + " (create it with: sipsctl db init URL)");
  Status st = db::check_table_version(*conn, "subscriber", db::kSubscriberVersion);
  if (!st.ok()) return make_error(st.message());
  return conn;
}

Status check_password(std::string_view password) {
  if (password.empty()) return make_error("the password must not be empty");
  if (password.size() > 128) return make_error("the password is longer than 128 characters");
  for (char c : password)
    if (c == '\r' || c == '\n' || c == '\0') return make_error("the password has a line break");
  return Status::Ok();
}

struct Hashes {
  std::string md5, sha256, sha512t256;
};
Hashes hashes(const Aor& a, std::string_view password) {
  return {auth::compute_ha1(auth::Algorithm::kMd5, a.user, a.domain, password),
          auth::compute_ha1(auth::Algorithm::kSha256, a.user, a.domain, password),
          auth::compute_ha1(auth::Algorithm::kSha512t256, a.user, a.domain, password)};
}

}  // namespace

Result<Aor> parse_aor(std::string_view text) {
  if (ascii_istarts_with(text, "sip:")) text.remove_prefix(4);
  size_t at = text.find('@');
  if (at == std::string_view::npos)
    return make_error("'" + std::string(text) + "': a user@domain is expected");
  Aor a{std::string(text.substr(0, at)), ascii_to_lower(text.substr(at + 1))};
  if (!valid_part(a.user) || !valid_part(a.domain))
    return make_error("'" + std::string(text) +
                      "': user and domain must be 1..64 characters without spaces, '@', ':' "
                      "or quotes");
  return a;
}

namespace {

// ?1 user, ?2 domain, ?3..?5 the three HA1s: the parameters of both subscriber statements.
void bind_user_hashes(db::Statement& st, const Aor& aor, const Hashes& h) {
  st.bind(1, aor.user).bind(2, aor.domain).bind(3, h.md5).bind(4, h.sha256).bind(5, h.sha512t256);
}

}  // namespace

Status db_init(std::string_view url) {
  auto conn = db::Connection::open(url, db::OpenMode::kCreate);
  if (!conn.ok()) return make_error(conn.message());
  return db::create_schema(*conn);
}

Status user_add(std::string_view url, std::string_view aor_text, std::string_view password) {
  auto aor = parse_aor(aor_text);
  if (!aor.ok()) return make_error(aor.message());
  if (Status st = check_password(password); !st.ok()) return st;
  auto conn = open_existing(url);
  if (!conn.ok()) return make_error(conn.message());
  Hashes h = hashes(*aor, password);
  auto ins = conn->prepare(
      "INSERT INTO subscriber (username, domain, password, ha1, ha1_sha256, ha1_sha512t256) "
      "VALUES (?1, ?2, '', ?3, ?4, ?5)");
  if (!ins.ok()) return make_error(ins.message());
  bind_user_hashes(*ins, *aor, h);
  Status st = ins->run();
  if (!st.ok()) {
    if (st.message().find("UNIQUE") != std::string::npos)
      return make_error("user " + aor->user + "@" + aor->domain + " already exists");
    return st;
  }
  return Status::Ok();
}

Status user_passwd(std::string_view url, std::string_view aor_text, std::string_view password) {
  auto aor = parse_aor(aor_text);
  if (!aor.ok()) return make_error(aor.message());
  if (Status st = check_password(password); !st.ok()) return st;
  auto conn = open_existing(url);
  if (!conn.ok()) return make_error(conn.message());
  Hashes h = hashes(*aor, password);
  auto up = conn->prepare(
      "UPDATE subscriber SET password = '', ha1 = ?3, ha1_sha256 = ?4, ha1_sha512t256 = ?5 "
      "WHERE username = ?1 AND domain = ?2");
  if (!up.ok()) return make_error(up.message());
  bind_user_hashes(*up, *aor, h);
  if (Status st = up->run(); !st.ok()) return st;
  if (conn->changes() == 0) return make_error("no user " + aor->user + "@" + aor->domain);
  return Status::Ok();
}

Status user_rm(std::string_view url, std::string_view aor_text) {
  auto aor = parse_aor(aor_text);
  if (!aor.ok()) return make_error(aor.message());
  auto conn = open_existing(url);
  if (!conn.ok()) return make_error(conn.message());
  auto del = conn->prepare("DELETE FROM subscriber WHERE username = ?1 AND domain = ?2");
  if (!del.ok()) return make_error(del.message());
  del->bind(1, aor->user).bind(2, aor->domain);
  if (Status st = del->run(); !st.ok()) return st;
  if (conn->changes() == 0) return make_error("no user " + aor->user + "@" + aor->domain);
  return Status::Ok();
}

}  // namespace sipsd::ctl
