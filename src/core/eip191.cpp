#include "core/eip191.h"

#include "core/keccak.h"

#include <string>

namespace openstreaming::core {

Hash256 personal_message_hash(ByteView message) {
  std::string prefix = "\x19" "Ethereum Signed Message:\n" + std::to_string(message.size());
  return Keccak256().update(as_bytes(prefix)).update(message).finalize();
}

RecoverableSignature sign_personal_message(const PrivateKey& key, ByteView message) {
  return sign_hash(key, personal_message_hash(message));
}

Result<Address> recover_personal_signer(ByteView message, const RecoverableSignature& signature) {
  auto pk = recover_public_key(personal_message_hash(message), signature);
  if (!pk) return pk.error();
  return pk->address();
}

bool verify_personal_message(const Address& signer, ByteView message, const RecoverableSignature& signature) {
  auto recovered = recover_personal_signer(message, signature);
  return recovered && *recovered == signer;
}

} // namespace openstreaming::core
