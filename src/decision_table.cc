#include "xatm/driver/decision_table.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>
#include <vector>

namespace xatm {
namespace {

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

Status validate_decision_table_name(const std::string& data_source, const std::string& table) {
  const std::string_view name = table;
  const std::size_t dot = name.find('.');
  const bool valid = dot == std::string_view::npos
                         ? is_identifier(name)
                         : is_identifier(name.substr(0, dot)) && is_identifier(name.substr(dot + 1));
  if (valid) return Status();
  return invalid_argument_error("data source '" + data_source + "': decision_table '" + table +
                                "' is not a table name ([A-Za-z_][A-Za-z0-9_]*, at most 63 "
                                "bytes, optionally schema.table)");
}

std::string format_branches(const std::vector<DecisionBranch>& branches) {
  std::string text;
  for (const DecisionBranch& branch : branches) {
    if (!text.empty()) text += ' ';
    text += branch.data_source + "=" + branch.xid.to_string();
  }
  return text;
}

Result<std::vector<DecisionBranch>> parse_branches(const std::string& text) {
  std::vector<DecisionBranch> branches;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    const std::string pair = text.substr(at, end - at);
    const std::size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) return data_loss_error("branch '" + pair + "'");
    XATM_ASSIGN_OR_RETURN(Xid xid, Xid::parse(pair.substr(equals + 1)));
    branches.push_back({pair.substr(0, equals), std::move(xid)});
    at = end + 1;
  }
  return branches;
}

void FinishedDecisions::add(const Xid& global) {
  std::lock_guard lock(mutex_);
  if (finished_.size() < kMaxQueued) finished_.push_back(global);
}

std::vector<Xid> FinishedDecisions::take_batch() {
  std::lock_guard lock(mutex_);
  // One DELETE of many rows costs the server less than many DELETEs of one.
  if (finished_.size() < kMinBatch) return {};
  const auto first = finished_.end() - static_cast<long>(std::min(finished_.size(), kMaxBatch));
  std::vector<Xid> taken(first, finished_.end());
  finished_.erase(first, finished_.end());
  return taken;
}

void FinishedDecisions::give_back(std::vector<Xid>& taken) {
  std::lock_guard lock(mutex_);
  for (Xid& global : taken) {
    if (finished_.size() < kMaxQueued) finished_.push_back(std::move(global));
  }
  taken.clear();
}

}  // namespace xatm
