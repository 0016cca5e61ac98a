#include "pg_decision_log.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string_view>
#include <type_traits>
#include <utility>

#include "pg_connect.h"
#include "xatm/driver/decision_table.h"
#include "xatm/driver/logging.h"

namespace xatm::postgresql::internal {
namespace {

// How long opening the log waits for the node's sign of life after terminating its holder.
constexpr const char* kTakeOverLockTimeout = "SET lock_timeout = '10s'";
constexpr std::chrono::seconds kHealInterval{1};

std::string value(const PgAnswer& answer, int row, int column) {
  return PQgetvalue(answer.result.get(), row, column);
}

template <typename Int>
bool parse_int(const std::string& text, Int& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

std::string owner_description() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + " pid " + std::to_string(::getpid());
}

// The failure that is for good: another opener took the node (a new epoch).
constexpr const char* kTakenOver = ": taken over: epoch ";

bool says_taken_over(const Status& status) {
  return status.code() == StatusCode::kAborted &&
         status.message().find(kTakenOver) != std::string::npos;
}

constexpr const char* kWriteStatement = "xatm_log_write";
// A half-open TCP connection must not hang the log's leader (and every appender behind it):
// keepalives and a TCP user timeout end it within about 30 s (libpq ignores them on Unix
// sockets). The conninfo may set other values.
const ConnectDefaults kLogSessionDefaults = {{"keepalives", "1"},
                                             {"keepalives_idle", "10"},
                                             {"keepalives_interval", "5"},
                                             {"keepalives_count", "3"},
                                             {"tcp_user_timeout", "30000"}};
constexpr const char* kLogStatementTimeout = "SET statement_timeout = '30s'";

// A PostgreSQL array literal of `items` in text form: {"a","b"} (every element quoted).
template <typename T>
std::string array_literal(const std::vector<T>& items) {
  std::string text = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text += ',';
    std::string item;
    if constexpr (std::is_same_v<T, std::string>) {
      item = items[i];
    } else {
      item = std::to_string(items[i]);
    }
    text += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') text += '\\';
      text += c;
    }
    text += '"';
  }
  return text + "}";
}

Status read_only_error() {
  return failed_precondition_error("the decision log is opened read-only here");
}

Status database_error(const std::string& where, const PgAnswer& answer) {
  if (answer.lost) return unavailable_error(where + ": " + answer.describe());
  return io_error(where + ": " + answer.describe());
}

}  // namespace

void OpenRecords::add_commit(std::uint64_t seq, CommitRecord record) {
  commit_seq[record.global] = seq;
  commits.emplace(seq, std::move(record));
  next_seq = std::max(next_seq, seq + 1);
}

std::vector<std::uint64_t> OpenRecords::mark_done(const Xid& global) {
  std::vector<std::uint64_t> removed;
  if (auto it = commit_seq.find(global); it != commit_seq.end()) {
    removed.push_back(it->second);
    commits.erase(it->second);
    commit_seq.erase(it);
  }
  std::erase_if(heuristics, [&](const auto& entry) {
    if (entry.second.branch.xid.global() != global) return false;
    removed.push_back(entry.first);
    return true;
  });
  return removed;
}

void OpenRecords::erase(std::uint64_t seq) {
  if (auto it = commits.find(seq); it != commits.end()) {
    commit_seq.erase(it->second.global);
    commits.erase(it);
  }
  heuristics.erase(seq);
}

std::vector<std::uint64_t> OpenRecords::forget(const DecisionBranch& branch) {
  std::vector<std::uint64_t> removed;
  std::erase_if(heuristics, [&](const auto& entry) {
    if (entry.second.branch != branch) return false;
    removed.push_back(entry.first);
    return true;
  });
  return removed;
}

