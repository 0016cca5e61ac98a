// Fuzzes the decision log reader: any bytes as a segment file go through the frame scanner
// (scan_segment), the payload decoder (decode_payload) and the replay (LogState), as recovery
// and `xatm-recover log verify` run them. Nothing may crash, and what the reader accepts must
// be consistent: records back to back inside the input, payloads that re-encode to the same
// bytes, an end that accounts for every byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "log/coding.h"
#include "log/log_format.h"
#include "log/log_record.h"
#include "log/log_state.h"
#include "log/segment_reader.h"

using namespace xatm::internal;  // NOLINT: a fuzz target's single function

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Take the segment number and node from the header when the input has one, so that the
  // fuzzer gets past the header checks to the records.
  std::string node = segment_node_name(bytes);
  if (node.empty()) node = "node-a";
  std::uint64_t number =
      size >= kSegmentHeaderSize ? get_u64(bytes.data() + kHeaderSegmentOffset) : 1;

  SegmentScan scan = scan_segment(bytes, number, node);
  std::uint64_t expected_offset = kSegmentHeaderSize;
  LogState state;
  for (const FramedRecord& framed : scan.records) {
    XATM_FUZZ_CHECK(framed.offset == expected_offset);
    XATM_FUZZ_CHECK(framed.payload.data() == bytes.data() + framed.offset + kRecordHeaderSize);
    XATM_FUZZ_CHECK(is_known_record_type(framed.type));
    expected_offset = framed.offset + kRecordHeaderSize + framed.payload.size();
    XATM_FUZZ_CHECK(expected_offset <= size);
    xatm::Result<LogRecord> record = decode_payload(framed.type, framed.payload);
    if (!record.ok()) continue;
    xatm::Result<std::string> again = encode_payload(*record);
    XATM_FUZZ_CHECK(again.ok() && *again == framed.payload);
    XATM_FUZZ_CHECK(static_cast<std::uint8_t>(record_type(*record)) == framed.type);
    state.replay(*record).ignore_error();
  }
  switch (scan.end) {
    case SegmentScan::End::kClean:
      XATM_FUZZ_CHECK(scan.problem_offset == expected_offset);
      XATM_FUZZ_CHECK(scan.problem_offset + scan.zero_tail == size);
      break;
    case SegmentScan::End::kTornTail:
      XATM_FUZZ_CHECK(scan.problem_offset == expected_offset && scan.problem_offset < size);
      break;
    case SegmentScan::End::kTornHeader: XATM_FUZZ_CHECK(scan.records.empty()); break;
    case SegmentScan::End::kDamaged:
    case SegmentScan::End::kOtherNode: XATM_FUZZ_CHECK(scan.problem_offset <= size); break;
  }
  static_cast<void>(state.open_decisions());
  static_cast<void>(state.open_heuristics());
  return 0;
}
