#include "core/eip712.h"

#include "core/hex.h"
#include "core/keccak.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>

namespace openstreaming::core::eip712 {

using nlohmann::json;
namespace bmp = boost::multiprecision;

namespace {

Error invalid(const std::string& what) { return make_error(Errc::invalid_input, "EIP-712: " + what); }

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; });
}

// "Person[2][]" -> "Person"
std::string base_type(const std::string& type) {
  auto pos = type.find('[');
  return pos == std::string::npos ? type : type.substr(0, pos);
}

// Appends to `out` every struct type reachable from `type` (including itself).
Result<void> collect_deps(const json& types, const std::string& type, std::set<std::string>& out, int depth) {
  if (depth > 64) return invalid("type nesting deeper than 64 (recursive type?)");
  if (out.count(type)) return {};
  if (!types.contains(type)) return {};
  const json& fields = types.at(type);
  if (!fields.is_array()) return invalid("type '" + type + "' must be an array of {name, type}");
  out.insert(type);
  for (const json& f : fields) {
    if (!f.is_object() || !f.contains("name") || !f.contains("type") || !f["name"].is_string() || !f["type"].is_string()) {
      return invalid("a field of type '" + type + "' lacks a string name or type");
    }
    auto r = collect_deps(types, base_type(f["type"].get<std::string>()), out, depth + 1);
    if (!r) return r;
  }
  return {};
}

Result<bmp::cpp_int> parse_integer(const json& v, const std::string& field) {
  if (v.is_number_unsigned()) return bmp::cpp_int(v.get<uint64_t>());
  if (v.is_number_integer()) return bmp::cpp_int(v.get<int64_t>());
  if (v.is_boolean()) return bmp::cpp_int(v.get<bool>() ? 1 : 0);
  if (!v.is_string()) return invalid("field '" + field + "' must be an integer or a decimal/0x string");
  std::string s = v.get<std::string>();
  bool negative = !s.empty() && s[0] == '-';
  std::string_view digits(s);
  if (negative) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 80) return invalid("field '" + field + "' is not a valid integer");
  bmp::cpp_int value = 0;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    auto bytes = from_hex(digits.size() % 2 ? "0" + std::string(digits.substr(2)) : std::string(digits));
    if (!bytes) return invalid("field '" + field + "': " + bytes.error().message);
    for (uint8_t b : *bytes) value = (value << 8) | b;
  } else {
    for (char c : digits) {
      if (c < '0' || c > '9') return invalid("field '" + field + "' is not a valid integer");
      value = value * 10 + (c - '0');
    }
  }
  return negative ? bmp::cpp_int(-value) : value;
}

Result<Bytes> parse_bytes(const json& v, const std::string& field) {
  if (!v.is_string()) return invalid("field '" + field + "' must be a 0x hex string");
  auto b = from_hex(v.get<std::string>());
  if (!b) return invalid("field '" + field + "': " + b.error().message);
  return b;
}

Result<Hash256> encode_value(const json& types, const std::string& type, const json& value, const std::string& field,
                             int depth);
Result<Hash256> hash_struct_at(const json& types, const std::string& type, const json& value, int depth);

Result<Hash256> encode_array(const json& types, const std::string& type, const json& value, const std::string& field,
                             int depth) {
  // type is "T[]" or "T[N]"; strip the last dimension.
  auto open = type.rfind('[');
  std::string inner = type.substr(0, open);
  std::string dim = type.substr(open + 1, type.size() - open - 2);
  if (!value.is_array()) return invalid("field '" + field + "' must be an array");
  if (!dim.empty()) {
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(dim.data(), dim.data() + dim.size(), n);
    if (ec != std::errc() || p != dim.data() + dim.size()) return invalid("bad array length in type '" + type + "'");
    if (value.size() != n) return invalid("field '" + field + "' must have exactly " + dim + " elements");
  }
  Keccak256 h;
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto w = encode_value(types, inner, value[i], field + "[" + std::to_string(i) + "]", depth + 1);
    if (!w) return w;
    h.update(*w);
  }
  return h.finalize();
}