Result<std::unique_ptr<PgDecisionLog>> PgDecisionLog::open(const LogOptions& options) {
  XATM_RETURN_IF_ERROR(validate_node_name(options.node));
  XATM_RETURN_IF_ERROR(validate_decision_table_name(options.database.name, options.table));
  if (options.table.size() + 6 > 63) {
    return invalid_argument_error("decision log table '" + options.table +
                                  "': at most 57 bytes (its node table adds \"_nodes\")");
  }
  XATM_ASSIGN_OR_RETURN(Owned owned, take_node(options, options.read_only ? Mode::kRead : Mode::kTake, 0));
  return std::unique_ptr<PgDecisionLog>(new PgDecisionLog(options, std::move(owned)));
}

PgDecisionLog::PgDecisionLog(LogOptions options, Owned owned)
    : options_(std::move(options)), nodes_table_(options_.table + "_nodes"), epoch_(owned.epoch),
      birth_(owned.birth), owner_down_(owned.owner_down), session_(std::move(owned.session)), records_(std::move(owned.records)),
      sequence_limit_(owned.sequence_limit) {}

PgDecisionLog::~PgDecisionLog() {
  if (options_.read_only) return;
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !leading_; });
  if (failure_.ok() && !deferred_done_.empty()) {
    write_batch({}, deferred_done_).ignore_error();  // unforced: recovery tolerates their loss
  }
}

