#include "ledger/evm/abi.h"

#include "core/hex.h"
#include "core/keccak.h"

#include <cassert>
#include <cstring>
#include <optional>

namespace openstreaming::ledger::evm::abi {
namespace {

// A static type larger than this (e.g. uint256[100000000]) is refused when parsed,
// so head sizes never overflow.
constexpr std::size_t kMaxStaticSize = std::size_t{1} << 24;

Error invalid(const std::string& message) {
  return make_error(Errc::invalid_input, "abi: " + message);
}

std::string join_canonical(const std::vector<Type>& types) {
  std::string out;
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i) out += ',';
    out += types[i].canonical();
  }
  return out;
}

// ---- Type parsing ----------------------------------------------------------

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Decimal without leading zeros, at most `max`.
bool parse_decimal(std::string_view s, std::size_t max, std::size_t& out) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return false;
  std::size_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

Result<Type> elementary(std::string_view name) {
  auto sized = [&](std::string_view prefix, std::size_t& n) {
    return name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix &&
           parse_decimal(name.substr(prefix.size()), 256, n);
  };
  std::size_t n = 0;
  if (name == "uint") return Type::uint(256);
  if (name == "int") return Type::sint(256);
  if (name == "address") return Type::address();
  if (name == "bool") return Type::boolean();
  if (name == "bytes") return Type::bytes();
  if (name == "string") return Type::string();
  if (sized("uint", n) || sized("int", n)) {
    if (n == 0 || n % 8 != 0) return invalid("bad integer width in '" + std::string(name) + "'");
    return name[0] == 'u' ? Type::uint(static_cast<unsigned>(n)) : Type::sint(static_cast<unsigned>(n));
  }
  if (sized("bytes", n)) {
    if (n == 0 || n > 32) return invalid("bad size in '" + std::string(name) + "'");
    return Type::fixed_bytes(static_cast<unsigned>(n));
  }
  if (name.starts_with("fixed") || name.starts_with("ufixed") || name == "function") {
    return make_error(Errc::unsupported, "abi: type '" + std::string(name) + "' is not supported");
  }
  return invalid("unknown type '" + std::string(name) + "'");
}

class TypeParser {
public:
  explicit TypeParser(std::string_view text) : m_text(text) {}

  Result<Type> parse_all() {
    auto t = parse(0);
    if (!t) return t;
    if (m_pos != m_text.size()) return fail("unexpected character");
    return t;
  }

  // Parses "(T1,...,Tn)" and stops after ')'; for Function::parse.
  Result<Type> parse_tuple_at(std::size_t pos) {
    m_pos = pos;
    if (peek() != '(') return fail("expected '('");
    return parse(0);
  }
  std::size_t pos() const { return m_pos; }

private:
  char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }

  Error fail(const std::string& what) const {
    return invalid(what + " at position " + std::to_string(m_pos) + " of type '" + std::string(m_text) + "'");
  }

  Result<Type> parse(std::size_t depth) {
    if (depth >= kMaxTypeDepth) return fail("type nested deeper than " + std::to_string(kMaxTypeDepth));
    std::optional<Type> base;
    if (peek() == '(') {
      ++m_pos;
      std::vector<Type> components;
      if (peek() == ')') {
        ++m_pos;
      } else {
        for (;;) {
          auto c = parse(depth + 1);
          if (!c) return c;
          components.push_back(std::move(*c));
          if (peek() == ',') {
            ++m_pos;
            continue;
          }
          if (peek() == ')') {
            ++m_pos;
            break;
          }
          return fail("expected ',' or ')'");
        }
      }
      auto t = checked(Type::tuple(std::move(components)));
      if (!t) return t;
      base = std::move(*t);
    } else {
      std::size_t start = m_pos;
      while (m_pos < m_text.size() && ((m_text[m_pos] >= 'a' && m_text[m_pos] <= 'z') || is_digit(m_text[m_pos]))) {
        ++m_pos;
      }
      if (start == m_pos) return fail("expected a type");
      auto t = elementary(m_text.substr(start, m_pos - start));
      if (!t) return t;
      base = std::move(*t);
    }
    while (peek() == '[') {
      ++m_pos;
      std::size_t start = m_pos;
      while (is_digit(peek())) ++m_pos;
      if (peek() != ']') return fail("expected ']'");
      std::string_view digits = m_text.substr(start, m_pos - start);
      ++m_pos;
      if (base->head_size() == 0) return fail("arrays of empty tuples are not supported");
      if (digits.empty()) {
        base = Type::array(std::move(*base));
      } else {
        std::size_t length = 0;
        if (!parse_decimal(digits, kMaxStaticSize, length) || length == 0) return fail("bad array length");
        if (!base->is_dynamic() && base->head_size() * length > kMaxStaticSize) return fail("static type too large");
        base = Type::fixed_array(std::move(*base), length);
      }
      if (base->depth() > kMaxTypeDepth) return fail("type nested deeper than " + std::to_string(kMaxTypeDepth));
    }
    return std::move(*base);
  }

  Result<Type> checked(Type t) const {
    if (t.depth() > kMaxTypeDepth) return fail("type nested deeper than " + std::to_string(kMaxTypeDepth));
    if (!t.is_dynamic() && t.head_size() > kMaxStaticSize) return fail("static type too large");
    return t;
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
};

