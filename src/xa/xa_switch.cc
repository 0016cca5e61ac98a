#include "xatm/xa_switch.h"

#include <dlfcn.h>
#include <link.h>

#include <mutex>
#include <string>

#include "xa/xa_switch_adapter.h"
#include "xatm/transaction_manager.h"

namespace xatm {
namespace {

// What the symbol at `address` is, from its ELF entry: an xa_switch_t object (the XA
// specification's convention), or a function returning one (LIXA's lixa_get_xa_switch).
Result<const xa_switch_t*> switch_at(void* address, const std::string& what) {
  Dl_info info{};
  void* found = nullptr;  // dladdr1 writes a const ElfW(Sym)* here
  if (dladdr1(address, &info, &found, RTLD_DL_SYMENT) == 0 || found == nullptr) {
    return invalid_argument_error(what + ": cannot tell whether it is an xa_switch_t or a function");
  }
  const auto* entry = static_cast<const ElfW(Sym)*>(found);
  switch (ELF64_ST_TYPE(entry->st_info)) {  // ELF64_ST_TYPE == ELF32_ST_TYPE
    case STT_OBJECT:
      if (entry->st_size < sizeof(xa_switch_t)) {
        return invalid_argument_error(what + " is a " + std::to_string(entry->st_size) +
                                      "-byte object, not an xa_switch_t (" +
                                      std::to_string(sizeof(xa_switch_t)) + " bytes)");
      }
      return static_cast<const xa_switch_t*>(address);
    case STT_FUNC: {
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): dlsym's result
      const auto getter = reinterpret_cast<const xa_switch_t* (*)()>(address);
      const xa_switch_t* xa_switch = getter();
      if (xa_switch == nullptr) return not_found_error(what + " returned no xa_switch_t");
      return xa_switch;
    }
    default:
      return invalid_argument_error(what + " is neither an xa_switch_t nor a function returning one");
  }
}

}  // namespace

Result<std::unique_ptr<Resource>> adopt_xa_switch(SwitchDataSource config) {
  XATM_RETURN_IF_ERROR(internal::validate_switch(config));
  return std::unique_ptr<Resource>(new internal::SwitchResource(std::move(config)));
}

Result<const xa_switch_t*> load_xa_switch(const std::string& library, const std::string& symbol) {
  // "" is the program itself with the libraries it links (dlopen(NULL)): a switch linked in
  // rather than loaded, whose RM state the program's own calls reach (one copy of it).
  const std::string where = library.empty() ? "the program" : "the library '" + library + "'";
  // dlerror() is process-wide state: keep our dlopen/dlsym/dlerror sequences from interleaving.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  dlerror();
  void* handle = dlopen(library.empty() ? nullptr : library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return not_found_error("cannot load the XA switch library '" + library +
                           "': " + (why != nullptr ? why : "dlopen failed"));
  }
  // The handle is never closed: adopted resources keep pointers into the library.
  void* address = dlsym(handle, symbol.c_str());
  if (address == nullptr) {
    const char* why = dlerror();
    return not_found_error(
        where + " has no XA switch symbol '" + symbol + "'" +
        (why != nullptr ? std::string(": ") + why : std::string()) +
        (library.empty() ? " (link the library that defines it; an executable's own symbols "
                           "need -rdynamic)"
                         : ""));
  }
  return switch_at(address, "'" + symbol + "' in " + where);
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