Result<PgDecisionLog::Owned> PgDecisionLog::take_node(const LogOptions& options, Mode mode,
                                                      std::int64_t epoch) {
  const bool bump_epoch = mode == Mode::kTake;
  Owned owned;
  XATM_ASSIGN_OR_RETURN(owned.session, connect_session(options.database, kLogSessionDefaults));
  PgSession& session = *owned.session;
  const std::string where = "decision log " + options.table + " in " +
                            describe_session(options.database, session) + ", node '" +
                            options.node + "'";
  auto quote = [&](const std::string& text) {
    char* quoted = PQescapeLiteral(session.native(), text.data(), text.size());
    std::string result = quoted == nullptr ? "''" : quoted;
    PQfreemem(quoted);
    return result;
  };
  const std::string nodes = options.table + "_nodes";
  const std::string node = quote(options.node);
  // No statement of the log may wait for ever: a lost answer fails the log, which heals later.
  PgAnswer timeout = session.exec(kLogStatementTimeout);
  if (!timeout.ok) return database_error(where + ": " + kLogStatementTimeout, timeout);
  const std::string read_node = "SELECT epoch, (extract(epoch FROM born) * 1000000)::bigint, "
                                "sequence_limit FROM " + nodes + " WHERE node = " + node;
  if (mode == Mode::kRead) {
    // Reading changes nothing: no table is created, no node row written, no lock taken.
    PgAnswer exists = session.exec("SELECT to_regclass(" + quote(nodes) + ") IS NOT NULL AND to_regclass(" +
                                   quote(options.table) + ") IS NOT NULL");
    if (!exists.ok) return database_error(where + ": looking for the tables", exists);
    PgAnswer current = session.exec(read_node);
    if (value(exists, 0, 0) != "t" || (current.ok && PQntuples(current.result.get()) == 0)) {
      return not_found_error(where + ": no decision log of this node here");
    }
    // A free sign of life does not prove the owner down (a live TM loses it with its session,
    // and takes it again under the same epoch): a reader never claims it, and never holds it.
    owned.owner_down = false;
  }
  // 1. The tables.
  for (const std::string& ddl :
       {"CREATE TABLE IF NOT EXISTS " + nodes +
            " (node text PRIMARY KEY, epoch bigint NOT NULL, born timestamptz NOT NULL, "
            "sequence_limit bigint NOT NULL DEFAULT 0, owner text NOT NULL DEFAULT '', taken "
            "timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE IF NOT EXISTS " + options.table +
            " (node text NOT NULL, seq bigint NOT NULL, kind \"char\" NOT NULL CHECK (kind IN "
            "('C', 'H')), global text NOT NULL, branches text NOT NULL, xa_code integer NOT NULL "
            "DEFAULT 0, PRIMARY KEY (node, seq))"}) {
    if (mode == Mode::kRead) break;
    PgAnswer created = session.exec(ddl);
    if (created.lost) return unavailable_error(where + ": " + created.describe());
    if (!created.ok) {
      return failed_precondition_error(
          where + ": its tables cannot be created (the role needs CREATE on the schema, or an "
                  "administrator creates them as docs/decision-log.md shows): " + created.describe());
    }
  }
  // 2. Healing: the epoch first, so that a log whose node was taken over learns it for good
  // (the new owner holds the sign of life too).
  if (mode == Mode::kHeal) {
    PgAnswer current = session.exec(read_node);
    if (!current.ok) return database_error(where + ": reading the node row", current);
    if (PQntuples(current.result.get()) != 1 || value(current, 0, 0) != std::to_string(epoch)) {
      return aborted_error(where + kTakenOver + std::to_string(epoch) +
                                       " is no longer this log's; this TM can decide nothing more");
    }
  }
  // 3. The sign of life: a session advisory lock, held as long as this session lives.
  if (mode != Mode::kRead) {
    const std::string lock_key = "hashtext(" + quote(options.table) + "), hashtext(" + node + ")";
    PgAnswer locked = session.exec("SELECT pg_try_advisory_lock(" + lock_key + ")");
    if (!locked.ok) return database_error(where + ": taking the node's lock", locked);
    if (value(locked, 0, 0) != "t") {
      PgAnswer holders = session.exec(
          "SELECT l.pid, coalesce(a.client_addr::text, 'local'), coalesce(a.application_name, '') "
          "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = "
          "'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = hashtext(" +
          quote(options.table) + ")::oid AND l.objid = hashtext(" + node + ")::oid");
      if (!holders.ok) return database_error(where + ": finding the node's owner", holders);
      std::string who;
      for (int row = 0; row < PQntuples(holders.result.get()); ++row) {
        who += (row > 0 ? ", " : "") + std::string("session pid ") + value(holders, row, 0) +
               " from " + value(holders, row, 1);
      }
      if (!options.take_over) {
        return failed_precondition_error(
            where + ": another live TM holds the node (" + (who.empty() ? "its session" : who) +
            "); stop it first, or take the node over (take_over, xatm-recover run --take-over) "
            "only once it is certainly stopped or paused");
      }
      XATM_LOG(warning) << where << ": taking the node over from " << who;
      for (int row = 0; row < PQntuples(holders.result.get()); ++row) {
        PgAnswer ended = session.exec("SELECT pg_terminate_backend(" + value(holders, row, 0) + ")");
        if (!ended.ok || value(ended, 0, 0) != "t") {
          return failed_precondition_error(
              where + ": cannot end the owner's session pid " + value(holders, row, 0) +
              " (the role needs to be the same as the owner's, or pg_signal_backend)" +
              (ended.ok ? "" : ": " + ended.describe()));
        }
      }
      PgAnswer timeout = session.exec(kTakeOverLockTimeout);
      PgAnswer waited = session.exec("SELECT pg_advisory_lock(" + lock_key + ")");
      PgAnswer reset = session.exec("RESET lock_timeout");
      if (!timeout.ok || !waited.ok || !reset.ok) {
        return database_error(where + ": taking the node's lock after ending its owner's session",
                              !waited.ok ? waited : !timeout.ok ? timeout : reset);
      }
    }
  }
  // 4. The epoch: a new one, or (healing) the one this log already owns, under the lock.
  PgAnswer row = session.exec(
      bump_epoch
          ? "INSERT INTO " + nodes + " AS n (node, epoch, born, owner) VALUES (" + node + ", 1, now(), " +
                quote(owner_description()) + ") ON CONFLICT (node) DO UPDATE SET epoch = n.epoch + 1, "
                "owner = EXCLUDED.owner, taken = now() RETURNING epoch, "
                "(extract(epoch FROM born) * 1000000)::bigint, sequence_limit"
          : read_node);
  if (!row.ok) {
    if (!row.lost && bump_epoch) {
      return failed_precondition_error(where + ": the role needs SELECT, INSERT, UPDATE and DELETE on " +
                                       nodes + " and " + options.table + ": " + row.describe());
    }
    return database_error(where + ": reading the node row", row);
  }
  std::int64_t born_micros = 0;
  if (PQntuples(row.result.get()) != 1 || !parse_int(value(row, 0, 0), owned.epoch) ||
      !parse_int(value(row, 0, 1), born_micros) ||
      !parse_int(value(row, 0, 2), owned.sequence_limit)) {
    return data_loss_error(where + ": the node row is missing or unreadable");
  }
  if (mode == Mode::kHeal && owned.epoch != epoch) {
    return aborted_error(where + kTakenOver + std::to_string(epoch) +
                                     " is no longer this log's; this TM can decide nothing more");
  }
  owned.birth = std::chrono::system_clock::time_point(std::chrono::microseconds(born_micros));
  if (mode != Mode::kRead) {
    PgAnswer prepared = session.prepare(kWriteStatement, write_sql(options));
    if (!prepared.ok) return database_error(where + ": preparing the log's statement", prepared);
  }
  // 5. The open records, in log order.
  XATM_ASSIGN_OR_RETURN(owned.records, read_records(session, options, where));
  XATM_LOG(info) << where << ": epoch " << owned.epoch << ", " << owned.records.commits.size()
                 << " open decision(s)";
  return owned;
}

