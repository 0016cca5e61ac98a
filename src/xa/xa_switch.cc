#include "xatm/xa_switch.h"

#include <dlfcn.h>

#include <mutex>

#include "xa/xa_switch_adapter.h"
#include "xatm/transaction_manager.h"

namespace xatm {

Result<std::unique_ptr<Resource>> adopt_xa_switch(SwitchDataSource config) {
  XATM_RETURN_IF_ERROR(internal::validate_switch(config));
  return std::unique_ptr<Resource>(new internal::SwitchResource(std::move(config)));
}

Result<const xa_switch_t*> load_xa_switch(const std::string& library, const std::string& symbol) {
  // dlerror() is process-wide state: keep our dlopen/dlsym/dlerror sequences from interleaving.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  dlerror();
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return not_found_error("cannot load the XA switch library '" + library +
                           "': " + (why != nullptr ? why : "dlopen failed"));
  }
  // The handle is never closed: adopted resources keep pointers into the library.
  void* address = dlsym(handle, symbol.c_str());
  if (address == nullptr) {
    const char* why = dlerror();
    return not_found_error("the library '" + library + "' has no XA switch symbol '" + symbol +
                           "'" + (why != nullptr ? std::string(": ") + why : std::string()));
  }
  return static_cast<const xa_switch_t*>(address);
}

Status run_in_thread_of_control(Transaction& tx, std::string_view data_source,
                                const std::function<void(int rmid)>& work) {
  Result<XaConnection*> session = tx.enlist(data_source);
  if (!session.ok()) return session.status();
  auto* switch_session = dynamic_cast<internal::SwitchConnection*>(*session);
  if (switch_session == nullptr) {
    return invalid_argument_error("data source '" + std::string(data_source) +
                                  "' was not adopted from an xa_switch_t: it has no thread of "
                                  "control (use its driver's connection() instead)");
  }
  switch_session->run_in_thread(work);
  return Status();
}

}  // namespace xatm