// ---- Words -----------------------------------------------------------------

using Word = std::array<uint8_t, 32>;

void append_word(Bytes& out, const Word& w) {
  out.insert(out.end(), w.begin(), w.end());
}
void append_word(Bytes& out, const U256& v) {
  append_word(out, core::to_word(v));
}

void append_padded(Bytes& out, ByteView data) {
  std::size_t at = out.size();
  std::size_t padded = (data.size() + 31) / 32 * 32;
  out.resize(at + padded, 0);
  if (!data.empty()) std::memcpy(out.data() + at, data.data(), data.size());
}

U256 max_for_bits(unsigned bits) {
  return bits >= 256 ? ~U256(0) : (U256(1) << bits) - 1;
}

// ---- Encoding --------------------------------------------------------------

Result<void> encode_into(const Type& type, const Value& value, Bytes& out, const std::string& path);

template <class TypeOf>
Result<void> encode_sequence(std::size_t n, TypeOf type_of, std::span<const Value> values, Bytes& out,
                             const std::string& path) {
  if (values.size() != n) {
    return invalid(path + ": expected " + std::to_string(n) + " values, got " + std::to_string(values.size()));
  }
  std::size_t head_total = 0;
  for (std::size_t i = 0; i < n; ++i) head_total += type_of(i).head_size();
  Bytes heads;
  heads.reserve(head_total);
  Bytes tails;
  for (std::size_t i = 0; i < n; ++i) {
    const Type& t = type_of(i);
    std::string sub = path + "[" + std::to_string(i) + "]";
    if (t.is_dynamic()) {
      append_word(heads, U256(head_total + tails.size()));
      auto r = encode_into(t, values[i], tails, sub);
      if (!r) return r;
    } else {
      auto r = encode_into(t, values[i], heads, sub);
      if (!r) return r;
    }
  }
  out.insert(out.end(), heads.begin(), heads.end());
  out.insert(out.end(), tails.begin(), tails.end());
  return {};
}

Error mismatch(const std::string& path, const Type& type) {
  return invalid(path + ": value does not match type " + type.canonical());
}

