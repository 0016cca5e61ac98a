// Writes one segment file: its header, then framed records (log_format.h), each batch of
// records with one positional write at the end of the records. The file may be longer than
// the records (preallocated, zero-filled): writes go to size(), not to the end of the file.
//
// Thread safety: none; the owner (FileLog, under its mutex) serializes every call.
// Errors: kIOError naming the file and the offset of the write.
#ifndef XATM_SRC_LOG_SEGMENT_WRITER_H_
#define XATM_SRC_LOG_SEGMENT_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "log/env.h"
#include "log/log_format.h"
#include "xatm/status.h"

namespace xatm::internal {

// The 64-byte header of segment `number` owned by `node_name` (REQUIRES: 1..32 bytes).
std::string encode_segment_header(std::uint64_t number, std::string_view node_name);

// One framed record: header (checksum, length, type) and payload.
// REQUIRES: payload.size() <= kMaxPayloadSize.
std::string encode_record(RecordType type, std::uint64_t segment, std::string_view payload);
// The same, appended to `out` (to build a batch without a copy per record).
void append_record(std::string& out, RecordType type, std::uint64_t segment,
                   std::string_view payload);

class SegmentWriter {
 public:
  // Creates segment `number` in `dir` (0600; it must not exist), writes its header, allocates
  // `preallocate` bytes (zero-filled; 0: none), then fsyncs the file and the directory: the
  // segment exists durably before any record depends on it.
  static Result<std::unique_ptr<SegmentWriter>> create(Env& env, const std::string& dir,
                                                       std::uint64_t number,
                                                       std::string_view node_name,
                                                       std::uint64_t preallocate);

  // Writes into an existing segment file whose records end at offset `size` and whose header
  // says format `version`.
  SegmentWriter(std::unique_ptr<WritableFile> file, std::uint64_t number, std::uint64_t size,
                std::uint32_t version = kFormatVersion);

  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Writes the header. REQUIRES: size() == 0.
  Status write_header(std::string_view node_name);

  // Appends one record with a single write. Does not sync. After an error the file may end in
  // a torn record, and size() no longer matches it.
  Status append(RecordType type, std::string_view payload);

  // Appends records framed for this segment (append_record() with number()) with a single
  // write. Does not sync. Errors as append().
  Status append_records(std::string_view records);

  // Makes the file at least `size` bytes long, zero-filled (WritableFile::allocate). Not synced.
  Status allocate(std::uint64_t size);

  Status sync_data();  // fdatasync
  Status sync();       // fsync

  [[nodiscard]] std::uint64_t number() const { return number_; }
  // The format version of the segment's header. Records of a newer version are never
  // appended to an older segment: a new segment is started instead.
  [[nodiscard]] std::uint32_t version() const { return version_; }
  // Where the records end: the bytes written so far, header included.
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] const std::string& path() const { return file_->path(); }

 private:
  Status write(std::string_view bytes, std::string_view what);

  std::unique_ptr<WritableFile> file_;
  std::uint64_t number_;
  std::uint64_t size_;
  std::uint32_t version_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_SEGMENT_WRITER_H_
