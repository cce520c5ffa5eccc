#include "ledger/evm/rlp.h"

#include <cstring>

namespace openstreaming::ledger::evm::rlp {
namespace {

// Big-endian bytes of `value` without leading zeros (empty for 0).
Bytes minimal_be(uint64_t value) {
  Bytes out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    auto byte = static_cast<uint8_t>(value >> shift);
    if (!out.empty() || byte != 0) out.push_back(byte);
  }
  return out;
}

void append_header(Bytes& out, std::size_t payload_size, uint8_t short_base) {
  if (payload_size < 56) {
    out.push_back(static_cast<uint8_t>(short_base + payload_size));
    return;
  }
  Bytes length = minimal_be(payload_size);
  out.push_back(static_cast<uint8_t>(short_base + 55 + length.size()));
  out.insert(out.end(), length.begin(), length.end());
}

void append_bytes(Bytes& out, ByteView value) {
  if (value.size() == 1 && value[0] < 0x80) {
    out.push_back(value[0]);
    return;
  }
  append_header(out, value.size(), 0x80);
  std::size_t at = out.size();
  out.resize(at + value.size());
  if (!value.empty()) std::memcpy(out.data() + at, value.data(), value.size());
}

Error bad(std::size_t at, const std::string& what) {
  return make_error(Errc::invalid_input, "rlp: " + what + " at byte " + std::to_string(at));
}

struct Header {
  bool is_list;
  std::size_t payload_at;   // index of the first payload byte
  std::size_t payload_size; // checked: payload_at + payload_size <= end
};

// Reads the header at `pos`, checking canonical form and that the payload fits before `end`.
Result<Header> read_header(ByteView in, std::size_t pos, std::size_t end) {
  uint8_t b = in[pos];
  std::size_t after = pos + 1;
  std::size_t remaining = end - after;
  if (b < 0x80) return Header{false, pos, 1};
  bool is_list = b >= 0xc0;
  uint8_t base = is_list ? 0xc0 : 0x80;
  std::size_t size = 0;
  if (b - base <= 55) {
    size = static_cast<std::size_t>(b - base);
    if (size > remaining) return bad(pos, "length " + std::to_string(size) + " runs past the end of the input");
    if (!is_list && size == 1 && in[after] < 0x80) return bad(pos, "single byte below 0x80 must not be wrapped");
    return Header{is_list, after, size};
  }
  std::size_t length_of_length = static_cast<std::size_t>(b - base - 55); // 1..8
  if (length_of_length > remaining) return bad(pos, "length of length runs past the end of the input");
  if (in[after] == 0) return bad(pos, "long-form length has a leading zero");
  uint64_t value = 0;
  for (std::size_t i = 0; i < length_of_length; ++i) value = (value << 8) | in[after + i];
  if (value < 56) return bad(pos, "long-form length below 56 (must use the short form)");
  remaining -= length_of_length;
  if (value > remaining) return bad(pos, "length " + std::to_string(value) + " runs past the end of the input");
  size = static_cast<std::size_t>(value);
  return Header{is_list, after + length_of_length, size};
}

Result<Item> decode_item(ByteView in, std::size_t& pos, std::size_t end, std::size_t depth,
                         const DecodeLimits& limits) {
  auto header = read_header(in, pos, end);
  if (!header) return header.error();
  std::size_t payload_end = header->payload_at + header->payload_size;
  if (!header->is_list) {
    pos = payload_end;
    return Item::bytes(in.subspan(header->payload_at, header->payload_size));
  }
  if (depth + 1 > limits.max_depth) {
    return bad(pos, "lists nested deeper than " + std::to_string(limits.max_depth));
  }
  std::vector<Item> items;
  std::size_t at = header->payload_at;
  while (at < payload_end) {
    auto item = decode_item(in, at, payload_end, depth + 1, limits);
    if (!item) return item.error();
    items.push_back(std::move(*item));
  }
  pos = payload_end;
  return Item::list(std::move(items));
}

} // namespace

Item Item::bytes(Bytes value) {
  Item item;
  item.m_bytes = std::move(value);
  return item;
}

Item Item::list(std::vector<Item> items) {
  Item item;
  item.m_is_list = true;
  item.m_items = std::move(items);
  return item;
}

Item Item::uint(const U256& value) {
  auto word = core::to_word(value);
  std::size_t first = 0;
  while (first < word.size() && word[first] == 0) ++first;
  return bytes(Bytes(word.begin() + static_cast<std::ptrdiff_t>(first), word.end()));
}

void encode_to(const Item& item, Bytes& out) {
  if (item.is_bytes()) {
    append_bytes(out, item.payload());
    return;
  }
  Bytes payload;
  for (const auto& child : item.items()) encode_to(child, payload);
  append_header(out, payload.size(), 0xc0);
  out.insert(out.end(), payload.begin(), payload.end());
}

Bytes encode(const Item& item) {
  Bytes out;
  encode_to(item, out);
  return out;
}

Bytes encode_bytes(ByteView value) {
  Bytes out;
  append_bytes(out, value);
  return out;
}

Bytes encode_uint(const U256& value) {
  return encode(Item::uint(value));
}

Bytes encode_list(std::span<const Bytes> encoded_items) {
  std::size_t size = 0;
  for (const auto& e : encoded_items) size += e.size();
  Bytes out;
  out.reserve(size + 9);
  append_header(out, size, 0xc0);
  for (const auto& e : encoded_items) out.insert(out.end(), e.begin(), e.end());
  return out;
}

Result<Item> decode(ByteView input, DecodeLimits limits) {
  if (input.empty()) return make_error(Errc::invalid_input, "rlp: empty input");
  std::size_t pos = 0;
  auto item = decode_item(input, pos, input.size(), 0, limits);
  if (!item) return item.error();
  if (pos != input.size()) {
    return bad(pos, std::to_string(input.size() - pos) + " trailing bytes after the item");
  }
  return item;
}

Result<U256> to_uint(const Item& item, std::string_view field) {
  if (item.is_list()) return make_error(Errc::invalid_input, std::string(field) + ": expected an integer, got a list");
  const Bytes& b = item.payload();
  if (b.size() > 32) return make_error(Errc::overflow, std::string(field) + ": integer longer than 32 bytes");
  if (!b.empty() && b[0] == 0) {
    return make_error(Errc::invalid_input, std::string(field) + ": integer has a leading zero byte");
  }
  std::array<uint8_t, 32> word{};
  std::copy(b.begin(), b.end(), word.begin() + static_cast<std::ptrdiff_t>(32 - b.size()));
  return core::from_word(word);
}

Result<uint64_t> to_u64(const Item& item, std::string_view field) {
  auto value = to_uint(item, field);
  if (!value) return value.error();
  if (item.payload().size() > 8) return make_error(Errc::overflow, std::string(field) + ": integer above 2^64 - 1");
  return static_cast<uint64_t>(*value);
}

} // namespace openstreaming::ledger::evm::rlp
