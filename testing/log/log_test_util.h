// Helpers for the decision log's tests (tests/unit/log_*_test.cc). Not part of the library.
//
// Thread safety: none; one test thread.
#ifndef XATM_TESTING_LOG_LOG_TEST_UTIL_H_
#define XATM_TESTING_LOG_LOG_TEST_UTIL_H_

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "log/log_format.h"
#include "log/segment_reader.h"
#include "xatm/decision_log.h"
#include "xatm/xa.h"
#include "xatm/xid.h"

namespace xatm::internal::testing {

// True in sanitizer builds, where the long-running log tests run fewer rounds (they are many
// times slower there and CI runs them under ASan+UBSan and TSan too).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// `rounds` in a normal build, fewer (at least 1) in a sanitizer build.
inline int scaled_rounds(int rounds) { return kSanitized ? std::max(1, rounds / 8) : rounds; }

// The LOG-INFO record every new log starts with: 9 bytes of record header and two u64.
inline constexpr std::uint64_t kLogInfoRecordSize = kRecordHeaderSize + 16;

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string name = "/tmp/xatm-log-test-XXXXXX";
    if (::mkdtemp(name.data()) == nullptr) std::abort();  // no temp dir: no test can run
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// The global xid of test transaction `n`.
inline Xid test_global(int n) {
  std::string gtrid = "test-transaction-" + std::to_string(n);
  return Xid::make(kXatmFormatId, bytes_of(gtrid), {}).value();
}

// A COMMIT decision for transaction `n` with `branches` branches on data sources ds-0, ds-1...
inline CommitRecord test_commit(int n, int branches = 2) {
  CommitRecord record{test_global(n), {}};
  for (int i = 0; i < branches; ++i) {
    record.branches.push_back(
        {"ds-" + std::to_string(i), record.global.branch(static_cast<std::uint16_t>(i))});
  }
  return record;
}

inline HeuristicRecord test_heuristic(int n, int xa_code = XA_HEURRB) {
  return {{"ds-1", test_global(n).branch(1)}, xa_code};
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Where the records of the segment file at `path` end (before its zero-filled tail), or
// UINT64_MAX when the segment does not end cleanly.
inline std::uint64_t records_end(const std::string& path, std::string_view node = "node-a") {
  std::string name = std::filesystem::path(path).filename().string();
  std::string data = read_bytes(path);
  SegmentScan scan = scan_segment(data, parse_segment_file_name(name).value_or(0), node);
  return scan.end == SegmentScan::End::kClean ? scan.problem_offset : UINT64_MAX;
}

// The bytes of the segment file at `path` up to the end of its records (see records_end).
inline std::string written_bytes(const std::string& path, std::string_view node = "node-a") {
  return read_bytes(path).substr(0, records_end(path, node));
}

// The segment file names in `dir`, sorted.
inline std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (parse_segment_file_name(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace xatm::internal::testing

#endif  // XATM_TESTING_LOG_LOG_TEST_UTIL_H_
