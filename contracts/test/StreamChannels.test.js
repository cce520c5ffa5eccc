// StreamChannels: every function and revert, and the classic channel bugs (voucher replay
// across channels and contracts, stale vouchers, re-entrant payouts, a claim racing settle).
const { expect } = require("chai");
const { ethers } = require("hardhat");
const h = require("./helpers");

const CHALLENGE = 10n;
const E = (x) => ethers.parseEther(x);

describe("StreamChannels", function () {
  let ch, payer, payee, other;

  beforeEach(async function () {
    [payer, payee, other] = await ethers.getSigners();
    ch = await ethers.deployContract("StreamChannels", [CHALLENGE]);
  });

  async function open(amount = E("1"), lifetime = 1000n, salt = ethers.id("s"), from = payer, to = payee) {
    const expiry = (await h.blockNumber()) + lifetime;
    const id = await ch.channelId(from.address, to.address, salt);
    await ch.connect(from).open(to.address, expiry, salt, { value: amount });
    return { id, expiry };
  }

  const voucher = (id, cum, signer = payer, contract = ch) => h.signVoucher(contract, signer, id, cum);

  it("refuses a zero or oversized challenge period", async function () {
    const F = await ethers.getContractFactory("StreamChannels");
    await expect(F.deploy(0)).to.be.revertedWithCustomError(F, "InvalidParameter");
    await expect(F.deploy(2n ** 32n)).to.be.revertedWithCustomError(F, "InvalidParameter");
    expect(await ch.challengeBlocks()).to.equal(CHALLENGE);
  });

  describe("open", function () {
    it("opens a channel whose id binds chain, contract, payer, payee and salt", async function () {
      const salt = ethers.id("salt");
      const expiry = (await h.blockNumber()) + 100n;
      const { chainId } = await ethers.provider.getNetwork();
      const want = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["uint256", "address", "address", "address", "bytes32"],
          [chainId, await ch.getAddress(), payer.address, payee.address, salt],
        ),
      );
      expect(await ch.channelId(payer.address, payee.address, salt)).to.equal(want);
      expect(await ch.open.staticCall(payee.address, expiry, salt, { value: 5 })).to.equal(want);
      await expect(ch.open(payee.address, expiry, salt, { value: 5 }))
        .to.emit(ch, "ChannelOpened")
        .withArgs(want, payer.address, payee.address, 5, expiry);
      expect(await ch.getChannel(want)).to.deep.equal([payer.address, payee.address, 5n, 0n, 1n, 0n, expiry]);
      expect(await ethers.provider.getBalance(await ch.getAddress())).to.equal(5n);
    });

    it("refuses no payee, itself, no value, a short or oversized expiry, and a reused id", async function () {
      const now = await h.blockNumber();
      const salt = ethers.ZeroHash;
      for (const [to, expiry, value] of [
        [ethers.ZeroAddress, now + 100n, 1],
        [payer.address, now + 100n, 1],
        [payee.address, now + 100n, 0],
        [payee.address, now + CHALLENGE, 1], // the tx lands in now + 1: expiry < block + challenge
        [payee.address, 2n ** 40n, 1],
      ]) {
        await expect(ch.open(to, expiry, salt, { value })).to.be.revertedWithCustomError(ch, "InvalidParameter");
      }
      await ch.open(payee.address, now + 100n, salt, { value: 1 });
      await expect(ch.open(payee.address, now + 100n, salt, { value: 1 })).to.be.revertedWithCustomError(ch, "ChannelExists");
    });
  });

  describe("topUp", function () {
    it("adds to the deposit while open, payer only, before expiry", async function () {
      const { id, expiry } = await open(E("1"), 50n);
      await expect(ch.topUp(id, { value: E("2") })).to.emit(ch, "ChannelToppedUp").withArgs(id, E("3"));
      await expect(ch.connect(other).topUp(id, { value: 1 })).to.be.revertedWithCustomError(ch, "NotPayer");
      await expect(ch.topUp(ethers.id("none"), { value: 1 })).to.be.revertedWithCustomError(ch, "NoSuchChannel");
      await expect(ch.topUp(id, { value: 0 })).to.be.revertedWithCustomError(ch, "InvalidParameter");
      await h.mine(Number(expiry - (await h.blockNumber())));
      await expect(ch.topUp(id, { value: 1 })).to.be.revertedWithCustomError(ch, "ChannelExpired");
    });

    it("is refused once closing", async function () {
      const { id } = await open();
      await ch.close(id);
      await expect(ch.topUp(id, { value: 1 })).to.be.revertedWithCustomError(ch, "NotOpen");
    });
  });

  describe("claim", function () {
    it("pays cumulative − paid, each time", async function () {
      const { id } = await open(E("1"));
      let tx = ch.connect(payee).claim(id, E("0.3"), await voucher(id, E("0.3")));
      await expect(tx).to.changeEtherBalances([payee, ch], [E("0.3"), -E("0.3")]);
      await expect(tx).to.emit(ch, "ChannelClaimed").withArgs(id, E("0.3"), E("0.3"));
      tx = ch.connect(payee).claim(id, E("0.5"), await voucher(id, E("0.5")));
      await expect(tx).to.changeEtherBalances([payee, ch], [E("0.2"), -E("0.2")]);
      expect((await ch.getChannel(id))[3]).to.equal(E("0.5"));
    });

    it("refuses a stale voucher (at or below what was paid) and one above the deposit", async function () {
      const { id } = await open(E("1"));
      const v5 = await voucher(id, E("0.5"));
      await ch.connect(payee).claim(id, E("0.5"), v5);
      await expect(ch.connect(payee).claim(id, E("0.5"), v5))
        .to.be.revertedWithCustomError(ch, "StaleVoucher")
        .withArgs(E("0.5"), E("0.5"));
      await expect(ch.connect(payee).claim(id, E("0.4"), await voucher(id, E("0.4")))).to.be.revertedWithCustomError(
        ch,
        "StaleVoucher",
      );
      await expect(ch.connect(payee).claim(id, E("1") + 1n, await voucher(id, E("1") + 1n)))
        .to.be.revertedWithCustomError(ch, "VoucherExceedsDeposit")
        .withArgs(E("1") + 1n, E("1"));
    });

    it("only the payee claims, and only with the payer's signature for this channel and cumulative", async function () {
      const { id } = await open(E("1"));
      const v = await voucher(id, E("0.1"));
      await expect(ch.connect(other).claim(id, E("0.1"), v)).to.be.revertedWithCustomError(ch, "NotPayee");
      await expect(ch.connect(payee).claim(ethers.id("none"), E("0.1"), v)).to.be.revertedWithCustomError(ch, "NoSuchChannel");
      // self-reporting: a voucher the payee signed
      await expect(ch.connect(payee).claim(id, E("0.1"), await voucher(id, E("0.1"), payee))).to.be.revertedWithCustomError(
        ch,
        "BadVoucherSignature",
      );
      // a different amount than signed
      await expect(ch.connect(payee).claim(id, E("0.2"), v)).to.be.revertedWithCustomError(ch, "BadVoucherSignature");
      // malformed signatures
      for (const bad of [ethers.dataSlice(v, 0, 64), h.withV(v, 29), h.highS(v), "0x"]) {
        await expect(ch.connect(payee).claim(id, E("0.1"), bad)).to.be.revertedWithCustomError(ch, "BadVoucherSignature");
      }
    });

    it("a voucher cannot be replayed into another channel or another deployment", async function () {
      const a = await open(E("1"), 1000n, ethers.id("a"));
      const b = await open(E("1"), 1000n, ethers.id("b"));
      const va = await voucher(a.id, E("0.4"));
      await ch.connect(payee).claim(a.id, E("0.4"), va);
      await expect(ch.connect(payee).claim(b.id, E("0.4"), va)).to.be.revertedWithCustomError(ch, "BadVoucherSignature");
      // Same payer, payee and salt on a second contract: a different id, a different domain.
      const ch2 = await ethers.deployContract("StreamChannels", [CHALLENGE]);
      const salt = ethers.id("a");
      await ch2.open(payee.address, (await h.blockNumber()) + 1000n, salt, { value: E("1") });
      const id2 = await ch2.channelId(payer.address, payee.address, salt);
      expect(id2).to.not.equal(a.id);
      await expect(ch2.connect(payee).claim(id2, E("0.4"), va)).to.be.revertedWithCustomError(ch2, "BadVoucherSignature");
      // Even a voucher for the right id signed under the first contract's domain fails on the second.
      const cross = await h.signVoucher(ch, payer, id2, E("0.4"));
      await expect(ch2.connect(payee).claim(id2, E("0.4"), cross)).to.be.revertedWithCustomError(ch2, "BadVoucherSignature");
      await ch2.connect(payee).claim(id2, E("0.4"), await voucher(id2, E("0.4"), payer, ch2));
    });

    it("matches ethers' EIP-712 hashing for the exact domain and Voucher type", async function () {
      const { id } = await open();
      const domain = await h.domainOf(ch);
      expect(await ch.domainSeparator()).to.equal(ethers.TypedDataEncoder.hashDomain(domain));
      expect(await ch.voucherHash(id, 123n)).to.equal(ethers.TypedDataEncoder.hash(domain, h.VOUCHER_TYPES, { channelId: id, cumulative: 123n }));
      expect(await ch.VOUCHER_TYPEHASH()).to.equal(ethers.id("Voucher(bytes32 channelId,uint256 cumulative)"));
    });

    it("is allowed up to and including closesAt, never after; settle only after closesAt (no overlap)", async function () {
      const { id } = await open(E("1"));
      await ch.close(id);
      const closesAt = (await ch.getChannel(id))[5];
      await h.mine(Number(closesAt - (await h.blockNumber()) - 2n)); // the next tx lands in closesAt − 1
      await expect(ch.settle(id)).to.be.revertedWithCustomError(ch, "ChallengePeriodNotOver"); // lands in closesAt − 1
      await ch.connect(payee).claim(id, E("0.1"), await voucher(id, E("0.1"))); // lands in closesAt
      expect(await h.blockNumber()).to.equal(closesAt);
      await expect(ch.connect(payee).claim(id, E("0.2"), await voucher(id, E("0.2")))).to.be.revertedWithCustomError(
        ch,
        "ChallengePeriodOver",
      );
      await expect(ch.connect(other).settle(id)).to.changeEtherBalances([payer, ch], [E("0.9"), -E("0.9")]);
      await expect(ch.connect(payee).claim(id, E("0.2"), await voucher(id, E("0.2")))).to.be.revertedWithCustomError(
        ch,
        "ChannelSettledAlready",
      );
    });

    it("is allowed up to and including the expiry; after it the payer recovers the rest without closing", async function () {
      const { id, expiry } = await open(E("1"), 40n);
      await h.mine(Number(expiry - (await h.blockNumber()) - 1n));
      await expect(ch.settle(id)).to.be.revertedWithCustomError(ch, "ChallengePeriodNotOver"); // lands in expiry
      await expect(ch.connect(payee).claim(id, E("0.1"), await voucher(id, E("0.1")))).to.be.revertedWithCustomError(
        ch,
        "ChannelExpired",
      );
      const tx = ch.settle(id);
      await expect(tx).to.changeEtherBalances([payer, ch], [E("1"), -E("1")]);
      await expect(tx).to.emit(ch, "ChannelSettled").withArgs(id, E("1"));
    });

    it("a re-entrant payee cannot claim twice", async function () {
      const actor = await ethers.deployContract("Actor");
      const A = await actor.getAddress();
      const { id } = await open(E("1"), 1000n, ethers.id("r"), payer, { address: A });
      const C = await ch.getAddress();
      const v1 = await voucher(id, E("0.5"));
      const v2 = await voucher(id, E("1"));
      await actor.setReenter(C, ch.interface.encodeFunctionData("claim", [id, E("1"), v2]));
      await expect(actor.call(C, 0, ch.interface.encodeFunctionData("claim", [id, E("0.5"), v1]))).to.be.revertedWithCustomError(
        ch,
        "TransferFailed",
      );
      expect((await ch.getChannel(id))[3]).to.equal(0n);
      await actor.setMode(0);
      await actor.call(C, 0, ch.interface.encodeFunctionData("claim", [id, E("0.5"), v1]));
      expect(await ethers.provider.getBalance(A)).to.equal(E("0.5"));
    });
  });

  describe("close and settle", function () {
    it("close: payer only, once; settle returns deposit − paid, once, to the payer", async function () {
      const { id } = await open(E("1"));
      await ch.connect(payee).claim(id, E("0.25"), await voucher(id, E("0.25")));
      await expect(ch.connect(payee).close(id)).to.be.revertedWithCustomError(ch, "NotPayer");
      await expect(ch.close(ethers.id("none"))).to.be.revertedWithCustomError(ch, "NoSuchChannel");
      const tx = await ch.close(id);
      const at = BigInt((await tx.wait()).blockNumber) + CHALLENGE;
      await expect(tx).to.emit(ch, "ChannelClosing").withArgs(id, at);
      await expect(ch.close(id)).to.be.revertedWithCustomError(ch, "NotOpen");
      await expect(ch.settle(id)).to.be.revertedWithCustomError(ch, "ChallengePeriodNotOver");
      await h.mine(Number(CHALLENGE));
      await expect(ch.connect(other).settle(id)).to.changeEtherBalances([payer, other, ch], [E("0.75"), 0, -E("0.75")]);
      expect((await ch.getChannel(id))[4]).to.equal(3n);
      await expect(ch.settle(id)).to.be.revertedWithCustomError(ch, "ChannelSettledAlready");
      await expect(ch.settle(ethers.id("none"))).to.be.revertedWithCustomError(ch, "NoSuchChannel");
      await expect(ch.close(id)).to.be.revertedWithCustomError(ch, "NotOpen");
    });

    it("a fully claimed channel settles with nothing to return", async function () {
      const { id } = await open(E("1"));
      await ch.connect(payee).claim(id, E("1"), await voucher(id, E("1")));
      await ch.close(id);
      await h.mine(Number(CHALLENGE) + 1);
      await expect(ch.settle(id)).to.emit(ch, "ChannelSettled").withArgs(id, 0);
    });

    it("a payer contract that refuses ETH cannot settle (and the funds stay accounted)", async function () {
      const actor = await ethers.deployContract("Actor");
      const C = await ch.getAddress();
      const salt = ethers.id("x");
      await actor.call(C, 5, ch.interface.encodeFunctionData("open", [payee.address, (await h.blockNumber()) + 50n, salt]), { value: 5 });
      const id = await ch.channelId(await actor.getAddress(), payee.address, salt);
      await actor.call(C, 0, ch.interface.encodeFunctionData("close", [id]));
      await h.mine(Number(CHALLENGE) + 1);
      await actor.setMode(1);
      await expect(ch.settle(id)).to.be.revertedWithCustomError(ch, "TransferFailed");
      expect((await ch.getChannel(id))[4]).to.equal(2n);
    });
  });
});
