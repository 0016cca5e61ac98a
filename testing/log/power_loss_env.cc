#include "testing/log/power_loss_env.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <utility>

namespace xatm::internal {

struct PowerLossEnv::Node {
  explicit Node(bool directory) : is_dir(directory) {}

  // One unsynced change of a file's content.
  struct Change {
    enum class Kind { kWrite, kTruncate, kAllocate };
    Kind kind;
    std::uint64_t at;  // kWrite: the offset; otherwise the size
    std::string data;  // kWrite: the bytes
  };

  const bool is_dir;

  // A file: what a reader sees now, what the last sync made durable, and the changes since.
  std::string content;
  std::string durable;
  std::vector<Change> unsynced;

  // A directory: its entries now, the durable ones, and the changes since (in order; a null
  // node is a removal).
  std::map<std::string, std::shared_ptr<Node>> entries;
  std::map<std::string, std::shared_ptr<Node>> durable_entries;
  std::vector<std::pair<std::string, std::shared_ptr<Node>>> entry_changes;
};

namespace {

using Node = PowerLossEnv::Node;
using Change = Node::Change;

// Splits an absolute path into its components; false for a malformed path.
bool split_components(const std::string& path, std::vector<std::string>& parts) {
  if (path.empty() || path[0] != '/') return false;
  parts.clear();
  std::size_t at = 1;
  while (at < path.size()) {
    std::size_t end = path.find('/', at);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(at, end - at);
    if (part.empty() || part == "." || part == "..") return false;
    parts.push_back(std::move(part));
    at = end + 1;
  }
  return path.size() == 1 || path.back() != '/';
}

void apply(std::string& content, const Change& change, std::size_t write_bytes) {
  switch (change.kind) {
    case Change::Kind::kWrite:
      if (content.size() < change.at + write_bytes) content.resize(change.at + write_bytes, '\0');
      std::memcpy(content.data() + change.at, change.data.data(), write_bytes);
      break;
    case Change::Kind::kTruncate: content.resize(change.at, '\0'); break;
    case Change::Kind::kAllocate:
      if (content.size() < change.at) content.resize(change.at, '\0');
      break;
  }
}

std::uint64_t units_of(const Change& change) {
  return change.kind == Change::Kind::kWrite ? change.data.size() : 1;
}

// How many of `total` units of unsynced changes survive.
std::uint64_t surviving_units(PowerLossEnv::Loss loss, std::uint64_t total, std::mt19937_64& rng) {
  switch (loss) {
    case PowerLossEnv::Loss::kKeepNothing: return 0;
    case PowerLossEnv::Loss::kProcessCrash: return total;
    case PowerLossEnv::Loss::kRandomPrefix:
      return std::uniform_int_distribution<std::uint64_t>(0, total)(rng);
  }
  return 0;
}

void lose_file_changes(Node& file, PowerLossEnv::Loss loss, std::mt19937_64& rng) {
  std::uint64_t total = 0;
  for (const Change& change : file.unsynced) total += units_of(change);
  std::uint64_t budget = surviving_units(loss, total, rng);
  file.content = file.durable;
  for (const Change& change : file.unsynced) {
    if (budget == 0) break;
    std::uint64_t units = std::min(budget, units_of(change));
    apply(file.content, change, static_cast<std::size_t>(units));
    budget -= units;
  }
  file.durable = file.content;
  file.unsynced.clear();
}

void lose_dir_changes(Node& dir, PowerLossEnv::Loss loss, std::mt19937_64& rng) {
  std::uint64_t kept = surviving_units(loss, dir.entry_changes.size(), rng);
  dir.entries = dir.durable_entries;
  for (std::uint64_t i = 0; i < kept; ++i) {
    auto& [name, node] = dir.entry_changes[i];
    if (node) {
      dir.entries[name] = node;
    } else {
      dir.entries.erase(name);
    }
  }
  dir.durable_entries = dir.entries;
  dir.entry_changes.clear();
  for (auto& [name, node] : dir.entries) {
    if (node->is_dir) {
      lose_dir_changes(*node, loss, rng);
    } else {
      lose_file_changes(*node, loss, rng);
    }
  }
}

Status no_such(std::string_view what, const std::string& path) {
  return io_error(std::string(what) + " " + path + ": No such file or directory");
}

}  // namespace

// A file open for writing. Every call checks that no power loss happened since it was opened.
class PowerLossEnv::File final : public WritableFile {
 public:
  File(PowerLossEnv& env, std::string path, std::shared_ptr<Node> node, std::uint64_t epoch)
      : env_(env), path_(std::move(path)), node_(std::move(node)), epoch_(epoch) {}

  [[nodiscard]] const std::string& path() const override { return path_; }

