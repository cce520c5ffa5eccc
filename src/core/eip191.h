// EIP-191 version 0x45 "personal_sign" messages:
//   keccak256("\x19Ethereum Signed Message:\n" ‖ decimal(len(message)) ‖ message)
#pragma once

#include "core/address.h"
#include "core/secp256k1.h"

namespace openstreaming::core {

Hash256 personal_message_hash(ByteView message);
RecoverableSignature sign_personal_message(const PrivateKey& key, ByteView message);
Result<Address> recover_personal_signer(ByteView message, const RecoverableSignature& signature);
bool verify_personal_message(const Address& signer, ByteView message, const RecoverableSignature& signature);

} // namespace openstreaming::core
