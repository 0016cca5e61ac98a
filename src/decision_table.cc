#include "xatm/driver/decision_table.h"

#include <algorithm>
#include <cctype>
#include <string_view>

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
