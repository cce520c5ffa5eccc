// Probabilistic micropayment tickets (docs/payments.md).
//
// A ticket is the EIP-712 struct, exactly:
//   Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,
//          uint256 senderNonce,bytes32 recipientRandHash,uint256 creationRound,
//          bytes32 creationRoundBlockHash)
// in the domain {name "OpenStreaming", version "1", chainId, verifyingContract},
// signed by the sender (65 bytes, low-s, v 27/28). It wins when
//   keccak256(signature ‖ recipientRand) < winProb
// with winProb a fraction of 2^256 − 1. Its expected value is faceValue × winProb / (2^256 − 1).
//
// No I/O.
#pragma once

#include "core/address.h"
#include "core/amount.h"
#include "core/secp256k1.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <tuple>

namespace openstreaming::pay {

using core::U256;

inline constexpr std::string_view kTicketType =
    "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,"
    "bytes32 recipientRandHash,uint256 creationRound,bytes32 creationRoundBlockHash)";

struct TicketDomain {
  U256 chain_id = 1337;
  core::Address verifying_contract;
  Hash256 separator() const; // computed once per (chain id, contract), then cached
  nlohmann::json to_json() const; // {name, version, chainId, verifyingContract}

private:
  mutable std::optional<std::tuple<U256, core::Address, Hash256>> m_cache;
};

struct Ticket {
  core::Address recipient;
  core::Address sender;
  U256 face_value = 0;
  U256 win_prob = 0;
  U256 sender_nonce = 0;
  Hash256 recipient_rand_hash{};
  U256 creation_round = 0;
  Hash256 creation_round_block_hash{};

  Hash256 struct_hash() const;
  Hash256 signing_hash(const TicketDomain& domain) const;
  nlohmann::json to_json() const; // the struct's fields by their names; numbers as decimal strings
  static Result<Ticket> from_json(const nlohmann::json& j);
  bool operator==(const Ticket&) const = default;
};

struct SignedTicket {
  Ticket ticket;
  core::RecoverableSignature signature;
};

SignedTicket sign_ticket(const core::PrivateKey& sender, const Ticket& t, const TicketDomain& domain);
// The address that signed it (to compare with ticket.sender).
Result<core::Address> ticket_signer(const SignedTicket& st, const TicketDomain& domain);

// 2^256 − 1: winProb of a ticket that always wins.
const U256& max_win_prob();
// winProb for a probability in (0, 1], as a fraction of 2^256 − 1 (rounded down, at least 1).
U256 win_prob_from(double probability);
// keccak256(signature ‖ recipientRand) < winProb
bool is_winner(const core::RecoverableSignature& signature, const Hash256& recipient_rand, const U256& win_prob);
// faceValue × winProb / (2^256 − 1), rounded down.
core::Amount expected_value(const U256& face_value, const U256& win_prob);

} // namespace openstreaming::pay