Result<void> encode_into(const Type& type, const Value& value, Bytes& out, const std::string& path) {
  using K = Type::Kind;
  switch (type.kind()) {
  case K::uint: {
    if (value.kind() != Value::Kind::uint) return mismatch(path, type);
    if (value.as_uint() > max_for_bits(type.bits())) return invalid(path + ": value does not fit " + type.canonical());
    append_word(out, value.as_uint());
    return {};
  }
  case K::sint: {
    if (value.kind() != Value::Kind::sint) return mismatch(path, type);
    const I256& v = value.as_sint();
    I256 limit = I256(1) << (type.bits() - 1);
    if (v >= limit || v < -limit) return invalid(path + ": value does not fit " + type.canonical());
    // Two's complement: a negative v is 2^256 + v = ~(|v| - 1).
    U256 word = v >= 0 ? static_cast<U256>(v) : ~static_cast<U256>(-v - 1);
    append_word(out, word);
    return {};
  }
  case K::address: {
    if (value.kind() != Value::Kind::address) return mismatch(path, type);
    Word w{};
    const auto& a = value.as_address().bytes();
    std::copy(a.begin(), a.end(), w.begin() + 12);
    append_word(out, w);
    return {};
  }
  case K::boolean: {
    if (value.kind() != Value::Kind::boolean) return mismatch(path, type);
    append_word(out, U256(value.as_bool() ? 1 : 0));
    return {};
  }
  case K::fixed_bytes: {
    if (value.kind() != Value::Kind::fixed_bytes) return mismatch(path, type);
    if (value.as_bytes().size() != type.byte_size()) {
      return invalid(path + ": " + type.canonical() + " needs exactly " + std::to_string(type.byte_size()) +
                     " bytes, got " + std::to_string(value.as_bytes().size()));
    }
    append_padded(out, value.as_bytes());
    return {};
  }
  case K::bytes:
  case K::string: {
    bool is_string = type.kind() == K::string;
    if (value.kind() != (is_string ? Value::Kind::string : Value::Kind::bytes)) return mismatch(path, type);
    ByteView data = is_string ? as_bytes(value.as_string()) : ByteView(value.as_bytes());
    append_word(out, U256(data.size()));
    append_padded(out, data);
    return {};
  }
  case K::array: {
    if (value.kind() != Value::Kind::list) return mismatch(path, type);
    const auto& items = value.as_list();
    append_word(out, U256(items.size()));
    return encode_sequence(
        items.size(), [&](std::size_t) -> const Type& { return type.element(); }, items, out, path);
  }
  case K::fixed_array: {
    if (value.kind() != Value::Kind::list) return mismatch(path, type);
    return encode_sequence(
        type.length(), [&](std::size_t) -> const Type& { return type.element(); }, value.as_list(), out, path);
  }
  case K::tuple: {
    if (value.kind() != Value::Kind::list) return mismatch(path, type);
    const auto& cs = type.components();
    return encode_sequence(
        cs.size(), [&](std::size_t i) -> const Type& { return cs[i]; }, value.as_list(), out, path);
  }
  }
  return mismatch(path, type);
}

// ---- Decoding --------------------------------------------------------------

class Decoder {
public:
  explicit Decoder(ByteView data) : m_data(data), m_budget(data.size()) {}

  Result<Value> value_at(const Type& type, std::size_t pos) {
    using K = Type::Kind;
    switch (type.kind()) {
    case K::uint:
    case K::sint:
    case K::address:
    case K::boolean:
    case K::fixed_bytes: {
      auto w = word_at(pos, type);
      if (!w) return w.error();
      return clean_value(type, *w, pos);
    }
    case K::bytes:
    case K::string: {
      auto length = length_at(pos, type);
      if (!length) return length.error();
      std::size_t start = pos + 32;
      if (*length > m_data.size() - start) return out_of_bounds(pos, type, "length runs past the end of the data");
      auto charged = charge(*length, pos, type);
      if (!charged) return charged.error();
      ByteView payload = m_data.subspan(start, *length);
      if (type.kind() == K::bytes) return Value::bytes(Bytes(payload.begin(), payload.end()));
      return Value::string(std::string(payload.begin(), payload.end()));
    }
    case K::array: {
      auto length = length_at(pos, type);
      if (!length) return length.error();
      std::size_t start = pos + 32;
      const Type& element = type.element();
      if (element.head_size() == 0) return make_error(Errc::unsupported, "abi: arrays of empty tuples");
      // Each element takes at least its head in the data and charges at least 32.
      if (*length > (m_data.size() - start) / element.head_size()) {
        return out_of_bounds(pos, type, "array length runs past the end of the data");
      }
      if (*length > m_budget / 32) return over_budget(pos, type);
      return sequence_at(
          *length, [&](std::size_t) -> const Type& { return element; }, start);
    }
    case K::fixed_array:
      return sequence_at(
          type.length(), [&](std::size_t) -> const Type& { return type.element(); }, pos);
    case K::tuple: {
      const auto& cs = type.components();
      return sequence_at(
          cs.size(), [&](std::size_t i) -> const Type& { return cs[i]; }, pos);
    }
    }
    return invalid("unreachable type kind");
  }

