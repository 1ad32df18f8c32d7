#include "core/usrloc/location_db.h"

#include <time.h>

#include <vector>

#include "core/db/connection.h"
#include "core/db/schema.h"

namespace sipsd::ul {

namespace {

std::string datetime(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm = {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int64_t parse_datetime(std::string_view s) {
  struct tm tm = {};
  std::string text(s);
  if (strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Result<db::Connection> open_checked(const std::string& db_url, db::OpenMode mode) {
  Result<db::Connection> c = db::Connection::open(db_url, mode, 3000);
  if (!c.ok()) return c.error();
  Status st = db::check_table_version(*c, "location", db::kLocationVersion);
  if (!st.ok()) return make_error(st.message());
  return c;
}

}  // namespace

Result<size_t> load_locations(const std::string& db_url, LocationTable& table, int64_t now) {
  Result<db::Connection> c = open_checked(db_url, db::OpenMode::kReadOnly);
  if (!c.ok()) return c.error();
  Result<db::Statement> q = c->prepare(
      "SELECT username, domain, contact, received, path, expires, q, callid, cseq, "
      "last_modified, flags, cflags, user_agent, socket, methods, sip_instance, contact_id "
      "FROM location");
  if (!q.ok()) return q.error();
  size_t n = 0;
  for (;;) {
    Result<bool> row = q->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    const int64_t expires = q->int64(5);
    if (expires != 0 && expires <= now) continue;
    Contact ct;
    std::string aor(q->text(0));
    if (!q->is_null(1) && !q->text(1).empty()) aor += "@" + std::string(q->text(1));
    ct.uri = std::string(q->text(2));
    if (!q->is_null(3)) ct.received = std::string(q->text(3));
    if (!q->is_null(4)) ct.path = std::string(q->text(4));
    ct.expires = expires;
    const double qv = q->real(6);
    ct.q = qv < 0 ? kQUnspecified : static_cast<int>(qv * 1000 + 0.5);
    ct.callid = std::string(q->text(7));
    ct.cseq = static_cast<uint32_t>(q->int64(8));
    ct.last_modified = parse_datetime(q->text(9));
    ct.flags = static_cast<uint32_t>(q->int64(10));
    if (!q->is_null(11)) ct.cflags = static_cast<uint32_t>(atoll(std::string(q->text(11)).c_str()));
    ct.user_agent = std::string(q->text(12));
    if (!q->is_null(13)) ct.socket = std::string(q->text(13));
    ct.methods = q->is_null(14) ? kAllMethods : static_cast<uint32_t>(q->int64(14));
    if (!q->is_null(15)) ct.instance = std::string(q->text(15));
    ct.contact_id = static_cast<uint64_t>(q->int64(16));
    ct.state = ContactState::kSync;
    if (aor.empty() || ct.uri.empty()) continue;
    LocationTable::UpdateOutcome o = table.update(aor, [&ct](std::vector<Contact>& cs) {
      cs.push_back(ct);
      return true;
    });
    if (o.status == LocationTable::UpdateStatus::kFull)
      return make_error(
          strprintf("usrloc: %s: the location table is full (max_contacts_total "
                    "%u) after %zu bindings",
                    c->path().c_str(), table.capacity(), n));
    ++n;
  }
  table.mark_synced(table.changes());
  return n;
}

Result<size_t> write_back_locations(const std::string& db_url, LocationTable& table) {
  const uint64_t changes = table.changes();
  Result<db::Connection> c = open_checked(db_url, db::OpenMode::kReadWrite);
  if (!c.ok()) return c.error();
  Result<db::Transaction> tx = db::Transaction::begin(*c);
  if (!tx.ok()) return tx.error();
  if (Status st = c->exec("DELETE FROM location"); !st.ok()) return make_error(st.message());
  Result<db::Statement> ins = c->prepare(
      "INSERT INTO location (contact_id, username, domain, contact, received, path, expires, q, "
      "callid, cseq, last_modified, flags, cflags, user_agent, socket, methods, sip_instance) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
  if (!ins.ok()) return ins.error();
  size_t n = 0;
  Status failed = Status::Ok();
  table.for_each_aor([&](const std::vector<Contact>& cs) {
    if (!failed.ok()) return;
    for (const Contact& ct : cs) {
      const size_t at = ct.aor.find('@');
      std::string_view user = std::string_view(ct.aor).substr(0, at);
      ins->reset(true);
      ins->bind(1, static_cast<int64_t>(ct.contact_id)).bind(2, user);
      if (at == std::string::npos)
        ins->bind_null(3);
      else
        ins->bind(3, std::string_view(ct.aor).substr(at + 1));
      ins->bind(4, ct.uri);
      if (ct.received.empty())
        ins->bind_null(5);
      else
        ins->bind(5, ct.received);
      if (ct.path.empty())
        ins->bind_null(6);
      else
        ins->bind(6, ct.path);
      ins->bind(7, ct.expires)
          .bind(8, ct.q == kQUnspecified ? -1.0 : ct.q / 1000.0)
          .bind(9, ct.callid)
          .bind(10, static_cast<int64_t>(ct.cseq))
          .bind(11, datetime(ct.last_modified))
          .bind(12, static_cast<int64_t>(ct.flags))
          .bind(13, std::to_string(ct.cflags))
          .bind(14, ct.user_agent);
      if (ct.socket.empty())
        ins->bind_null(15);
      else
        ins->bind(15, ct.socket);
      ins->bind(16, static_cast<int64_t>(ct.methods));
      if (ct.instance.empty())
        ins->bind_null(17);
      else
        ins->bind(17, ct.instance);
      Status st = ins->run();
      if (!st.ok()) {
        failed = st;
        return;
      }
      ++n;
    }
  });
  if (!failed.ok()) return make_error(failed.message());
  if (Status st = tx->commit(); !st.ok()) return make_error(st.message());
  table.mark_synced(changes);
  return n;
}

}  // namespace sipsd::ul