Result<OpenRecords> PgDecisionLog::read_records(PgSession& session, const LogOptions& options,
                                                const std::string& where) {
  char* node = PQescapeLiteral(session.native(), options.node.data(), options.node.size());
  const std::string sql = "SELECT seq, kind, global, branches, xa_code FROM " + options.table +
                          " WHERE node = " + (node == nullptr ? "''" : node) + " ORDER BY seq";
  PQfreemem(node);
  PgAnswer rows = session.exec(sql);
  if (!rows.ok) return database_error(where + ": reading the records", rows);
  OpenRecords records;
  for (int i = 0; i < PQntuples(rows.result.get()); ++i) {
    std::uint64_t seq = 0;
    int xa_code = 0;
    Result<Xid> global = Xid::parse(value(rows, i, 2));
    Result<std::vector<DecisionBranch>> branches = parse_branches(value(rows, i, 3));
    const bool heuristic = value(rows, i, 1) == "H";
    if (!parse_int(value(rows, i, 0), seq) || !parse_int(value(rows, i, 4), xa_code) ||
        !global.ok() || !branches.ok() || (heuristic && branches->size() != 1)) {
      return data_loss_error(where + ": record " + value(rows, i, 0) + " is unreadable" +
                             (branches.ok() ? "" : ": " + branches.status().message()));
    }
    if (heuristic) {
      records.heuristics.insert_or_assign(seq, HeuristicRecord{branches->front(), xa_code});
      records.next_seq = std::max(records.next_seq, seq + 1);
    } else {
      records.add_commit(seq, CommitRecord{*global, std::move(*branches)});
    }
  }
  return records;
}

std::string PgDecisionLog::literal(const std::string& text) const {
  char* quoted = PQescapeLiteral(session_->native(), text.data(), text.size());
  std::string result = quoted == nullptr ? "''" : quoted;
  PQfreemem(quoted);
  return result;
}

