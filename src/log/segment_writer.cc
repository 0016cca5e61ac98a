#include "log/segment_writer.h"

#include <utility>

#include "log/coding.h"

namespace xatm::internal {

std::string encode_segment_header(std::uint64_t number, std::string_view node_name) {
  std::string header(kSegmentMagic);
  put_u32(header, kFormatVersion);
  put_u64(header, number);
  put_u8(header, static_cast<std::uint8_t>(node_name.size()));
  header.append(node_name);
  header.resize(kHeaderCrcOffset, '\0');  // node name padding and reserved bytes
  put_u32(header, crc32c(header));
  return header;
}

void append_record(std::string& out, RecordType type, std::uint64_t segment,
                   std::string_view payload) {
  auto length = static_cast<std::uint32_t>(payload.size());
  auto type_byte = static_cast<std::uint8_t>(type);
  put_u32(out, record_crc(type_byte, length, segment, payload));
  put_u32(out, length);
  put_u8(out, type_byte);
  out.append(payload);
}

std::string encode_record(RecordType type, std::uint64_t segment, std::string_view payload) {
  std::string record;
  record.reserve(kRecordHeaderSize + payload.size());
  append_record(record, type, segment, payload);
  return record;
}

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::create(Env& env, const std::string& dir,
                                                             std::uint64_t number,
                                                             std::string_view node_name,
                                                             std::uint64_t preallocate) {
  Result<std::unique_ptr<WritableFile>> file =
      env.new_writable_file(dir + "/" + segment_file_name(number));
  if (!file.ok()) return file.status().with_context("decision log: creating a segment");
  auto writer = std::make_unique<SegmentWriter>(std::move(file).value(), number, 0);
  XATM_RETURN_IF_ERROR(writer->write_header(node_name));
  // After the header: a power loss that keeps the new size but not the header leaves a file of
  // zeros, which the reader knows as a segment whose creation was cut short.
  if (preallocate > writer->size()) XATM_RETURN_IF_ERROR(writer->allocate(preallocate));
  // fsync, not fdatasync: the new file's metadata must be durable too. Then the directory, or
  // the file's name may be lost in a crash although its content was synced.
  XATM_RETURN_IF_ERROR(writer->sync());
  Status synced = env.sync_dir(dir);
  if (!synced.ok()) return synced.with_context("decision log: new segment " + writer->path());
  return writer;
}

SegmentWriter::SegmentWriter(std::unique_ptr<WritableFile> file, std::uint64_t number,
                             std::uint64_t size, std::uint32_t version)
    : file_(std::move(file)), number_(number), size_(size), version_(version) {}

Status SegmentWriter::write_header(std::string_view node_name) {
  version_ = kFormatVersion;
  return write(encode_segment_header(number_, node_name), "segment header");
}

Status SegmentWriter::append(RecordType type, std::string_view payload) {
  // One write per record: a crash can then tear only the last record of the file.
  return write(encode_record(type, number_, payload),
               std::string(record_type_name(type)) + " record");
}

Status SegmentWriter::append_records(std::string_view records) {
  // One write per batch: with the prefix semantics of a torn write, a crash leaves whole
  // records and at most one torn one, at the end.
  return write(records, "batch of records");
}

Status SegmentWriter::allocate(std::uint64_t size) {
  Status status = file_->allocate(size);
  if (status.ok()) return status;
  return status.with_context("decision log: preallocating " + std::to_string(size) + " bytes");
}

Status SegmentWriter::write(std::string_view bytes, std::string_view what) {
  Status status = file_->write_at(size_, bytes);
  if (!status.ok()) {
    return status.with_context("decision log: writing a " + std::string(what) + " at offset " +
                               std::to_string(size_));
  }
  size_ += bytes.size();
  return status;
}

Status SegmentWriter::sync_data() {
  Status status = file_->sync_data();
  if (status.ok()) return status;
  return status.with_context("decision log: syncing up to offset " + std::to_string(size_));
}

Status SegmentWriter::sync() {
  Status status = file_->sync();
  if (status.ok()) return status;
  return status.with_context("decision log: syncing up to offset " + std::to_string(size_));
}

}  // namespace xatm::internal
