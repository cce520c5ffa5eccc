#include "core/keystore.h"

#include "core/hex.h"
#include "core/hash.h"
#include "core/keccak.h"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium/crypto_pwhash_scryptsalsa208sha256.h>

#include <cstring>
#include <memory>

namespace openstreaming::core::keystore {

using nlohmann::json;

namespace {

// Bounds on attacker-controlled KDF parameters (see header).
constexpr uint64_t kMaxScryptN = uint64_t{1} << 20;
constexpr uint64_t kMaxScryptMemory = uint64_t{1} << 30; // 128 * n * r bytes
constexpr uint64_t kMaxScryptRP = 1 << 10;

Error corrupt(const std::string& what) { return make_error(Errc::corrupt_keystore, "keystore: " + what); }

struct SecureBytes {
  Bytes data;
  explicit SecureBytes(std::size_t n) : data(n) {}
  ~SecureBytes() { OPENSSL_cleanse(data.data(), data.size()); }
};

Result<Bytes> hex_field(const json& obj, const char* name) {
  if (!obj.contains(name) || !obj[name].is_string()) return corrupt(std::string("missing or non-string '") + name + "'");
  auto b = from_hex(obj[name].get<std::string>());
  if (!b) return corrupt(std::string("'") + name + "' is not hex: " + b.error().message);
  return b;
}

Result<uint64_t> uint_field(const json& obj, const char* name) {
  if (!obj.contains(name) || !obj[name].is_number_unsigned()) {
    return corrupt(std::string("kdfparams.") + name + " must be a positive integer");
  }
  return obj[name].get<uint64_t>();
}

bool aes_128_ctr(const uint8_t* key16, ByteView iv, ByteView in, uint8_t* out) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  int final_len = 0;
  return ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ctr(), nullptr, key16, iv.data()) == 1 &&
         EVP_EncryptUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) == 1 &&
         EVP_EncryptFinal_ex(ctx.get(), out + len, &final_len) == 1;
}

// scrypt comes from libsodium, not OpenSSL: OpenSSL enforces RFC 7914's
// N < 2^(16r), which rejects keystores that geth and other wallets write and
// read (the specification's own test vector has n = 2^18 with r = 1).
// Without sodium_init() libsodium uses its portable implementation: no I/O.
bool scrypt(std::string_view password, ByteView salt, uint64_t n, uint64_t r, uint64_t p, Bytes& out) {
  return crypto_pwhash_scryptsalsa208sha256_ll(reinterpret_cast<const uint8_t*>(password.data()), password.size(),
                                               salt.data(), salt.size(), n, static_cast<uint32_t>(r),
                                               static_cast<uint32_t>(p), out.data(), out.size()) == 0;
}

std::string uuid_v4(RandomSource& random) {
  auto b = random.bytes<16>();
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  std::string h = to_hex(b, false);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

Result<json> parse_json(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return corrupt("not valid JSON (truncated or damaged file?)");
  if (!j.is_object()) return corrupt("top level is not a JSON object");
  return j;
}

} // namespace

std::string encrypt(const PrivateKey& key, std::string_view password, RandomSource& random,
                    const ScryptParams& params) {
  auto salt = random.bytes<32>();
  auto iv = random.bytes<16>();
  SecureBytes dk(32);
  bool ok = scrypt(password, salt, params.n, params.r, params.p, dk.data);
  assert(ok && "scrypt parameters are ours and valid");
  (void)ok;
  FixedBytes<32> ciphertext{};
  ok = aes_128_ctr(dk.data.data(), iv, key.secret(), ciphertext.data());
  assert(ok);
  Hash256 mac = Keccak256().update(ByteView(dk.data.data() + 16, 16)).update(ciphertext).finalize();

  json j = {
      {"version", 3},
      {"id", uuid_v4(random)},
      {"address", to_hex(key.address().bytes(), false)},
      {"crypto",
       {{"cipher", "aes-128-ctr"},
        {"cipherparams", {{"iv", to_hex(iv, false)}}},
        {"ciphertext", to_hex(ciphertext, false)},
        {"kdf", "scrypt"},
        {"kdfparams", {{"dklen", 32}, {"n", params.n}, {"r", params.r}, {"p", params.p}, {"salt", to_hex(salt, false)}}},
        {"mac", to_hex(mac, false)}}},
  };
  return j.dump(2) + "\n";
}