Result<Hash256> encode_value(const json& types, const std::string& type, const json& value, const std::string& field,
                             int depth) {
  if (depth > 64) return invalid("value nesting deeper than 64");
  if (!type.empty() && type.back() == ']') return encode_array(types, type, value, field, depth);
  if (types.contains(type)) return hash_struct_at(types, type, value, depth + 1);
  if (type == "string") {
    if (!value.is_string()) return invalid("field '" + field + "' must be a string");
    return keccak256(as_bytes(value.get_ref<const std::string&>()));
  }
  if (type == "bytes") {
    auto b = parse_bytes(value, field);
    if (!b) return b.error();
    return keccak256(*b);
  }
  if (type == "bool") {
    if (value.is_boolean()) return word(value.get<bool>());
    auto i = parse_integer(value, field);
    if (!i || (*i != 0 && *i != 1)) return invalid("field '" + field + "' must be a boolean");
    return word(*i == 1);
  }
  if (type == "address") {
    if (!value.is_string()) return invalid("field '" + field + "' must be an address string");
    auto a = Address::parse(value.get<std::string>());
    if (!a) return invalid("field '" + field + "': " + a.error().message);
    return word(*a);
  }
  if (type.rfind("bytes", 0) == 0) {
    int n = 0;
    auto [p, ec] = std::from_chars(type.data() + 5, type.data() + type.size(), n);
    if (ec != std::errc() || p != type.data() + type.size() || n < 1 || n > 32) return invalid("unknown type '" + type + "'");
    auto b = parse_bytes(value, field);
    if (!b) return b.error();
    if (b->size() != static_cast<std::size_t>(n)) return invalid("field '" + field + "' must be exactly " + std::to_string(n) + " bytes");
    Hash256 out{};
    std::memcpy(out.data(), b->data(), b->size());
    return out;
  }
  bool is_uint = type.rfind("uint", 0) == 0;
  bool is_int = !is_uint && type.rfind("int", 0) == 0;
  if (is_uint || is_int) {
    std::string bits_text = type.substr(is_uint ? 4 : 3);
    int bits = 256;
    if (!bits_text.empty()) {
      auto [p, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
      if (ec != std::errc() || p != bits_text.data() + bits_text.size() || bits < 8 || bits > 256 || bits % 8) {
        return invalid("unknown type '" + type + "'");
      }
    }
    auto v = parse_integer(value, field);
    if (!v) return v.error();
    bmp::cpp_int lo = is_uint ? bmp::cpp_int(0) : -(bmp::cpp_int(1) << (bits - 1));
    bmp::cpp_int hi = is_uint ? (bmp::cpp_int(1) << bits) - 1 : (bmp::cpp_int(1) << (bits - 1)) - 1;
    if (*v < lo || *v > hi) return invalid("field '" + field + "' is out of range for " + type);
    bmp::cpp_int twos = *v < 0 ? (bmp::cpp_int(1) << 256) + *v : *v; // sign-extend to 256 bits
    return word(U256(twos));
  }
  return invalid("unknown type '" + type + "' for field '" + field + "'");
}

json derived_domain_type(const json& domain) {
  static const std::pair<const char*, const char*> kFields[] = {
      {"name", "string"}, {"version", "string"}, {"chainId", "uint256"}, {"verifyingContract", "address"}, {"salt", "bytes32"}};
  json fields = json::array();
  for (auto& [name, type] : kFields) {
    if (domain.contains(name)) fields.push_back({{"name", name}, {"type", type}});
  }
  return fields;
}

} // namespace

