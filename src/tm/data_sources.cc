#include "tm/data_sources.h"

#include <utility>

namespace xatm::internal {

Status DataSources::add(std::unique_ptr<Resource> resource) {
  if (resource == nullptr) return invalid_argument_error("add(): null resource");
  const std::string name = resource->name();
  XATM_RETURN_IF_ERROR(validate_data_source_name(name).with_context("add()"));
  auto pool = std::make_unique<ConnectionPool>(*resource, max_idle_);
  auto [it, inserted] = entries_.try_emplace(name, Entry{std::move(resource), std::move(pool)});
  if (!inserted) return already_exists_error("data source '" + name + "' is already added");
  return Status();
}

DataSources::Source DataSources::find(std::string_view name) {
  auto found = entries_.find(name);
  if (found == entries_.end()) return {};
  return {&found->first, found->second.resource.get(), found->second.pool.get()};
}

std::vector<Resource*> DataSources::resources() const {
  std::vector<Resource*> resources;
  resources.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) resources.push_back(entry.resource.get());
  return resources;
}

}  // namespace xatm::internal