  Status write_at(std::uint64_t offset, std::string_view data) override {
    std::lock_guard lock(env_.mu_);
    XATM_RETURN_IF_ERROR(begin("pwrite"));
    Change change{Change::Kind::kWrite, offset, std::string(data)};
    apply(node_->content, change, data.size());
    node_->unsynced.push_back(std::move(change));
    ++env_.counters_.writes;
    env_.counters_.bytes_written += data.size();
    return Status();
  }

  Status allocate(std::uint64_t size) override {
    return resize("fallocate", Change::Kind::kAllocate, size);
  }
  Status truncate(std::uint64_t size) override {
    return resize("ftruncate", Change::Kind::kTruncate, size);
  }

  Status sync_data() override { return sync("fdatasync", env_.counters_.data_syncs); }
  Status sync() override { return sync("fsync", env_.counters_.file_syncs); }

 private:
  // REQUIRES: env_.mu_ held.
  Status begin(std::string_view what) {
    if (epoch_ != env_.epoch_) {
      return io_error(std::string(what) + " " + path_ + ": file was open before a power loss");
    }
    return env_.begin_call(what, path_);
  }

  Status resize(std::string_view what, Change::Kind kind, std::uint64_t size) {
    std::lock_guard lock(env_.mu_);
    XATM_RETURN_IF_ERROR(begin(what));
    Change change{kind, size, {}};
    apply(node_->content, change, 0);
    node_->unsynced.push_back(std::move(change));
    return Status();
  }

  Status sync(std::string_view what, std::uint64_t& counter) {
    std::lock_guard lock(env_.mu_);
    XATM_RETURN_IF_ERROR(begin(what));
    for (const Change& change : node_->unsynced) {
      apply(node_->durable, change, change.data.size());
    }
    node_->unsynced.clear();
    ++counter;
    return Status();
  }

  PowerLossEnv& env_;
  const std::string path_;
  const std::shared_ptr<Node> node_;
  const std::uint64_t epoch_;
};

class PowerLossEnv::Lock final : public FileLock {
 public:
  Lock(PowerLossEnv& env, std::string path, std::uint64_t id)
      : env_(env), path_(std::move(path)), id_(id) {}
  ~Lock() override {
    std::lock_guard lock(env_.mu_);
    auto found = env_.locks_.find(path_);
    // After a power loss the lock is gone, and may belong to a new holder by now.
    if (found != env_.locks_.end() && found->second == id_) env_.locks_.erase(found);
  }

  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  PowerLossEnv& env_;
  const std::string path_;
  const std::uint64_t id_;
};

PowerLossEnv::PowerLossEnv() : root_(std::make_shared<Node>(/*directory=*/true)) {}

PowerLossEnv::~PowerLossEnv() = default;

void PowerLossEnv::cut_power() {
  std::lock_guard lock(mu_);
  power_on_ = false;
}

void PowerLossEnv::cut_power_after(std::uint64_t calls) {
  std::lock_guard lock(mu_);
  calls_until_cut_ = calls;
}

bool PowerLossEnv::power_is_on() const {
  std::lock_guard lock(mu_);
  return power_on_;
}

void PowerLossEnv::restore_power(Loss loss, std::uint64_t seed) {
  std::lock_guard lock(mu_);
  std::mt19937_64 rng(seed);
  // The root's own entry never changes; its content follows the same rules as any directory.
  if (loss != Loss::kProcessCrash) lose_dir_changes(*root_, loss, rng);
  locks_.clear();
  ++epoch_;
  power_on_ = true;
  calls_until_cut_ = UINT64_MAX;
}

PowerLossEnv::Counters PowerLossEnv::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

std::uint64_t PowerLossEnv::dir_bytes(const std::string& dir) const {
  std::lock_guard lock(mu_);
  std::shared_ptr<Node> node = find(dir);
  std::uint64_t bytes = 0;
  if (!node || !node->is_dir) return 0;
  for (const auto& [name, entry] : node->entries) {
    if (!entry->is_dir) bytes += entry->content.size();
  }
  return bytes;
}

Status PowerLossEnv::begin_call(std::string_view what, const std::string& path) {
  if (power_on_ && calls_until_cut_ == 0) power_on_ = false;
  if (!power_on_) return io_error(std::string(what) + " " + path + ": the power is off");
  if (calls_until_cut_ != UINT64_MAX) --calls_until_cut_;
  return Status();
}

std::shared_ptr<PowerLossEnv::Node> PowerLossEnv::find(const std::string& path) const {
  std::vector<std::string> parts;
  if (!split_components(path, parts)) return nullptr;
  std::shared_ptr<Node> node = root_;
  for (const std::string& part : parts) {
    if (!node->is_dir) return nullptr;
    auto found = node->entries.find(part);
    if (found == node->entries.end()) return nullptr;
    node = found->second;
  }
  return node;
}

namespace {

// Splits `path` into its directory and its last component.
std::pair<std::string, std::string> parent_and_name(const std::string& path) {
  std::size_t slash = path.rfind('/');
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  return {parent, path.substr(slash + 1)};
}

}  // namespace

Result<bool> PowerLossEnv::create_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  XATM_RETURN_IF_ERROR(begin_call("mkdir", dir));
  if (std::shared_ptr<Node> existing = find(dir)) {
    if (existing->is_dir) return false;
    return io_error("mkdir " + dir + ": File exists");
  }
  auto [parent_path, name] = parent_and_name(dir);
  std::shared_ptr<Node> parent = find(parent_path);
  if (!parent || !parent->is_dir || name.empty()) return no_such("mkdir", dir);
  auto node = std::make_shared<Node>(/*directory=*/true);
  parent->entries[name] = node;
  parent->entry_changes.emplace_back(name, node);
  return true;
}