  // The elements of a tuple-like encoding starting at `base`: heads, then the tails
  // its dynamic members point to (offsets relative to `base`).
  template <class TypeOf>
  Result<Value> sequence_at(std::size_t n, TypeOf type_of, std::size_t base) {
    std::size_t head_total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      head_total += type_of(i).head_size();
      if (head_total > m_data.size()) break; // checked below; keeps the sum bounded
    }
    if (base > m_data.size() || head_total > m_data.size() - base) {
      return invalid("data too short for the heads at byte " + std::to_string(base));
    }
    std::vector<Value> items;
    items.reserve(n);
    std::size_t head = base;
    for (std::size_t i = 0; i < n; ++i) {
      const Type& t = type_of(i);
      if (t.is_dynamic()) {
        auto offset = offset_at(head, base, t);
        if (!offset) return offset.error();
        auto v = value_at(t, base + *offset);
        if (!v) return v;
        items.push_back(std::move(*v));
      } else {
        auto v = value_at(t, head);
        if (!v) return v;
        items.push_back(std::move(*v));
      }
      head += t.head_size();
    }
    return Value::list(std::move(items));
  }

private:
  Error out_of_bounds(std::size_t pos, const Type& type, const std::string& what) const {
    return invalid(type.canonical() + " at byte " + std::to_string(pos) + ": " + what);
  }
  Error over_budget(std::size_t pos, const Type& type) const {
    return make_error(Errc::overflow, "abi: " + type.canonical() + " at byte " + std::to_string(pos) +
                                          ": decodes to more than the data holds (overlapping offsets)");
  }

  Result<void> charge(std::size_t n, std::size_t pos, const Type& type) {
    if (n > m_budget) return over_budget(pos, type);
    m_budget -= n;
    return {};
  }

  Result<Word> word_at(std::size_t pos, const Type& type) {
    if (pos > m_data.size() || m_data.size() - pos < 32) return out_of_bounds(pos, type, "word past the end");
    auto charged = charge(32, pos, type);
    if (!charged) return charged.error();
    Word w{};
    std::memcpy(w.data(), m_data.data() + pos, 32);
    return w;
  }

  // A length or offset word: must fit comfortably in size_t (and so in the data).
  Result<std::size_t> small_at(std::size_t pos, const Type& type, const char* what) {
    if (pos > m_data.size() || m_data.size() - pos < 32) return out_of_bounds(pos, type, "word past the end");
    for (std::size_t i = 0; i < 24; ++i) {
      if (m_data[pos + i] != 0) return out_of_bounds(pos, type, std::string(what) + " larger than the data");
    }
    uint64_t v = 0;
    for (std::size_t i = 24; i < 32; ++i) v = (v << 8) | m_data[pos + i];
    if (v > m_data.size()) return out_of_bounds(pos, type, std::string(what) + " larger than the data");
    return static_cast<std::size_t>(v);
  }

  Result<std::size_t> length_at(std::size_t pos, const Type& type) {
    auto length = small_at(pos, type, "length");
    if (!length) return length;
    auto charged = charge(32, pos, type);
    if (!charged) return charged.error();
    return length;
  }

  Result<std::size_t> offset_at(std::size_t head, std::size_t base, const Type& type) {
    auto offset = small_at(head, type, "offset");
    if (!offset) return offset;
    if (*offset > m_data.size() - base) return out_of_bounds(head, type, "offset points past the end of the data");
    return offset;
  }

  Result<Value> clean_value(const Type& type, const Word& w, std::size_t pos) const {
    using K = Type::Kind;
    auto dirty = [&](const char* what) { return out_of_bounds(pos, type, what); };
    switch (type.kind()) {
    case K::uint: {
      std::size_t zeros = (256 - type.bits()) / 8;
      for (std::size_t i = 0; i < zeros; ++i) {
        if (w[i] != 0) return dirty("high bits set above the type's width");
      }
      return Value::uint(core::from_word(w));
    }
    case K::sint: {
      std::size_t ext = (256 - type.bits()) / 8;
      bool negative = (w[ext] & 0x80) != 0;
      for (std::size_t i = 0; i < ext; ++i) {
        if (w[i] != (negative ? 0xff : 0x00)) return dirty("not sign-extended");
      }
      U256 u = core::from_word(w);
      if (!negative) return Value::sint(static_cast<I256>(u));
      U256 magnitude = ~u + 1; // 2^256 - u; 2^255 for the least int256
      return Value::sint(-static_cast<I256>(magnitude));
    }
    case K::address: {
      for (std::size_t i = 0; i < 12; ++i) {
        if (w[i] != 0) return dirty("high bytes of an address set");
      }
      FixedBytes<20> a{};
      std::copy(w.begin() + 12, w.end(), a.begin());
      return Value::address(core::Address(a));
    }
    case K::boolean: {
      for (std::size_t i = 0; i < 31; ++i) {
        if (w[i] != 0) return dirty("bool other than 0 or 1");
      }
      if (w[31] > 1) return dirty("bool other than 0 or 1");
      return Value::boolean(w[31] == 1);
    }
    case K::fixed_bytes: {
      for (std::size_t i = type.byte_size(); i < 32; ++i) {
        if (w[i] != 0) return dirty("padding of a bytesN not zero");
      }
      return Value::fixed_bytes(ByteView(w.data(), type.byte_size()));
    }
    default:
      return invalid("unreachable elementary kind");
    }
  }

  ByteView m_data;
  std::size_t m_budget; // bytes of output (words and payloads) still allowed
};