// Every write is one run of this statement, its own transaction. The fence: the node row, read
// FOR SHARE, still at our epoch. A takeover's UPDATE of the row waits for the statements that
// hold it, and those that come after see the new epoch: so every write lands before the
// takeover reads the log, or not at all. Parameters: node, epoch, the sequence numbers of rows
// to delete, then the rows to insert as parallel arrays (seq, kind, global, branches, xa_code).
std::string PgDecisionLog::write_sql(const LogOptions& options) {
  return "WITH owner AS (SELECT 1 FROM " + options.table + "_nodes WHERE node = $1 AND epoch = "
         "$2::bigint FOR SHARE), gone AS (DELETE FROM " + options.table + " WHERE node = $1 AND seq "
         "= ANY ($3::bigint[]) AND EXISTS (SELECT 1 FROM owner)), added AS (INSERT INTO " +
         options.table + " (node, seq, kind, global, branches, xa_code) SELECT $1, v.seq, "
         "v.kind::\"char\", v.global, v.branches, v.xa_code FROM unnest($4::bigint[], $5::text[], "
         "$6::text[], $7::text[], $8::integer[]) AS v(seq, kind, global, branches, xa_code) WHERE "
         "EXISTS (SELECT 1 FROM owner) RETURNING 1) SELECT (SELECT count(*) FROM owner), (SELECT "
         "count(*) FROM added)";
}

Status PgDecisionLog::write(const std::vector<std::uint64_t>& gone, const std::vector<Row>& rows,
                            const std::string& what) {
  const std::string where = "decision log " + options_.table + ", node '" + options_.node + "'";
  std::vector<std::uint64_t> seqs;
  std::vector<std::string> kinds, globals, branches, codes;
  for (const Row& row : rows) {
    seqs.push_back(row.seq);
    kinds.emplace_back(1, row.kind);
    globals.push_back(row.global);
    branches.push_back(row.branches);
    codes.push_back(std::to_string(row.xa_code));
  }
  PgAnswer answer = session_->exec_prepared(
      kWriteStatement, {options_.node, std::to_string(epoch_), array_literal(gone), array_literal(seqs),
                        array_literal(kinds), array_literal(globals), array_literal(branches),
                        array_literal(codes)});
  if (!answer.ok) return database_error(where + ": " + what, answer);
  if (PQntuples(answer.result.get()) != 1 || value(answer, 0, 0) != "1") {
    return aborted_error(where + kTakenOver + std::to_string(epoch_) +
                         " is no longer this log's; this TM can decide nothing more");
  }
  if (value(answer, 0, 1) != std::to_string(rows.size())) {
    return io_error(where + ": " + what + ": " + value(answer, 0, 1) + " of " +
                    std::to_string(rows.size()) + " rows written");
  }
  return Status();
}

Status PgDecisionLog::write_batch(
    const std::vector<std::pair<std::uint64_t, const CommitRecord*>>& commits,
    const std::vector<std::uint64_t>& dones) {
  std::vector<Row> rows;
  rows.reserve(commits.size());
  for (const auto& [seq, record] : commits) {
    rows.push_back({seq, 'C', record->global.to_string(), format_branches(record->branches), 0});
  }
  return write(dones, rows, commits.empty() ? "deleting finished decisions" : "writing decisions");
}

Status PgDecisionLog::log_commit(const CommitRecord& record) {
  if (options_.read_only) return read_only_error();
  if (!record.global.bqual().empty()) {
    return invalid_argument_error("a COMMIT record names a global transaction (empty bqual), not " +
                                  record.global.to_string());
  }
  std::unique_lock lock(mu_);
  // A record already durable is OK whatever happened since (kAborted would say "not written").
  if (auto it = records_.commit_seq.find(record.global); it != records_.commit_seq.end()) {
    if (records_.commits.at(it->second) == record) return Status();
    return already_exists_error("global transaction " + record.global.to_string() +
                                " has another COMMIT decision in the log");
  }
  if (!failure_.ok()) return failure_;
  for (const Queued& queued : queue_) {
    if (queued.record.global != record.global) continue;
    if (queued.record != record) {
      return already_exists_error("global transaction " + record.global.to_string() +
                                  " has another COMMIT decision queued");
    }
    return wait_for_locked(lock, queued.waiter);
  }
  auto waiter = std::make_shared<Waiter>();
  queue_.push_back({record, waiter});
  return wait_for_locked(lock, waiter);
}

