// Decisions kept inside a participant ("logging last resource", docs/protocol.md, "Decisions in
// a participant's table"): what a driver provides so that a 2PC transaction's decision becomes
// durable in the local commit of one of its own branches, the decision branch D.
//
// A data source configured with a decision table has one table in its own database:
//   gtrid    the transaction's gtrid (primary key: at most one decision per transaction)
//   node     the TM node that wrote it
//   outcome  'C': committed together with D's work; 'A': a fence, written only where no 'C'
//            was, after which no commit of that transaction can land here any more; 'B': the
//            node's birth row (gtrid 00 + node name), written when the node first used the table
//   branches the other branches ("<data source>=<xid text> ..."), for operators
//   created  when the row was written
// Safety rests on two facts the docs state: the table is in the same database as D's work (one
// local transaction commits both), and two live TMs never share a node name.
//
// Thread safety: every method of DecisionTable may be called from any thread concurrently.
#ifndef XATM_DRIVER_DECISION_TABLE_H_
#define XATM_DRIVER_DECISION_TABLE_H_

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "xatm/decision_log.h"
#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm {

// kInvalidArgument naming the data source and the table unless `table` is a plain identifier
// ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes), optionally qualified by a schema of the same
// form: the drivers put it into SQL unquoted.
Status validate_decision_table_name(const std::string& data_source, const std::string& table);

// Branches as a row of a database holds them: "<data source>=<xid text> ..." (data source names
// are [A-Za-z0-9._-], XID text hex and colons: neither holds a space or '='). The `branches`
// column of a decision table, and the PostgreSQL decision log's. parse_branches answers
// kDataLoss naming the pair it cannot read.
std::string format_branches(const std::vector<DecisionBranch>& branches);
Result<std::vector<DecisionBranch>> parse_branches(const std::string& text);

// One decision of a decision table.
struct DecisionRow {
  Xid global;            // the transaction: xatm's formatID, its gtrid, an empty bqual
  std::string node;      // the node that decided
  char outcome = 'C';    // 'C' committed, 'A' fenced (can no longer commit)
  std::string branches;  // the other branches, for operators
};

// What a decision table holds for one node.
struct DecisionTableContents {
  // When the node first used the table (its clock); none when it never did. Recovery never
  // presumes abort for a transaction older than this: its decision may be in another table.
  std::optional<std::chrono::system_clock::time_point> born;
  std::vector<DecisionRow> rows;  // 'C' and 'A'
};

// The transactions whose rows a driver deletes with later decisions (DecisionTable::finished):
// they are taken in batches of kMinBatch to kMaxBatch, and given back when the decision that
// carried them did not commit. Beyond kMaxQueued they are left to recovery.
//
// Thread safety: every method may be called from any thread (internal mutex).
class FinishedDecisions {
 public:
  static constexpr std::size_t kMinBatch = 32;
  static constexpr std::size_t kMaxBatch = 64;
  static constexpr std::size_t kMaxQueued = 100'000;

  void add(const Xid& global);
  // Up to kMaxBatch of them once at least kMinBatch wait; none otherwise.
  std::vector<Xid> take_batch();
  void give_back(std::vector<Xid>& taken);

 private:
  std::mutex mutex_;
  std::vector<Xid> finished_;  // guarded by mutex_
};

class DecisionTable {
 public:
  virtual ~DecisionTable() = default;

  // The table's name as configured ("xatm_decisions", or "schema.table").
  virtual const std::string& name() const = 0;

  // True when the driver commits D's work and the decision row in one round trip (the
  // coordinator prefers such a data source for D).
  virtual bool decides_in_one_round_trip() const = 0;

  // Creates the table if it is missing, checks that the data source's user may read, insert
  // and delete its rows, and writes `node`'s birth row (time `now`) unless it is there.
  // kFailedPrecondition naming the table and the missing privilege; kUnavailable when the
  // server cannot be reached.
  virtual Status create_if_missing(const std::string& node,
                                   std::chrono::system_clock::time_point now) = 0;

  // Settles whether `global` committed here, on a session of its own: 'C' when its 'C' row is
  // committed; otherwise writes a fence 'A' (waiting for a transaction that is still writing
  // the row to end first) and answers 'A', after which no commit of `global` can land here.
  // Errors: the data source cannot be asked (the outcome stays unknown).
  virtual Result<char> fence(const Xid& global, const std::string& node) = 0;

  // Every row of `node`. An error when the table cannot be read (missing included): then
  // nobody can tell whether a decision is there.
  virtual Result<DecisionTableContents> read(const std::string& node) = 0;

  // `global` is finished on every branch: its row may go. The driver deletes such rows in
  // batches with later decisions (no round trip of their own); rows it could not delete are
  // found and deleted by recovery.
  virtual void finished(const Xid& global) = 0;

  // Deletes the rows of these transactions now.
  virtual Status erase(const std::vector<Xid>& globals) = 0;
};

}  // namespace xatm

#endif  // XATM_DRIVER_DECISION_TABLE_H_