std::string printable(std::string_view s, std::size_t max = 256) {
  std::string out;
  for (char c : s.substr(0, std::min(s.size(), max))) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string display(const Value& v) {
  switch (v.kind()) {
  case Value::Kind::uint:
    return v.as_uint().str();
  case Value::Kind::sint:
    return v.as_sint().str();
  case Value::Kind::address:
    return v.as_address().to_checksum_hex();
  case Value::Kind::boolean:
    return v.as_bool() ? "true" : "false";
  case Value::Kind::fixed_bytes:
  case Value::Kind::bytes:
    return core::to_hex(v.as_bytes());
  case Value::Kind::string:
    return "\"" + printable(v.as_string()) + "\"";
  case Value::Kind::list: {
    std::string out = "[";
    const auto& items = v.as_list();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += ", ";
      out += display(items[i]);
    }
    return out + "]";
  }
  }
  return "?";
}

static_assert(sizeof(Value) <= 96, "abi.h promises at most 96 bytes per decoded Value");

} // namespace

// ---- Type --------------------------------------------------------------------

Type::Type(Kind kind, unsigned size, std::size_t length, std::vector<Type> components)
    : m_kind(kind), m_size(size), m_length(length), m_components(std::move(components)) {
  switch (kind) {
  case Kind::bytes:
  case Kind::string:
    m_dynamic = true;
    break;
  case Kind::array:
    m_dynamic = true;
    m_depth = element().depth() + 1;
    break;
  case Kind::fixed_array:
    m_dynamic = element().is_dynamic();
    m_head_size = m_dynamic ? 32 : element().head_size() * length;
    m_depth = element().depth() + 1;
    break;
  case Kind::tuple: {
    std::size_t sum = 0;
    std::size_t deepest = 0;
    for (const auto& c : m_components) {
      m_dynamic = m_dynamic || c.is_dynamic();
      sum += c.head_size();
      deepest = std::max(deepest, c.depth());
    }
    m_head_size = m_dynamic ? 32 : sum;
    m_depth = deepest + 1;
    break;
  }
  default:
    break;
  }
}

