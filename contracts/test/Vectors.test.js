// test/vectors/ticket.json (scripts/ticket-vector.js, ethers alone) is current, and the
// contracts, placed at the vector's addresses, compute the same hashes. The C++ side's
// check against the same file is next (docs/ledger.md).
const { expect } = require("chai");
const { ethers, network } = require("hardhat");
const fs = require("node:fs");
const { makeVectors, VECTOR_FILE } = require("../scripts/ticket-vector");

describe("Vectors", function () {
  const v = JSON.parse(fs.readFileSync(VECTOR_FILE, "utf8"));

  it("test/vectors/ticket.json is what scripts/ticket-vector.js makes (run it after changing either)", function () {
    expect(v).to.deep.equal(JSON.parse(JSON.stringify(makeVectors())));
    expect(ethers.recoverAddress(v.ticket.digest, v.ticket.signature)).to.equal(v.signer.address);
    expect(ethers.recoverAddress(v.voucher.digest, v.voucher.signature)).to.equal(v.signer.address);
  });

  async function placeAt(name, args, address) {
    const c = await ethers.deployContract(name, args);
    const code = await ethers.provider.getCode(await c.getAddress());
    await network.provider.send("hardhat_setCode", [address, code]);
    return ethers.getContractAt(name, address);
  }

  it("TicketBroker at the vector's address: same domain separator, digest and win draw", async function () {
    const { chainId } = await ethers.provider.getNetwork();
    expect(chainId.toString()).to.equal(v.ticket.domain.chainId);
    const broker = await placeAt("TicketBroker", [20, 2, 4], v.ticket.domain.verifyingContract);
    expect(await broker.TICKET_TYPEHASH()).to.equal(v.ticket.typeHash);
    expect(await broker.domainSeparator()).to.equal(v.ticket.domainSeparator);
    expect(await broker.ticketHash(v.ticket.message)).to.equal(v.ticket.digest);
    expect(await broker.isWinningTicket(v.ticket.signature, v.ticket.recipientRand, v.ticket.message.winProb)).to.equal(v.ticket.wins);
    expect(ethers.keccak256(v.ticket.recipientRand)).to.equal(v.ticket.message.recipientRandHash);
  });

  it("StreamChannels at the vector's address: same channel id and voucher digest", async function () {
    const ch = await placeAt("StreamChannels", [40], v.voucher.domain.verifyingContract);
    expect(await ch.VOUCHER_TYPEHASH()).to.equal(v.voucher.typeHash);
    expect(await ch.channelId(v.signer.address, v.ticket.message.recipient, ethers.ZeroHash)).to.equal(v.voucher.channelId);
    expect(await ch.voucherHash(v.voucher.channelId, v.voucher.cumulative)).to.equal(v.voucher.digest);
  });
});