Result<PrivateKey> decrypt(std::string_view json_text, std::string_view password, const DecryptLimits& limits) {
  auto parsed = parse_json(json_text);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  if (!j.contains("version") || !j["version"].is_number_integer()) return corrupt("missing 'version'");
  if (j["version"].get<int64_t>() != 3) {
    return make_error(Errc::unsupported, "keystore: version " + std::to_string(j["version"].get<int64_t>()) +
                                             " is not supported (only Web3 Secret Storage v3)");
  }
  const char* crypto_key = j.contains("crypto") ? "crypto" : "Crypto"; // both spellings exist in the wild
  if (!j.contains(crypto_key) || !j[crypto_key].is_object()) return corrupt("missing 'crypto' object");
  const json& c = j[crypto_key];

  if (!c.contains("cipher") || c["cipher"] != "aes-128-ctr") {
    return make_error(Errc::unsupported, "keystore: only cipher aes-128-ctr is supported");
  }
  if (!c.contains("cipherparams") || !c["cipherparams"].is_object()) return corrupt("missing 'cipherparams'");
  auto iv = hex_field(c["cipherparams"], "iv");
  if (!iv) return iv.error();
  if (iv->size() != 16) return corrupt("iv must be 16 bytes");
  auto ciphertext = hex_field(c, "ciphertext");
  if (!ciphertext) return ciphertext.error();
  if (ciphertext->empty() || ciphertext->size() > 32) return corrupt("ciphertext must be 1..32 bytes");
  auto mac = hex_field(c, "mac");
  if (!mac) return mac.error();
  if (mac->size() != 32) return corrupt("mac must be 32 bytes");
  if (!c.contains("kdfparams") || !c["kdfparams"].is_object()) return corrupt("missing 'kdfparams'");
  const json& kp = c["kdfparams"];
  auto salt = hex_field(kp, "salt");
  if (!salt) return salt.error();
  if (salt->size() > 1024) return corrupt("salt longer than 1024 bytes");
  auto dklen = uint_field(kp, "dklen");
  if (!dklen) return dklen.error();
  if (*dklen < 32 || *dklen > 64) return corrupt("dklen must be between 32 and 64");

  SecureBytes dk(*dklen);
  std::string kdf = c.contains("kdf") && c["kdf"].is_string() ? c["kdf"].get<std::string>() : "";
  if (kdf == "scrypt") {
    auto n = uint_field(kp, "n");
    auto r = uint_field(kp, "r");
    auto p = uint_field(kp, "p");
    if (!n) return n.error();
    if (!r) return r.error();
    if (!p) return p.error();
    if (*n < 2 || (*n & (*n - 1)) != 0 || *n > kMaxScryptN) return corrupt("scrypt n must be a power of two <= 2^20");
    if (*r == 0 || *p == 0 || *r > kMaxScryptRP || *p > kMaxScryptRP) return corrupt("scrypt r and p must be 1..1024");
    if (128 * *n * *r > kMaxScryptMemory) return corrupt("scrypt parameters need more than 1 GiB of memory");
    if (128 * *n * *r * *p > limits.max_scrypt_work) return corrupt("scrypt parameters need too much work (n*r*p too large)");
    if (!scrypt(password, *salt, *n, *r, *p, dk.data)) return corrupt("scrypt failed with these parameters");
  } else if (kdf == "pbkdf2") {
    auto iterations = uint_field(kp, "c");
    if (!iterations) return iterations.error();
    if (*iterations == 0 || *iterations > limits.max_pbkdf2_iterations) {
      return corrupt("pbkdf2 c must be between 1 and " + std::to_string(limits.max_pbkdf2_iterations));
    }
    if (!kp.contains("prf") || kp["prf"] != "hmac-sha256") {
      return make_error(Errc::unsupported, "keystore: only pbkdf2 prf hmac-sha256 is supported");
    }
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt->data(),
                          static_cast<int>(salt->size()), static_cast<int>(*iterations), EVP_sha256(),
                          static_cast<int>(dk.data.size()), dk.data.data()) != 1) {
      return corrupt("pbkdf2 failed");
    }
  } else {
    return make_error(Errc::unsupported, "keystore: kdf '" + kdf + "' is not supported (scrypt, pbkdf2)");
  }

  Hash256 expected = Keccak256().update(ByteView(dk.data.data() + 16, 16)).update(*ciphertext).finalize();
  if (!constant_time_equal(expected, *mac)) {
    return make_error(Errc::wrong_password, "keystore: wrong password (MAC mismatch; or the file is corrupted)");
  }
  FixedBytes<32> secret{};
  const std::size_t pad = 32 - ciphertext->size(); // left-pad short legacy keys
  if (!aes_128_ctr(dk.data.data(), *iv, *ciphertext, secret.data() + pad)) return corrupt("decryption failed");
  auto key = PrivateKey::from_bytes(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!key) return corrupt("decrypted key is invalid: " + key.error().message);
  if (auto stated = stated_address(json_text); stated && *stated != key->address()) {
    return corrupt("the 'address' field does not match the decrypted key");
  }
  return key;
}

Result<Address> stated_address(std::string_view json_text) {
  auto parsed = parse_json(json_text);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  if (!j.contains("address") || !j["address"].is_string()) return make_error(Errc::not_found, "keystore has no address field");
  std::string a = j["address"].get<std::string>();
  if (a.rfind("0x", 0) != 0 && a.rfind("0X", 0) != 0) a = "0x" + a;
  auto addr = Address::parse(a);
  if (!addr) return corrupt("'address' field: " + addr.error().message);
  return addr;
}

} // namespace openstreaming::core::keystore