Result<std::vector<std::string>> PowerLossEnv::list_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  XATM_RETURN_IF_ERROR(begin_call("opendir", dir));
  std::shared_ptr<Node> node = find(dir);
  if (!node || !node->is_dir) return no_such("opendir", dir);
  std::vector<std::string> names;
  for (const auto& [name, entry] : node->entries) names.push_back(name);
  return names;
}

Result<std::string> PowerLossEnv::read_file(const std::string& path) {
  std::lock_guard lock(mu_);
  XATM_RETURN_IF_ERROR(begin_call("open", path));
  std::shared_ptr<Node> node = find(path);
  if (!node || node->is_dir) return no_such("open", path);
  return node->content;
}

Result<std::unique_ptr<WritableFile>> PowerLossEnv::open_file(const std::string& path,
                                                              bool create) {
  std::lock_guard lock(mu_);
  XATM_RETURN_IF_ERROR(begin_call("open", path));
  std::shared_ptr<Node> node = find(path);
  if (create) {
    if (node) return io_error("open " + path + ": File exists");
    auto [parent_path, name] = parent_and_name(path);
    std::shared_ptr<Node> parent = find(parent_path);
    if (!parent || !parent->is_dir || name.empty()) return no_such("open", path);
    node = std::make_shared<Node>(/*directory=*/false);
    parent->entries[name] = node;
    parent->entry_changes.emplace_back(name, node);
  } else if (!node || node->is_dir) {
    return no_such("open", path);
  }
  return std::unique_ptr<WritableFile>(std::make_unique<File>(*this, path, node, epoch_));
}

Result<std::unique_ptr<WritableFile>> PowerLossEnv::new_writable_file(const std::string& path) {
  return open_file(path, /*create=*/true);
}

Result<std::unique_ptr<WritableFile>> PowerLossEnv::reopen_writable_file(const std::string& path) {
  return open_file(path, /*create=*/false);
}

Status PowerLossEnv::remove_file(const std::string& path) {
  std::lock_guard lock(mu_);
  XATM_RETURN_IF_ERROR(begin_call("unlink", path));
  std::shared_ptr<Node> node = find(path);
  if (!node || node->is_dir) return no_such("unlink", path);
  auto [parent_path, name] = parent_and_name(path);
  std::shared_ptr<Node> parent = find(parent_path);
  parent->entries.erase(name);
  parent->entry_changes.emplace_back(name, nullptr);
  return Status();
}

Status PowerLossEnv::sync_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  XATM_RETURN_IF_ERROR(begin_call("fsync", dir));
  std::shared_ptr<Node> node = find(dir);
  if (!node || !node->is_dir) return no_such("open", dir);
  node->durable_entries = node->entries;
  node->entry_changes.clear();
  ++counters_.dir_syncs;
  return Status();
}

Result<std::unique_ptr<FileLock>> PowerLossEnv::lock_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  XATM_RETURN_IF_ERROR(begin_call("flock", dir));
  std::shared_ptr<Node> node = find(dir);
  if (!node) return no_such("open", dir);
  if (!node->is_dir) return io_error("open " + dir + ": Not a directory");
  if (locks_.count(dir) != 0) return failed_precondition_error(dir + " is locked");
  std::uint64_t id = next_lock_id_++;
  locks_[dir] = id;
  return std::unique_ptr<FileLock>(std::make_unique<Lock>(*this, dir, id));
}

std::chrono::system_clock::time_point PowerLossEnv::now() {
  std::lock_guard lock(mu_);
  return now_ ? *now_ : std::chrono::system_clock::now();
}

void PowerLossEnv::set_now(std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mu_);
  now_ = now;
}

}  // namespace xatm::internal
