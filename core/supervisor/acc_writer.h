// do_accounting("db"): the supervisor's writer of acc's rows. Workers never touch the database:
// each accounted final reply becomes an ipc::AccRecord on the worker's channel; the supervisor
// keeps them in memory and writes them to acc's db_url (OpenSIPS's `acc` and `missed_calls`
// tables) in one transaction per flush: once a second, when kFlushRows are waiting, and at
// shutdown. A crash of the supervisor loses at most the rows of the last second; a row a worker
// could not queue (its channel full) or a failed write is counted in acc:db_rows_dropped and
// logged. Each flush opens the database for its transaction: no SQLite handle is ever open
// while the supervisor forks a worker.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/cfg/config.h"
#include "core/db/connection.h"
#include "ipc/ipc.pb.h"

namespace sipsd {

class AccWriter {
 public:
  static constexpr size_t kFlushRows = 256;
  // A batch this large is kept at most; beyond it rows are dropped (a database that stopped
  // accepting writes must not grow the supervisor without bound).
  static constexpr size_t kMaxPendingRows = 100000;

  // Checks acc's db_url and both tables' versions (OpenSIPS's start-up check).
  static Result<std::unique_ptr<AccWriter>> open(const AccParams& params);

  enum class Added : uint8_t { kQueued, kBatchDue, kDropped };
  // Queues a row: kBatchDue when kFlushRows now wait; kDropped (not kept) when
  // kMaxPendingRows were already waiting.
  Added add(ipc::AccRecord row);
  size_t pending() const { return pending_.size(); }
  // Writes every pending row in one transaction: the number written. The rows are gone either
  // way; on an error all pending() rows were lost and the error says why.
  Result<size_t> flush();

 private:
  explicit AccWriter(const AccParams& params);

  std::string db_url_;
  std::string insert_acc_;
  std::string insert_missed_;
  std::vector<ipc::AccRecord> pending_;
};

}  // namespace sipsd
