// Fixed-width little-endian encoding for the decision log, and a bounds-checked reader.
//
// Every integer on disk goes through these functions, whatever the host's byte order.
//
// Thread safety: the free functions are pure; a ByteReader is used by one thread at a time.
#ifndef XATM_SRC_LOG_CODING_H_
#define XATM_SRC_LOG_CODING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace xatm::internal {

inline void put_u8(std::string& out, std::uint8_t value) {
  out.push_back(static_cast<char>(value));
}

inline void put_u16(std::string& out, std::uint16_t value) {
  for (int i = 0; i < 2; ++i) put_u8(out, static_cast<std::uint8_t>(value >> (8 * i)));
}

inline void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) put_u8(out, static_cast<std::uint8_t>(value >> (8 * i)));
}

inline void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) put_u8(out, static_cast<std::uint8_t>(value >> (8 * i)));
}

// REQUIRES: `p` points at (at least) 2, 4 or 8 readable bytes.
inline std::uint16_t get_u16(const char* p) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) |
                                    (static_cast<unsigned char>(p[1]) << 8));
}

inline std::uint32_t get_u32(const char* p) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

inline std::uint64_t get_u64(const char* p) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

// Reads fixed-width fields from the front of a byte string. Each read returns false, and
// consumes nothing, when too few bytes remain.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool read_u8(std::uint8_t& value) {
    if (data_.empty()) return false;
    value = static_cast<std::uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool read_u16(std::uint16_t& value) {
    return read_fixed(2, [&](const char* p) { value = get_u16(p); });
  }
  bool read_u32(std::uint32_t& value) {
    return read_fixed(4, [&](const char* p) { value = get_u32(p); });
  }
  bool read_u64(std::uint64_t& value) {
    return read_fixed(8, [&](const char* p) { value = get_u64(p); });
  }
  bool read_bytes(std::size_t size, std::string_view& bytes) {
    if (data_.size() < size) return false;
    bytes = data_.substr(0, size);
    data_.remove_prefix(size);
    return true;
  }

  [[nodiscard]] bool empty() const { return data_.empty(); }
  [[nodiscard]] std::size_t remaining() const { return data_.size(); }

 private:
  template <typename Decode>
  bool read_fixed(std::size_t size, Decode decode) {
    if (data_.size() < size) return false;
    decode(data_.data());
    data_.remove_prefix(size);
    return true;
  }

  std::string_view data_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_CODING_H_