Result<Type> Type::parse(std::string_view text) {
  return TypeParser(text).parse_all();
}

Type Type::uint(unsigned bits) {
  assert(bits >= 8 && bits <= 256 && bits % 8 == 0);
  return Type(Kind::uint, bits, 0, {});
}
Type Type::sint(unsigned bits) {
  assert(bits >= 8 && bits <= 256 && bits % 8 == 0);
  return Type(Kind::sint, bits, 0, {});
}
Type Type::address() {
  return Type(Kind::address, 0, 0, {});
}
Type Type::boolean() {
  return Type(Kind::boolean, 0, 0, {});
}
Type Type::fixed_bytes(unsigned size) {
  assert(size >= 1 && size <= 32);
  return Type(Kind::fixed_bytes, size, 0, {});
}
Type Type::bytes() {
  return Type(Kind::bytes, 0, 0, {});
}
Type Type::string() {
  return Type(Kind::string, 0, 0, {});
}
Type Type::array(Type element) {
  std::vector<Type> c;
  c.push_back(std::move(element));
  return Type(Kind::array, 0, 0, std::move(c));
}
Type Type::fixed_array(Type element, std::size_t length) {
  assert(length >= 1 && (element.is_dynamic() || element.head_size() * length <= kMaxStaticSize));
  std::vector<Type> c;
  c.push_back(std::move(element));
  return Type(Kind::fixed_array, 0, length, std::move(c));
}
Type Type::tuple(std::vector<Type> components) {
  return Type(Kind::tuple, 0, 0, std::move(components));
}

std::string Type::canonical() const {
  switch (m_kind) {
  case Kind::uint:
    return "uint" + std::to_string(m_size);
  case Kind::sint:
    return "int" + std::to_string(m_size);
  case Kind::address:
    return "address";
  case Kind::boolean:
    return "bool";
  case Kind::fixed_bytes:
    return "bytes" + std::to_string(m_size);
  case Kind::bytes:
    return "bytes";
  case Kind::string:
    return "string";
  case Kind::array:
    return element().canonical() + "[]";
  case Kind::fixed_array:
    return element().canonical() + "[" + std::to_string(m_length) + "]";
  case Kind::tuple:
    return "(" + join_canonical(m_components) + ")";
  }
  return "?";
}

// ---- Value -------------------------------------------------------------------

Value Value::uint(U256 v) {
  Value out;
  out.m_kind = Kind::uint;
  out.m_v = std::move(v);
  return out;
}
Value Value::sint(I256 v) {
  Value out;
  out.m_kind = Kind::sint;
  out.m_v = std::move(v);
  return out;
}
Value Value::address(const core::Address& a) {
  Value out;
  out.m_kind = Kind::address;
  out.m_v = a;
  return out;
}
Value Value::boolean(bool b) {
  Value out;
  out.m_kind = Kind::boolean;
  out.m_v = b;
  return out;
}
Value Value::fixed_bytes(ByteView b) {
  Value out;
  out.m_kind = Kind::fixed_bytes;
  out.m_v = Bytes(b.begin(), b.end());
  return out;
}
Value Value::bytes(Bytes b) {
  Value out;
  out.m_kind = Kind::bytes;
  out.m_v = std::move(b);
  return out;
}
Value Value::string(std::string s) {
  Value out;
  out.m_kind = Kind::string;
  out.m_v = std::move(s);
  return out;
}
Value Value::list(std::vector<Value> items) {
  Value out;
  out.m_kind = Kind::list;
  out.m_v = std::move(items);
  return out;
}