Status PgDecisionLog::wait_for_locked(std::unique_lock<std::mutex>& lock,
                                      const std::shared_ptr<Waiter>& waiter) {
  for (;;) {
    if (waiter->done) return waiter->status;
    if (!leading_) {
      lead_locked(lock);
      continue;
    }
    waiter->cv.wait(lock);
  }
}

void PgDecisionLog::lead_locked(std::unique_lock<std::mutex>& lock) {
  leading_ = true;
  // A decision queued behind a slow statement may have outlived its transaction's deadline:
  // recovery beside this TM (a reader) may presume abort from then on, so it is not sent, and
  // its appender learns that it certainly was not written.
  const auto now = std::chrono::system_clock::now();
  std::erase_if(queue_, [&](const Queued& queued) {
    Result<GtridInfo> info = decode_gtrid(queued.record.global);
    if (!info.ok() || now < info->deadline()) return false;
    queued.waiter->done = true;
    queued.waiter->status = aborted_error("decision log " + options_.table + ": the decision for " +
                                          queued.record.global.to_string() +
                                          " waited past its transaction's deadline; not written");
    queued.waiter->cv.notify_all();
    return true;
  });
  const std::size_t count = std::min(queue_.size(), kMaxBatchRecords);
  std::vector<std::pair<std::uint64_t, const CommitRecord*>> commits;
  commits.reserve(count);
  for (std::size_t i = 0; i < count; ++i) commits.emplace_back(records_.next_seq++, &queue_[i].record);
  std::vector<std::uint64_t> dones = std::move(deferred_done_);
  deferred_done_.clear();
  lock.unlock();  // the queue's first `count` elements stay put: only the leader pops
  const Status written = write_batch(commits, dones);
  lock.lock();
  if (written.ok()) {
    for (std::size_t i = 0; i < count; ++i) {
      queue_.front().waiter->done = true;
      queue_.front().waiter->cv.notify_all();
      records_.add_commit(commits[i].first, std::move(queue_.front().record));
      queue_.pop_front();
    }
    stats_.commit_records += count;
    ++stats_.statements;
  } else {
    restore_dones_locked(dones);
    fail_locked(written);  // completes the batch's waiters and every queued one
  }
  end_lead_locked();
}

void PgDecisionLog::end_lead_locked() {
  leading_ = false;
  cv_.notify_all();
  if (!queue_.empty()) queue_.front().waiter->cv.notify_all();
}

void PgDecisionLog::fail_locked(const Status& status) {
  if (failure_.ok()) XATM_LOG(error) << "the decision log failed: " << status.to_string();
  failed_for_good_ = failed_for_good_ || says_taken_over(status);
  failure_ = status;
  for (Queued& queued : queue_) {
    queued.waiter->done = true;
    queued.waiter->status = status;
    queued.waiter->cv.notify_all();
  }
  queue_.clear();
}

// DONE and FORGET records a failed statement did not delete: closed in memory already, so they
// wait for the next statement (after healing) rather than reappear.
void PgDecisionLog::restore_dones_locked(const std::vector<std::uint64_t>& dones) {
  deferred_done_.insert(deferred_done_.end(), dones.begin(), dones.end());
}

Status PgDecisionLog::run_exclusive_locked(
    std::unique_lock<std::mutex>& lock,
    const std::function<Status(const std::vector<std::uint64_t>& dones, std::uint64_t seq)>& write) {
  cv_.wait(lock, [&] { return !leading_; });
  if (!failure_.ok()) return failure_;
  leading_ = true;
  const std::vector<std::uint64_t> dones = std::move(deferred_done_);
  deferred_done_.clear();
  const std::uint64_t seq = records_.next_seq++;  // taken with the lead: heal cannot reset it now
  lock.unlock();
  const Status written = write(dones, seq);
  lock.lock();
  if (!written.ok()) {
    restore_dones_locked(dones);
    fail_locked(written);
  }
  end_lead_locked();
  return written;
}

