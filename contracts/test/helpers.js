// Shared by the contract tests: deployments, block mining, ticket and voucher signing.
const { ethers, network } = require("hardhat");

const MAX_WIN_PROB = ethers.MaxUint256; // always wins
const HALF_N = BigInt("0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0");
const N = BigInt("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");

const TICKET_TYPES = {
  Ticket: [
    { name: "recipient", type: "address" },
    { name: "sender", type: "address" },
    { name: "faceValue", type: "uint256" },
    { name: "winProb", type: "uint256" },
    { name: "senderNonce", type: "uint256" },
    { name: "recipientRandHash", type: "bytes32" },
    { name: "creationRound", type: "uint256" },
    { name: "creationRoundBlockHash", type: "bytes32" },
  ],
};
const VOUCHER_TYPES = {
  Voucher: [
    { name: "channelId", type: "bytes32" },
    { name: "cumulative", type: "uint256" },
  ],
};

// Outcome codes of TicketBroker.Outcome, by name.
const Outcome = {
  Paid: 0n,
  BadSignatureEncoding: 1n,
  NotRecipient: 2n,
  NotSenderSignature: 3n,
  RandMismatch: 4n,
  NotWinner: 5n,
  AlreadyRedeemed: 6n,
  FutureRound: 7n,
  Expired: 8n,
  RoundHashMismatch: 9n,
  CannotCover: 10n,
  ReserveShareUsedUp: 11n,
};

async function mine(blocks) {
  if (blocks > 0) await network.provider.send("hardhat_mine", ["0x" + blocks.toString(16)]);
}

async function blockNumber() {
  return BigInt(await ethers.provider.getBlockNumber());
}

async function domainOf(contract) {
  return {
    name: "OpenStreaming",
    version: "1",
    chainId: (await ethers.provider.getNetwork()).chainId,
    verifyingContract: await contract.getAddress(),
  };
}

// Mines until the latest block is the first block of a round, so views and the next
// transactions (one block each) see the same round, with a whole round to work in.
async function toRoundStart(broker) {
  const L = await broker.roundLength();
  const start = await broker.startBlock();
  const into = ((await blockNumber()) - start) % L;
  if (into !== 0n) await mine(Number(L - into));
}

// Mines until the latest block is in round `r` (its first block if we are before it).
async function toRound(broker, r) {
  const L = await broker.roundLength();
  const start = await broker.startBlock();
  const first = start + BigInt(r) * L;
  const now = await blockNumber();
  if (now < first) await mine(Number(first - now));
}

let nonceCounter = 1n;

// A ticket from `sender` (a signer) to `recipient` for the current round, signed with
// signTypedData under the broker's domain. Returns {ticket, sig, rand, hash}.
async function signTicket(broker, sender, recipient, opts = {}) {
  let round = opts.creationRound ?? (await broker.currentRound());
  // A payee initialises the round before it issues parameters citing its hash (the
  // initialising transaction may land in the next round: then cite that one).
  while (opts.creationRound === undefined && (await broker.roundBlockHash(round)) === ethers.ZeroHash) {
    await (await broker.initializeRound()).wait();
    round = await broker.currentRound();
  }
  const rand = opts.rand ?? ethers.hexlify(ethers.randomBytes(32));
  const ticket = {
    recipient: opts.recipientField ?? (typeof recipient === "string" ? recipient : await recipient.getAddress()),
    sender: opts.senderField ?? (await sender.getAddress()),
    faceValue: opts.faceValue ?? ethers.parseEther("0.01"),
    winProb: opts.winProb ?? MAX_WIN_PROB,
    senderNonce: opts.senderNonce ?? nonceCounter++,
    recipientRandHash: opts.recipientRandHash ?? ethers.keccak256(rand),
    creationRound: round,
    creationRoundBlockHash: opts.creationRoundBlockHash ?? (await broker.roundBlockHash(round)),
  };
  const domain = opts.domain ?? (await domainOf(broker));
  const sig = await sender.signTypedData(domain, TICKET_TYPES, ticket);
  const hash = ethers.TypedDataEncoder.hash(domain, TICKET_TYPES, ticket);
  return { ticket, sig, rand, hash };
}

async function signVoucher(channels, payer, channelId, cumulative, domain) {
  return payer.signTypedData(domain ?? (await domainOf(channels)), VOUCHER_TYPES, { channelId, cumulative });
}

// r ‖ s ‖ v with s replaced by n − s (and v flipped): the same signature, high-s.
function highS(sig) {
  const b = ethers.getBytes(sig);
  const s = BigInt(ethers.hexlify(b.slice(32, 64)));
  const hs = ethers.toBeHex(N - s, 32);
  const v = b[64] === 27 ? 28 : 27;
  return ethers.concat([b.slice(0, 32), hs, new Uint8Array([v])]);
}

function withV(sig, v) {
  const b = ethers.getBytes(sig);
  b[64] = v;
  return ethers.hexlify(b);
}

// A deterministic PRNG (mulberry32) for randomised tests with a fixed seed.
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

module.exports = {
  MAX_WIN_PROB,
  HALF_N,
  TICKET_TYPES,
  VOUCHER_TYPES,
  Outcome,
  mine,
  blockNumber,
  domainOf,
  toRoundStart,
  toRound,
  signTicket,
  signVoucher,
  highS,
  withV,
  prng,
};