const U256& Value::as_uint() const {
  assert(m_kind == Kind::uint);
  return std::get<U256>(m_v);
}
const I256& Value::as_sint() const {
  assert(m_kind == Kind::sint);
  return std::get<I256>(m_v);
}
const core::Address& Value::as_address() const {
  assert(m_kind == Kind::address);
  return std::get<core::Address>(m_v);
}
bool Value::as_bool() const {
  assert(m_kind == Kind::boolean);
  return std::get<bool>(m_v);
}
const Bytes& Value::as_bytes() const {
  assert(m_kind == Kind::fixed_bytes || m_kind == Kind::bytes);
  return std::get<Bytes>(m_v);
}
const std::string& Value::as_string() const {
  assert(m_kind == Kind::string);
  return std::get<std::string>(m_v);
}
const std::vector<Value>& Value::as_list() const {
  assert(m_kind == Kind::list);
  return std::get<std::vector<Value>>(m_v);
}
Hash256 Value::as_word() const {
  const Bytes& b = as_bytes();
  assert(b.size() <= 32);
  Hash256 out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

// ---- Encoding and decoding ---------------------------------------------------

Result<Bytes> encode(const Type& type, const Value& value) {
  return encode(std::span<const Type>(&type, 1), std::span<const Value>(&value, 1));
}

Result<Bytes> encode(std::span<const Type> types, std::span<const Value> values) {
  Bytes out;
  auto r = encode_sequence(
      types.size(), [&](std::size_t i) -> const Type& { return types[i]; }, values, out, "args");
  if (!r) return r.error();
  return out;
}

Result<Value> decode(const Type& type, ByteView data) {
  auto values = decode(std::span<const Type>(&type, 1), data);
  if (!values) return values.error();
  return std::move(values->front());
}

Result<std::vector<Value>> decode(std::span<const Type> types, ByteView data) {
  Decoder d(data);
  auto list = d.sequence_at(
      types.size(), [&](std::size_t i) -> const Type& { return types[i]; }, 0);
  if (!list) return list.error();
  return list->as_list();
}

// ---- Functions, events, errors -------------------------------------------------

Hash256 signature_hash(std::string_view canonical_signature) {
  return core::keccak256(as_bytes(canonical_signature));
}

Result<Function> Function::parse(std::string_view signature) {
  std::size_t i = 0;
  auto ident_start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; };
  while (i < signature.size() && (ident_start(signature[i]) || is_digit(signature[i]))) ++i;
  if (i == 0 || !ident_start(signature[0])) {
    return invalid("signature '" + std::string(signature) + "' must start with a name");
  }
  TypeParser parser(signature);
  auto tuple = parser.parse_tuple_at(i);
  if (!tuple) return tuple.error();
  if (parser.pos() != signature.size()) return invalid("trailing text in signature '" + std::string(signature) + "'");
  Function f;
  f.name = std::string(signature.substr(0, i));
  f.inputs = tuple->components();
  f.signature = f.name + tuple->canonical();
  Hash256 h = signature_hash(f.signature);
  std::copy(h.begin(), h.begin() + 4, f.selector.begin());
  return f;
}

Result<Bytes> Function::encode_call(std::span<const Value> args) const {
  auto body = encode(inputs, args);
  if (!body) return body;
  Bytes out(selector.begin(), selector.end());
  out.insert(out.end(), body->begin(), body->end());
  return out;
}

Result<std::vector<Value>> Function::decode_call(ByteView calldata) const {
  if (calldata.size() < 4 || !std::equal(selector.begin(), selector.end(), calldata.begin())) {
    return invalid("call data does not start with the selector of " + signature);
  }
  return decode(inputs, calldata.subspan(4));
}

Result<Hash256> event_topic(std::string_view event_signature) {
  auto f = Function::parse(event_signature);
  if (!f) return f.error();
  return signature_hash(f->signature);
}