Status PgDecisionLog::log_done(const Xid& global) {
  if (options_.read_only) return read_only_error();
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  for (std::uint64_t seq : records_.mark_done(global)) deferred_done_.push_back(seq);
  if (deferred_done_.size() >= kMaxDeferredDone && !leading_) lead_locked(lock);
  return Status();
}

Status PgDecisionLog::log_heuristic(const HeuristicRecord& record) {
  if (options_.read_only) return read_only_error();
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  std::uint64_t written_seq = 0;
  const Status written =
      run_exclusive_locked(lock, [&](const std::vector<std::uint64_t>& dones, std::uint64_t seq) {
        written_seq = seq;
        return write(dones,
                     {{seq, 'H', record.branch.xid.global().to_string(),
                       format_branches({record.branch}), record.xa_code}},
                     "writing a heuristic outcome");
      });
  if (written.ok()) records_.heuristics.insert_or_assign(written_seq, record);
  return written;
}

Status PgDecisionLog::log_forget(const DecisionBranch& branch) {
  if (options_.read_only) return read_only_error();
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  std::vector<std::uint64_t> forgotten;
  for (const auto& [seq, record] : records_.heuristics) {
    if (record.branch == branch) forgotten.push_back(seq);
  }
  const Status written = run_exclusive_locked(lock, [&](const std::vector<std::uint64_t>& dones, std::uint64_t) {
    std::vector<std::uint64_t> gone = dones;
    gone.insert(gone.end(), forgotten.begin(), forgotten.end());
    return write(gone, {}, "forgetting a heuristic outcome");
  });
  if (written.ok()) records_.forget(branch);
  return written;
}

Status PgDecisionLog::reserve_sequences(std::uint64_t limit) {
  if (options_.read_only) return read_only_error();
  std::unique_lock lock(mu_);
  if (limit <= sequence_limit_) return Status();
  if (!failure_.ok()) return failure_;
  const Status written = run_exclusive_locked(lock, [&](const std::vector<std::uint64_t>& dones, std::uint64_t) {
    if (!dones.empty()) XATM_RETURN_IF_ERROR(write_batch({}, dones));
    // The UPDATE itself waits for, and then excludes, a takeover's change of the row.
    const std::string where = "decision log " + options_.table + ", node '" + options_.node + "'";
    PgAnswer raised = session_->exec(
        "UPDATE " + nodes_table_ + " SET sequence_limit = GREATEST(sequence_limit, " +
        std::to_string(limit) + ") WHERE node = " + literal(options_.node) +
        " AND epoch = " + std::to_string(epoch_));
    if (!raised.ok) return database_error(where + ": reserving XID sequence numbers", raised);
    if (std::string_view(PQcmdTuples(raised.result.get())) != "1") {
      return aborted_error(where + kTakenOver + std::to_string(epoch_) +
                           " is no longer this log's; this TM can decide nothing more");
    }
    return Status();
  });
  if (written.ok()) sequence_limit_ = std::max(sequence_limit_, limit);
  return written;
}

std::uint64_t PgDecisionLog::sequence_limit() const {
  std::lock_guard lock(mu_);
  return sequence_limit_;
}

std::vector<CommitRecord> PgDecisionLog::open_decisions() const {
  std::lock_guard lock(mu_);
  if (options_.read_only) {
    // A reader beside a live TM reads again each time: recovery asks for the decisions after
    // it listed the prepared branches, and must see a COMMIT written in between.
    Result<OpenRecords> fresh = read_records(*session_, options_, "decision log " + options_.table);
    if (fresh.ok()) {
      records_ = std::move(fresh).value();
    } else {
      failure_ = fresh.status();  // health() says so: recovery then rolls nothing back
    }
  }
  std::vector<CommitRecord> open;
  open.reserve(records_.commits.size());
  for (const auto& [seq, record] : records_.commits) open.push_back(record);
  return open;
}

