// The data sources of one TransactionManager: each Resource with the pool of its idle sessions.
//
// Thread safety: add() is for setup, before start(); after that the set never changes, so
// find() and resources() take no lock.
#ifndef XATM_SRC_TM_DATA_SOURCES_H_
#define XATM_SRC_TM_DATA_SOURCES_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tm/connection_pool.h"
#include "xatm/driver/resource.h"
#include "xatm/status.h"

namespace xatm::internal {

class DataSources {
 public:
  // One data source. The pointers live as long as the DataSources.
  struct Source {
    const std::string* name = nullptr;
    Resource* resource = nullptr;
    ConnectionPool* pool = nullptr;
  };

  // `max_idle` sessions of each data source are kept for reuse.
  explicit DataSources(std::size_t max_idle) : max_idle_(max_idle) {}

  // kInvalidArgument for a null resource or an invalid name (validate_data_source_name),
  // kAlreadyExists for a duplicate name.
  Status add(std::unique_ptr<Resource> resource);

  // The data source named `name`; a Source of nulls when there is none.
  Source find(std::string_view name);

  std::vector<Resource*> resources() const;

 private:
  struct Entry {
    std::unique_ptr<Resource> resource;
    std::unique_ptr<ConnectionPool> pool;
  };

  const std::size_t max_idle_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_DATA_SOURCES_H_