Result<Hash256> indexed_topic(const Type& type, const Value& value) {
  using K = Type::Kind;
  switch (type.kind()) {
  case K::bytes:
    if (value.kind() != Value::Kind::bytes) return mismatch("topic", type);
    return core::keccak256(value.as_bytes());
  case K::string:
    if (value.kind() != Value::Kind::string) return mismatch("topic", type);
    return core::keccak256(as_bytes(value.as_string()));
  case K::array:
  case K::fixed_array:
  case K::tuple:
    return make_error(Errc::unsupported, "abi: indexed " + type.canonical() + " topics are not supported");
  default: {
    auto word = encode(type, value);
    if (!word) return word.error();
    Hash256 out{};
    std::copy(word->begin(), word->end(), out.begin());
    return out;
  }
  }
}

Result<Revert> decode_revert(ByteView data, std::span<const Function> custom_errors) {
  Revert r;
  r.data.assign(data.begin(), data.end());
  if (data.empty()) return r;
  if (data.size() < 4) {
    r.kind = Revert::Kind::unknown;
    return r;
  }
  std::copy(data.begin(), data.begin() + 4, r.selector.begin());
  ByteView body = data.subspan(4);
  if (r.selector == kErrorSelector) {
    auto v = decode(Type::string(), body);
    if (!v) return make_error(v.error().code, "revert Error(string): " + v.error().message);
    r.kind = Revert::Kind::error_string;
    r.reason = v->as_string();
    return r;
  }
  if (r.selector == kPanicSelector) {
    auto v = decode(Type::uint(256), body);
    if (!v) return make_error(v.error().code, "revert Panic(uint256): " + v.error().message);
    r.kind = Revert::Kind::panic;
    r.panic_code = v->as_uint();
    return r;
  }
  for (const auto& e : custom_errors) {
    if (e.selector != r.selector) continue;
    auto args = decode(e.inputs, body);
    if (!args) return make_error(args.error().code, "revert " + e.signature + ": " + args.error().message);
    r.kind = Revert::Kind::custom;
    r.error_signature = e.signature;
    r.arguments = std::move(*args);
    return r;
  }
  r.kind = Revert::Kind::unknown;
  return r;
}

std::string panic_description(const U256& code) {
  if (code > 0xff) return "unknown panic code";
  switch (static_cast<unsigned>(code)) {
  case 0x00:
    return "generic compiler panic";
  case 0x01:
    return "assertion failed";
  case 0x11:
    return "arithmetic overflow or underflow";
  case 0x12:
    return "division or modulo by zero";
  case 0x21:
    return "value out of range for an enum";
  case 0x22:
    return "incorrectly encoded storage byte array";
  case 0x31:
    return "pop() on an empty array";
  case 0x32:
    return "array index out of bounds";
  case 0x41:
    return "too much memory allocated";
  case 0x51:
    return "call to a zero-initialised internal function";
  default:
    return "unknown panic code";
  }
}

std::string describe(const Revert& revert) {
  switch (revert.kind) {
  case Revert::Kind::empty:
    return "reverted without a reason";
  case Revert::Kind::error_string:
    return "reverted: " + printable(revert.reason);
  case Revert::Kind::panic: {
    auto word = core::to_word(revert.panic_code);
    std::size_t first = 0;
    while (first < 31 && word[first] == 0) ++first;
    return "panic " + core::to_hex(ByteView(word).subspan(first)) + " (" + panic_description(revert.panic_code) + ")";
  }
  case Revert::Kind::custom: {
    std::string name = revert.error_signature.substr(0, revert.error_signature.find('('));
    std::string out = name + "(";
    for (std::size_t i = 0; i < revert.arguments.size(); ++i) {
      if (i) out += ", ";
      out += display(revert.arguments[i]);
    }
    return out + ")";
  }
  case Revert::Kind::unknown:
    return "reverted with unknown error " + core::to_hex(revert.selector) + " (" + std::to_string(revert.data.size()) +
           " bytes)";
  }
  return "reverted";
}

} // namespace openstreaming::ledger::evm::abi
