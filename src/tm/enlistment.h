// Enlistment: a data source joins a global transaction as a new branch on its first use.
//
// Thread safety: as TransactionState (one thread at a time per transaction).
#ifndef XATM_SRC_TM_ENLISTMENT_H_
#define XATM_SRC_TM_ENLISTMENT_H_

#include <string_view>

#include "tm/data_sources.h"
#include "tm/transaction_state.h"
#include "xatm/driver/resource.h"
#include "xatm/status.h"

namespace xatm::internal {

// The session of `data_source` in `tx`: the branch's session when it is enlisted already;
// otherwise a session from the data source's pool on which xa_start has begun a new branch.
// Errors: kAborted (the transaction ended, is rollback-only or timed out), kNotFound (no such
// data source), kUnavailable (the data source cannot be reached), kAlreadyExists /
// kFailedPrecondition (xa_start refused).
Result<XaConnection*> enlist(TransactionState& tx, DataSources& sources, std::string_view data_source);

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_ENLISTMENT_H_
