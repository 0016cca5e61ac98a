// Options: how a TransactionManager is configured. A value type with in-class defaults and a
// sentence per field; TransactionManager::start() validates it (an error names the field).
//
// Thread safety: a value type.
#ifndef XATM_OPTIONS_H_
#define XATM_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace xatm {

// The longest timeout a transaction may have: XIDs carry it in 32 bits of milliseconds
// (docs/xid.md), about 49.7 days.
inline constexpr std::chrono::milliseconds kMaxTransactionTimeout{0xFFFFFFFFLL};

struct Options {
  // This TM's name, unique among the TMs that share a database (validate_node_name). It is
  // part of every XID, so recovery only touches this node's branches; keep it across restarts.
  std::string node_name;
  // The decision log directory (FileLogOptions::dir). Ignored when a log is passed explicitly.
  std::string log_dir;
  // When log_dir holds no log, start() creates one only if this is set, or if no data source
  // holds a prepared branch of this node (a branch whose decision would then be missing: a
  // wrong or unmounted log_dir must not turn committed work into rollbacks).
  bool create_log_if_missing = false;
  // The size of each decision log segment file (FileLogOptions::max_segment_bytes), 64 KiB..1 GiB.
  std::uint64_t log_segment_bytes = 16 << 20;
  // A transaction's timeout unless begin() is given one (1 ms .. kMaxTransactionTimeout). Past it
  // the transaction can only roll back: nothing more is enlisted and no COMMIT decision is logged.
  std::chrono::milliseconds default_timeout{60'000};
  // Threads that run the phases of a transaction's branches in parallel (the committing thread
  // works too). Branches whose sessions split verbs (PostgreSQL) need none: they overlap the
  // others on the committing thread. 0 runs the other branches one after another.
  std::size_t phase_threads = 4;
  // Idle sessions kept per data source for reuse.
  std::size_t max_idle_connections = 16;
  // The durations below are checked by start(), which refuses a value out of its range with
  // kInvalidArgument naming the field: phase2_retry_window and recovery_interval 0 .. 1 day,
  // phase2_retry_backoff 1 ms .. 1 day, phase2_retry_backoff_max phase2_retry_backoff .. 1 day,
  // recovery_grace 1 s .. 30 days.
  //
  // How long commit()/rollback() retry a branch that answered XAER_RMFAIL or XA_RETRY in phase 2
  // before leaving it to recovery (the decision is final either way).
  std::chrono::milliseconds phase2_retry_window{2'000};
  // First pause between phase-2 retries; it doubles up to phase2_retry_backoff_max.
  std::chrono::milliseconds phase2_retry_backoff{10};
  std::chrono::milliseconds phase2_retry_backoff_max{500};
  // start() resolves what earlier incarnations of this node left in doubt; after that, a
  // background pass repeats every recovery_interval for what could not be resolved yet
  // (a data source down, a commit not confirmed). Zero disables the background pass.
  std::chrono::milliseconds recovery_interval{30'000};
  // RecoveryOptions::grace: how long past its deadline an unlogged prepared branch must be
  // before a pass may presume it aborted.
  std::chrono::milliseconds recovery_grace{30'000};
};

}  // namespace xatm

#endif  // XATM_OPTIONS_H_