Result<TypedData> parse_typed_data(const json& j) {
  if (!j.is_object()) return invalid("typed data must be a JSON object");
  for (const char* key : {"types", "primaryType", "domain", "message"}) {
    if (!j.contains(key)) return invalid(std::string("typed data lacks '") + key + "'");
  }
  if (!j["types"].is_object()) return invalid("'types' must be an object");
  if (!j["primaryType"].is_string()) return invalid("'primaryType' must be a string");
  if (!j["domain"].is_object() || !j["message"].is_object()) return invalid("'domain' and 'message' must be objects");
  TypedData td{j["types"], j["primaryType"].get<std::string>(), j["domain"], j["message"]};
  if (!td.types.contains(td.primary_type)) return invalid("primaryType '" + td.primary_type + "' is not in types");
  return td;
}

Result<std::string> encode_type(const json& types, const std::string& type) {
  if (!types.is_object() || !types.contains(type)) return invalid("unknown struct type '" + type + "'");
  if (!is_identifier(type)) return invalid("bad struct type name '" + type + "'");
  std::set<std::string> deps;
  auto r = collect_deps(types, type, deps, 0);
  if (!r) return r.error();
  deps.erase(type);
  std::string out;
  auto append = [&](const std::string& name) {
    out += name + "(";
    bool first = true;
    for (const json& f : types.at(name)) {
      if (!first) out += ",";
      first = false;
      out += f["type"].get<std::string>() + " " + f["name"].get<std::string>();
    }
    out += ")";
  };
  append(type);
  for (const auto& d : deps) append(d); // std::set is sorted by name, as EIP-712 requires
  return out;
}

Result<Hash256> type_hash(const json& types, const std::string& type) {
  auto enc = encode_type(types, type);
  if (!enc) return enc.error();
  return keccak256(as_bytes(*enc));
}

Result<Hash256> hash_struct(const json& types, const std::string& type, const json& value) {
  return hash_struct_at(types, type, value, 0);
}

namespace {
Result<Hash256> hash_struct_at(const json& types, const std::string& type, const json& value, int depth) {
  auto th = type_hash(types, type);
  if (!th) return th;
  if (!value.is_object()) return invalid("value of struct '" + type + "' must be an object");
  Keccak256 h;
  h.update(*th);
  for (const json& f : types.at(type)) {
    const std::string& name = f["name"].get_ref<const std::string&>();
    const std::string& ftype = f["type"].get_ref<const std::string&>();
    if (!value.contains(name)) return invalid("struct '" + type + "' value lacks field '" + name + "'");
    auto w = encode_value(types, ftype, value.at(name), name, depth);
    if (!w) return w;
    h.update(*w);
  }
  return h.finalize();
}
} // namespace

Result<Hash256> domain_separator(const TypedData& data) {
  if (data.types.contains("EIP712Domain")) return hash_struct(data.types, "EIP712Domain", data.domain);
  json types = data.types;
  types["EIP712Domain"] = derived_domain_type(data.domain);
  return hash_struct(types, "EIP712Domain", data.domain);
}

Result<Hash256> signing_hash(const TypedData& data) {
  auto ds = domain_separator(data);
  if (!ds) return ds;
  auto sh = hash_struct(data.types, data.primary_type, data.message);
  if (!sh) return sh;
  return digest(*ds, *sh);
}

Hash256 digest(const Hash256& domain_separator, const Hash256& struct_hash) {
  static const uint8_t kPrefix[2] = {0x19, 0x01};
  return Keccak256().update(kPrefix).update(domain_separator).update(struct_hash).finalize();
}

Hash256 word(const U256& v) { return to_word(v); }

Hash256 word(const Address& a) {
  Hash256 out{};
  std::memcpy(out.data() + 12, a.bytes().data(), 20);
  return out;
}

Hash256 word(bool b) {
  Hash256 out{};
  out[31] = b ? 1 : 0;
  return out;
}

Hash256 domain_separator(std::string_view name, std::string_view version, const U256& chain_id,
                         const Address& verifying_contract) {
  static const Hash256 kTypeHash = keccak256(
      as_bytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
  return Keccak256()
      .update(kTypeHash)
      .update(keccak256(as_bytes(name)))
      .update(keccak256(as_bytes(version)))
      .update(word(chain_id))
      .update(word(verifying_contract))
      .finalize();
}

} // namespace openstreaming::core::eip712