std::vector<HeuristicRecord> PgDecisionLog::open_heuristics() const {
  std::lock_guard lock(mu_);
  std::vector<HeuristicRecord> open;
  for (const auto& [seq, record] : records_.heuristics) open.push_back(record);
  return open;
}

PgDecisionLog::Stats PgDecisionLog::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// Healing changes no record the log holds: it rereads them from where they are durable.
Status PgDecisionLog::health() const { return const_cast<PgDecisionLog*>(this)->heal(); }

Status PgDecisionLog::heal() {
  std::unique_lock lock(mu_);
  if (options_.read_only) return failure_;
  if (failure_.ok() || failed_for_good_ || leading_) return failure_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_heal_ < kHealInterval) return failure_;
  last_heal_ = now;
  leading_ = true;
  // The old session may still be open (a statement failed, the connection did not) and hold the
  // node's sign of life: close it first, or the new session would find the node held. Never take
  // the node over from here: another session holding it is another owner.
  session_.reset();
  LogOptions heal_options = options_;
  heal_options.take_over = false;
  lock.unlock();
  Result<Owned> owned = take_node(heal_options, Mode::kHeal, epoch_);
  lock.lock();
  std::string missing;  // an acknowledged record the database no longer holds
  if (owned.ok()) {
    for (const auto& [seq, record] : records_.commits) {
      if (owned->records.commits.count(seq) == 0) missing = "the COMMIT decision of " + record.global.to_string();
    }
    for (const auto& [seq, record] : records_.heuristics) {
      if (owned->records.heuristics.count(seq) == 0) missing = "the heuristic outcome of " + record.branch.xid.to_string();
    }
  }
  if (!missing.empty()) {
    // The log database lost what it had acknowledged (restored from a backup, or failed over to
    // a replica that was behind): carrying on would let recovery presume abort for it.
    failed_for_good_ = true;
    failure_ = data_loss_error("decision log " + options_.table + ", node '" + options_.node +
                               "': the database no longer holds " + missing +
                               ", which it had acknowledged (a failover to a replica that was "
                               "behind?); the log stays failed: restore the rows, or resolve "
                               "the node's transactions with xatm-recover");
    XATM_LOG(error) << failure_.message();
  } else if (owned.ok()) {
    session_ = std::move(owned->session);
    const std::uint64_t next_seq = std::max(records_.next_seq, owned->records.next_seq);
    records_ = std::move(owned->records);
    records_.next_seq = next_seq;
    for (std::uint64_t seq : deferred_done_) records_.erase(seq);  // closed, not yet deleted
    sequence_limit_ = std::max(sequence_limit_, owned->sequence_limit);
    failure_ = Status();
    XATM_LOG(warning) << "decision log " << options_.table << ", node '" << options_.node
                      << "': back, epoch " << epoch_ << " still this log's";
  } else if (says_taken_over(owned.status())) {
    failed_for_good_ = true;
    failure_ = owned.status();
  }
  end_lead_locked();
  return failure_;
}

}  // namespace xatm::postgresql::internal

namespace xatm::postgresql {

Result<std::unique_ptr<DecisionLog>> make_decision_log(const LogOptions& options) {
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<internal::PgDecisionLog> log,
                        internal::PgDecisionLog::open(options));
  return std::unique_ptr<DecisionLog>(std::move(log));
}

Result<LogSnapshot> read_decision_log(const LogOptions& options) {
  LogOptions reader = options;
  reader.read_only = true;
  reader.take_over = false;
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<internal::PgDecisionLog> log, internal::PgDecisionLog::open(reader));
  LogSnapshot snapshot;
  snapshot.locked = log->owner_down();
  snapshot.log = std::move(log);
  return snapshot;
}

}  // namespace xatm::postgresql
