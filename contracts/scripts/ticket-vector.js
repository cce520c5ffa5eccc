// Writes test/vectors/ticket.json: one signed ticket and one signed voucher with every
// intermediate hash, made with ethers alone, for the C++ side to check itself against
// (src/pay/ticket.h, src/ledger/state.h voucher_hash). Deterministic: fixed key (Hardhat's
// well-known account #0, never a real key), fixed fields, RFC 6979 signatures — so the C++
// signer must produce the very same signature bytes.
//
//   node scripts/ticket-vector.js          (rewrites the file)
// test/Vectors.test.js checks the file is current and that the contracts agree with it.
const fs = require("node:fs");
const path = require("node:path");
const { ethers } = require("ethers");

const TICKET_TYPE =
  "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce," +
  "bytes32 recipientRandHash,uint256 creationRound,bytes32 creationRoundBlockHash)";
const VOUCHER_TYPE = "Voucher(bytes32 channelId,uint256 cumulative)";
const TICKET_TYPES = {
  Ticket: TICKET_TYPE.slice(7, -1)
    .split(",")
    .map((f) => ({ type: f.split(" ")[0], name: f.split(" ")[1] })),
};
const VOUCHER_TYPES = { Voucher: [{ name: "channelId", type: "bytes32" }, { name: "cumulative", type: "uint256" }] };

function makeVectors() {
  const key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"; // Hardhat account #0
  const wallet = new ethers.Wallet(key);
  const recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // Hardhat account #1
  const chainId = 31337n;
  // Where the first two contracts deployed by account #0 on a fresh chain land (nonces 0, 1).
  const broker = ethers.getCreateAddress({ from: wallet.address, nonce: 0 });
  const channels = ethers.getCreateAddress({ from: wallet.address, nonce: 1 });
  const rand = ethers.keccak256(ethers.toUtf8Bytes("openstreaming/test-vector/recipient-rand"));
  const ticket = {
    recipient,
    sender: wallet.address,
    faceValue: ethers.parseEther("0.002"),
    winProb: (2n ** 256n - 1n) / 3n, // one in three
    senderNonce: 42n,
    recipientRandHash: ethers.keccak256(rand),
    creationRound: 7n,
    creationRoundBlockHash: ethers.keccak256(ethers.toUtf8Bytes("openstreaming/test-vector/round-7")),
  };
  const domain = { name: "OpenStreaming", version: "1", chainId, verifyingContract: broker };
  const digest = ethers.TypedDataEncoder.hash(domain, TICKET_TYPES, ticket);
  const sig = wallet.signingKey.sign(digest).serialized;
  const draw = ethers.keccak256(ethers.concat([sig, rand]));

  const channelId = ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(
      ["uint256", "address", "address", "address", "bytes32"],
      [chainId, channels, wallet.address, recipient, ethers.ZeroHash],
    ),
  );
  const vdomain = { ...domain, verifyingContract: channels };
  const cumulative = ethers.parseEther("0.5");
  const vdigest = ethers.TypedDataEncoder.hash(vdomain, VOUCHER_TYPES, { channelId, cumulative });

  const str = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]));
  return {
    comment:
      "Made by contracts/scripts/ticket-vector.js with ethers alone. Numbers are decimal strings, as Ticket::to_json writes them.",
    signer: { privateKey: key, address: wallet.address },
    ticket: {
      domain: str(domain),
      type: TICKET_TYPE,
      typeHash: ethers.id(TICKET_TYPE),
      domainSeparator: ethers.TypedDataEncoder.hashDomain(domain),
      message: str(ticket),
      structHash: ethers.TypedDataEncoder.from(TICKET_TYPES).hash(ticket),
      digest,
      signature: sig,
      recipientRand: rand,
      winDraw: draw, // keccak256(signature ‖ recipientRand)
      wins: BigInt(draw) < ticket.winProb,
    },
    voucher: {
      domain: str(vdomain),
      type: VOUCHER_TYPE,
      typeHash: ethers.id(VOUCHER_TYPE),
      channelId, // StreamChannels.channelId(payer, payee, salt 0) on that deployment
      cumulative: cumulative.toString(),
      digest: vdigest,
      signature: wallet.signingKey.sign(vdigest).serialized,
    },
  };
}

module.exports = { makeVectors, VECTOR_FILE: path.join(__dirname, "..", "test", "vectors", "ticket.json") };

if (require.main === module) {
  fs.writeFileSync(module.exports.VECTOR_FILE, JSON.stringify(makeVectors(), null, 2) + "\n");
  console.log(`wrote ${module.exports.VECTOR_FILE}`);
}
