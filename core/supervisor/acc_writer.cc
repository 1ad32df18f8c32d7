#include "core/supervisor/acc_writer.h"

#include <ctime>

#include "core/db/schema.h"

namespace sipsd {

namespace {

// acc's `time` column: local time as OpenSIPS's db_sqlite writes a DATETIME.
std::string datetime(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm_local;
  localtime_r(&t, &tm_local);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm_local);
  return buf;
}

}  // namespace

AccWriter::AccWriter(const AccParams& params) : db_url_(params.db_url) {
  // Table names are checked at load (letters, digits, '_').
  const std::string columns =
      " (method, from_tag, to_tag, callid, sip_code, sip_reason, time) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
  insert_acc_ = "INSERT INTO " + params.db_table_acc + columns;
  insert_missed_ = "INSERT INTO " + params.db_table_missed_calls + columns;
}

Result<std::unique_ptr<AccWriter>> AccWriter::open(const AccParams& params) {
  Result<db::Connection> conn = db::Connection::open(params.db_url, db::OpenMode::kReadWrite);
  if (!conn.ok()) return make_error("acc: db_url: " + conn.message());
  Status acc = db::check_table_version(*conn, params.db_table_acc, db::kAccVersion);
  if (!acc.ok()) return make_error("acc: " + acc.message());
  Status missed =
      db::check_table_version(*conn, params.db_table_missed_calls, db::kMissedCallsVersion);
  if (!missed.ok()) return make_error("acc: " + missed.message());
  return std::unique_ptr<AccWriter>(new AccWriter(params));
}

AccWriter::Added AccWriter::add(ipc::AccRecord row) {
  if (pending_.size() >= kMaxPendingRows) return Added::kDropped;
  pending_.push_back(std::move(row));
  return pending_.size() >= kFlushRows ? Added::kBatchDue : Added::kQueued;
}

Result<size_t> AccWriter::flush() {
  if (pending_.empty()) return size_t{0};
  std::vector<ipc::AccRecord> rows;
  rows.swap(pending_);
  Result<db::Connection> conn = db::Connection::open(db_url_, db::OpenMode::kReadWrite);
  if (!conn.ok()) return make_error(conn.message());
  Result<db::Transaction> tx = db::Transaction::begin(*conn);
  if (!tx.ok()) return make_error(tx.message());
  Result<db::Statement> acc = conn->prepare(insert_acc_);
  if (!acc.ok()) return make_error(acc.message());
  Result<db::Statement> missed = conn->prepare(insert_missed_);
  if (!missed.ok()) return make_error(missed.message());
  for (const ipc::AccRecord& r : rows) {
    db::Statement& st = r.missed() ? *missed : *acc;
    st.reset(true);
    st.bind(1, r.method())
        .bind(2, r.from_tag())
        .bind(3, r.to_tag())
        .bind(4, r.callid())
        .bind(5, std::to_string(r.sip_code()))
        .bind(6, r.sip_reason())
        .bind(7, datetime(r.time()));
    Status ran = st.run();
    if (!ran.ok()) return make_error(ran.message());
  }
  Status committed = tx->commit();
  if (!committed.ok()) return make_error(committed.message());
  return rows.size();
}

}  // namespace sipsd
