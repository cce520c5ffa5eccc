// TicketBroker: every external function and every revert path and outcome, against the
// embedded ledger's rules (src/ledger/state.cpp, docs/ledger.md).
const { expect } = require("chai");
const { ethers, network } = require("hardhat");
const h = require("./helpers");
const { Outcome, MAX_WIN_PROB } = h;

const ROUND = 50n; // blocks per round: room for a test's transactions inside one round
const UNLOCK = 2n;
const VALID = 4n;
const E = (x) => ethers.parseEther(x);

describe("TicketBroker", function () {
  let broker, sender, alice, bob, carol, other;

  beforeEach(async function () {
    [sender, alice, bob, carol, other] = await ethers.getSigners();
    broker = await ethers.deployContract("TicketBroker", [ROUND, UNLOCK, VALID]);
    await h.toRoundStart(broker);
  });

  // Redeems one ticket in a batch of one and returns its outcome (from the event).
  async function redeemOne(by, t) {
    const tx = await broker.connect(by).redeemWinningTickets([{ ticket: t.ticket, sig: t.sig, recipientRand: t.rand }]);
    const rc = await tx.wait();
    const ev = rc.logs.map((l) => broker.interface.parseLog(l)).find((e) => e && e.name === "TicketOutcome");
    return ev.args.outcome;
  }

  describe("constructor and rounds", function () {
    it("refuses a zero or oversized round length and oversized periods", async function () {
      const F = await ethers.getContractFactory("TicketBroker");
      for (const args of [[0, 2, 4], [2n ** 32n, 2, 4], [10, 2n ** 32n, 4], [10, 2, 2n ** 32n]]) {
        await expect(F.deploy(...args)).to.be.revertedWithCustomError(F, "InvalidParameter");
      }
    });

    it("stores its parameters and round 0's hash: the hash of the block before deployment", async function () {
      const b = await ethers.deployContract("TicketBroker", [7, 3, 5]);
      const rc = await b.deploymentTransaction().wait();
      expect(await b.roundLength()).to.equal(7n);
      expect(await b.unlockRounds()).to.equal(3n);
      expect(await b.ticketValidRounds()).to.equal(5n);
      expect(await b.startBlock()).to.equal(BigInt(rc.blockNumber));
      const parent = await ethers.provider.getBlock(rc.blockNumber - 1);
      expect(await b.roundBlockHash(0)).to.equal(parent.hash);
      expect(await b.currentRound()).to.equal(0n);
      await expect(b.deploymentTransaction()).to.emit(b, "RoundInitialized").withArgs(0, parent.hash);
    });

    it("counts rounds from deployment; initializeRound stores the hash of the block that opened the round, once", async function () {
      const r = await broker.currentRound();
      expect(await broker.roundBlockHash(r + 1n)).to.equal(ethers.ZeroHash);
      await h.toRound(broker, r + 1n);
      const tx = await broker.initializeRound();
      const rc = await tx.wait();
      const first = (await broker.startBlock()) + (r + 1n) * ROUND;
      expect(BigInt(rc.blockNumber)).to.equal(first + 1n);
      const opener = await ethers.provider.getBlock(Number(first - 1n));
      expect(await broker.currentRound()).to.equal(r + 1n);
      expect(await broker.roundBlockHash(r + 1n)).to.equal(opener.hash);
      await expect(tx).to.emit(broker, "RoundInitialized").withArgs(r + 1n, opener.hash);
      await expect(broker.initializeRound()).not.to.emit(broker, "RoundInitialized");
      expect(await broker.initializeRound.staticCall()).to.equal(opener.hash);
    });

    it("falls back to the previous block's hash when the opener is more than 256 blocks old", async function () {
      const b = await ethers.deployContract("TicketBroker", [300, 2, 4]);
      await h.mine(300 + 270); // into round 1, 270 blocks past its opener
      const rc = await (await b.initializeRound()).wait();
      const prev = await ethers.provider.getBlock(rc.blockNumber - 1);
      expect(await b.currentRound()).to.equal(1n);
      expect(await b.roundBlockHash(1)).to.equal(prev.hash);
    });

    it("funding and batch redemption initialise the current round", async function () {
      const r = await broker.currentRound();
      await h.toRound(broker, r + 1n);
      await broker.fundDeposit({ value: 1 });
      expect(await broker.roundBlockHash(r + 1n)).to.not.equal(ethers.ZeroHash);
      await h.toRound(broker, r + 2n);
      await broker.connect(alice).redeemWinningTickets([]);
      expect(await broker.roundBlockHash(r + 2n)).to.not.equal(ethers.ZeroHash);
    });
  });

  describe("funds", function () {
    it("fundDeposit, fundReserve and fundDepositAndReserve add to the caller's funds", async function () {
      await expect(broker.fundDeposit({ value: E("1") })).to.emit(broker, "Funded").withArgs(sender.address, E("1"), 0);
      await expect(broker.fundReserve({ value: E("2") })).to.emit(broker, "Funded").withArgs(sender.address, E("1"), E("2"));
      await expect(broker.fundDepositAndReserve(E("3"), E("4"), { value: E("7") }))
        .to.emit(broker, "Funded")
        .withArgs(sender.address, E("4"), E("6"));
      expect(await broker.getSender(sender.address)).to.deep.equal([E("4"), E("6"), 0n]);
      expect(await ethers.provider.getBalance(await broker.getAddress())).to.equal(E("10"));
    });

    it("fundDepositAndReserve refuses a value that is not the sum, and amounts above uint96", async function () {
      await expect(broker.fundDepositAndReserve(1, 2, { value: 4 })).to.be.revertedWithCustomError(broker, "ValueMismatch");
      await expect(broker.fundDepositAndReserve(2n ** 96n, 0, { value: 0 })).to.be.revertedWithCustomError(broker, "AmountTooLarge");
      await expect(broker.fundDepositAndReserve(0, 2n ** 96n, { value: 0 })).to.be.revertedWithCustomError(broker, "AmountTooLarge");
    });

    it("refuses a deposit or reserve that would exceed uint96", async function () {
      await network.provider.send("hardhat_setBalance", [other.address, ethers.toQuantity(2n ** 98n)]);
      const max = 2n ** 96n - 1n;
      await broker.connect(other).fundDeposit({ value: max });
      await expect(broker.connect(other).fundDeposit({ value: 1 })).to.be.revertedWithCustomError(broker, "AmountTooLarge");
      await broker.connect(other).fundReserve({ value: max });
      await expect(broker.connect(other).fundReserve({ value: 1 })).to.be.revertedWithCustomError(broker, "AmountTooLarge");
    });

    it("unlock sets the withdraw round; again restarts it; it needs funds", async function () {
      await expect(broker.unlock()).to.be.revertedWithCustomError(broker, "NothingToUnlock");
      await broker.fundReserve({ value: 5 });
      const r = await broker.currentRound();
      await expect(broker.unlock()).to.emit(broker, "UnlockStarted").withArgs(sender.address, r + UNLOCK);
      await h.toRound(broker, r + 1n);
      await expect(broker.unlock()).to.emit(broker, "UnlockStarted").withArgs(sender.address, r + 1n + UNLOCK);
      expect((await broker.getSender(sender.address))[2]).to.equal(r + 1n + UNLOCK);
    });

    it("cancelUnlock cancels; without an unlock it reverts", async function () {
      await expect(broker.cancelUnlock()).to.be.revertedWithCustomError(broker, "NotUnlocking");
      await broker.fundDeposit({ value: 5 });
      await broker.unlock();
      await expect(broker.cancelUnlock()).to.emit(broker, "UnlockCancelled").withArgs(sender.address);
      expect((await broker.getSender(sender.address))[2]).to.equal(0n);
    });

    it("funding cancels a pending unlock (the embedded ledger's rule)", async function () {
      await broker.fundDeposit({ value: 5 });
      await broker.unlock();
      await expect(broker.fundDeposit({ value: 0 })).to.emit(broker, "UnlockCancelled");
      expect((await broker.getSender(sender.address))[2]).to.equal(0n);
      await expect(broker.withdraw()).to.be.revertedWithCustomError(broker, "UnlockFirst");
    });

    it("withdraw pays deposit + reserve after the unlock period, not before", async function () {
      await broker.fundDepositAndReserve(E("1"), E("2"), { value: E("3") });
      await expect(broker.withdraw()).to.be.revertedWithCustomError(broker, "UnlockFirst");
      const r = await broker.currentRound();
      await broker.unlock();
      await h.toRound(broker, r + UNLOCK - 1n);
      await expect(broker.withdraw()).to.be.revertedWithCustomError(broker, "Locked").withArgs(r + UNLOCK, r + UNLOCK - 1n);
      await h.toRound(broker, r + UNLOCK);
      const tx = broker.withdraw();
      await expect(tx).to.changeEtherBalances([sender, broker], [E("3"), -E("3")]);
      await expect(tx).to.emit(broker, "Withdrawn").withArgs(sender.address, E("1"), E("2"));
      expect(await broker.getSender(sender.address)).to.deep.equal([0n, 0n, 0n]);
      await expect(broker.withdraw()).to.be.revertedWithCustomError(broker, "UnlockFirst");
    });

    it("withdraw to a contract that refuses ETH reverts and keeps the funds", async function () {
      const actor = await ethers.deployContract("Actor");
      const B = await broker.getAddress();
      await actor.call(B, 10, broker.interface.encodeFunctionData("fundDeposit"), { value: 10 });
      await actor.call(B, 0, broker.interface.encodeFunctionData("unlock"));
      await h.toRound(broker, (await broker.currentRound()) + UNLOCK);
      await actor.setMode(1);
      await expect(actor.call(B, 0, broker.interface.encodeFunctionData("withdraw"))).to.be.revertedWithCustomError(
        broker,
        "TransferFailed",
      );
      expect((await broker.getSender(await actor.getAddress()))[0]).to.equal(10n);
    });
  });

  describe("EIP-712", function () {
    it("the domain separator and ticket hash are ethers' for the exact domain and type", async function () {
      const domain = await h.domainOf(broker);
      expect(await broker.domainSeparator()).to.equal(ethers.TypedDataEncoder.hashDomain(domain));
      const t = await h.signTicket(broker, sender, alice);
      expect(await broker.ticketHash(t.ticket)).to.equal(t.hash);
      expect(await broker.TICKET_TYPEHASH()).to.equal(
        ethers.id(
          "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce," +
            "bytes32 recipientRandHash,uint256 creationRound,bytes32 creationRoundBlockHash)",
        ),
      );
      expect(ethers.recoverAddress(t.hash, t.sig)).to.equal(sender.address);
    });

    it("a ticket signed with ethers' Wallet.signTypedData (a fresh key) redeems", async function () {
      const wallet = ethers.Wallet.createRandom().connect(ethers.provider);
      await sender.sendTransaction({ to: wallet.address, value: E("1") });
      await broker.connect(wallet).fundDeposit({ value: E("0.5") });
      const t = await h.signTicket(broker, wallet, alice, { faceValue: E("0.1") });
      await expect(broker.connect(alice).redeemWinningTicket(t.ticket, t.sig, t.rand)).to.changeEtherBalance(alice, E("0.1"));
    });

    it("a ticket signed for another domain (chain id, contract, name or version) does not redeem", async function () {
      await broker.fundDeposit({ value: E("1") });
      const base = await h.domainOf(broker);
      for (const domain of [
        { ...base, chainId: 1n },
        { ...base, verifyingContract: other.address },
        { ...base, name: "Livepeer" },
        { ...base, version: "2" },
      ]) {
        const t = await h.signTicket(broker, sender, alice, { domain });
        expect(await redeemOne(alice, t)).to.equal(Outcome.NotSenderSignature);
      }
    });
  });

  describe("redemption", function () {
    beforeEach(async function () {
      await broker.fundDepositAndReserve(E("1"), E("1"), { value: E("2") });
    });

    it("redeemWinningTicket pays the face value from the deposit and marks the ticket used", async function () {
      const t = await h.signTicket(broker, sender, alice, { faceValue: E("0.3") });
      const tx = broker.connect(alice).redeemWinningTicket(t.ticket, t.sig, t.rand);
      await expect(tx).to.changeEtherBalances([alice, broker], [E("0.3"), -E("0.3")]);
      await expect(tx).to.emit(broker, "TicketOutcome").withArgs(t.hash, sender.address, alice.address, Outcome.Paid, E("0.3"), 0);
      expect(await broker.usedTickets(t.hash)).to.equal(true);
      expect(await broker.getSender(sender.address)).to.deep.equal([E("0.7"), E("1"), 0n]);
      await expect(broker.connect(alice).redeemWinningTicket(t.ticket, t.sig, t.rand))
        .to.be.revertedWithCustomError(broker, "TicketNotRedeemed")
        .withArgs(Outcome.AlreadyRedeemed);
    });

    it("pays the shortfall from the reserve, in full", async function () {
      const t = await h.signTicket(broker, sender, alice, { faceValue: E("1.5") });
      await expect(broker.connect(alice).redeemWinningTicket(t.ticket, t.sig, t.rand))
        .to.emit(broker, "TicketOutcome")
        .withArgs(t.hash, sender.address, alice.address, Outcome.Paid, E("1.5"), E("0.5"));
      expect(await broker.getSender(sender.address)).to.deep.equal([0n, E("0.5"), 0n]);
      expect(await broker.reserveTaken(sender.address, alice.address)).to.equal(E("0.5"));
    });

    it("each refusal has its outcome code, and a refused ticket is not marked used", async function () {
      const r = await broker.currentRound();
      const cases = [];
      let t = await h.signTicket(broker, sender, alice);
      cases.push(["BadSignatureEncoding: 64 bytes", { ...t, sig: ethers.dataSlice(t.sig, 0, 64) }]);
      cases.push(["BadSignatureEncoding: 66 bytes", { ...t, sig: ethers.concat([t.sig, "0x00"]) }]);
      cases.push(["BadSignatureEncoding: v = 29", { ...t, sig: h.withV(t.sig, 29) }]);
      cases.push(["BadSignatureEncoding: v = 1", { ...t, sig: h.withV(t.sig, 1) }]);
      cases.push(["BadSignatureEncoding: high s", { ...t, sig: h.highS(t.sig) }]);
      cases.push(["BadSignatureEncoding: r = 0", { ...t, sig: ethers.concat([ethers.ZeroHash, ethers.dataSlice(t.sig, 32)]) }]);
      cases.push([
        "BadSignatureEncoding: r >= n",
        { ...t, sig: ethers.concat([ethers.toBeHex(2n ** 256n - 1n), ethers.dataSlice(t.sig, 32)]) },
      ]);
      cases.push(["BadSignatureEncoding: s = 0", { ...t, sig: ethers.concat([ethers.dataSlice(t.sig, 0, 32), ethers.ZeroHash, "0x1b"]) }]);
      cases.push(["NotRecipient", await h.signTicket(broker, sender, bob)]);
      cases.push(["NotSenderSignature: signed by another key", await h.signTicket(broker, other, alice, { senderField: sender.address })]);
      t = await h.signTicket(broker, sender, alice);
      cases.push(["NotSenderSignature: another ticket's signature", { ...t, ticket: { ...t.ticket, faceValue: 1n } }]);
      cases.push(["RandMismatch", { ...(await h.signTicket(broker, sender, alice)), rand: ethers.ZeroHash }]);
      cases.push(["NotWinner", await h.signTicket(broker, sender, alice, { winProb: 0n })]);
      cases.push([
        "FutureRound",
        await h.signTicket(broker, sender, alice, { creationRound: r + 1n, creationRoundBlockHash: ethers.ZeroHash }),
      ]);
      cases.push(["RoundHashMismatch: wrong hash", await h.signTicket(broker, sender, alice, { creationRoundBlockHash: ethers.id("x") })]);
      cases.push(["CannotCover", await h.signTicket(broker, sender, alice, { faceValue: E("2") + 1n })]);
      for (const [name, c] of cases) {
        const want = Outcome[name.split(":")[0]];
        expect(await redeemOne(alice, c), name).to.equal(want);
        await expect(broker.connect(alice).redeemWinningTicket(c.ticket, c.sig, c.rand), name)
          .to.be.revertedWithCustomError(broker, "TicketNotRedeemed")
          .withArgs(want);
        expect(await broker.usedTickets(c.hash), name).to.equal(false);
      }
      expect(await broker.getSender(sender.address)).to.deep.equal([E("1"), E("1"), 0n]);
    });

    it("a winner by the rule keccak256(sig ‖ rand) < winProb redeems; one just above does not", async function () {
      // winProb = the ticket's own draw + 1 (wins) and = the draw (loses): the rule is strict <.
      const rand = ethers.hexlify(ethers.randomBytes(32));
      // The draw depends on the signature, which depends on winProb: search a little.
      for (let i = 0; i < 2; i++) {
        const probe = await h.signTicket(broker, sender, alice, { rand, winProb: 12345n + BigInt(i), senderNonce: 777n });
        const draw = BigInt(ethers.keccak256(ethers.concat([probe.sig, rand])));
        expect(await broker.isWinningTicket(probe.sig, rand, draw)).to.equal(false);
        expect(await broker.isWinningTicket(probe.sig, rand, draw + 1n)).to.equal(true);
      }
      const lose = await h.signTicket(broker, sender, alice, { winProb: 1n });
      expect(await redeemOne(alice, lose)).to.equal(Outcome.NotWinner);
      const win = await h.signTicket(broker, sender, alice, { winProb: MAX_WIN_PROB - 1n });
      const draw = BigInt(ethers.keccak256(ethers.concat([win.sig, win.rand])));
      expect(await redeemOne(alice, win)).to.equal(draw < MAX_WIN_PROB - 1n ? Outcome.Paid : Outcome.NotWinner);
    });

    it("a ticket is honoured for ticketValidRounds rounds after its creation round, then Expired", async function () {
      const r = await broker.currentRound();
      const a = await h.signTicket(broker, sender, alice, { faceValue: 1n });
      const b = await h.signTicket(broker, sender, alice, { faceValue: 1n });
      await h.toRound(broker, r + VALID);
      expect(await redeemOne(alice, a)).to.equal(Outcome.Paid);
      await h.toRound(broker, r + VALID + 1n);
      expect(await redeemOne(alice, b)).to.equal(Outcome.Expired);
    });

    it("a ticket citing a round that was never initialised is refused (RoundHashMismatch)", async function () {
      const b2 = await ethers.deployContract("TicketBroker", [300, 2, 4]);
      await b2.fundDeposit({ value: E("1") });
      await h.mine(300 + 260); // round 1 starts and its opener leaves the 256-block window untouched
      await b2.initializeRound(); // round 1 gets the fallback hash
      const opener = await ethers.provider.getBlock(Number((await b2.startBlock()) + 300n - 1n));
      const t = await h.signTicket(b2, sender, alice, { creationRound: 1n, creationRoundBlockHash: opener.hash });
      const rc = await (await b2.connect(alice).redeemWinningTickets([{ ticket: t.ticket, sig: t.sig, recipientRand: t.rand }])).wait();
      expect(b2.interface.parseLog(rc.logs.at(-1)).args.outcome).to.equal(Outcome.RoundHashMismatch);
      // Round 2 has no hash at all until initialised.
      await h.mine(300);
      const u = await h.signTicket(b2, sender, alice, { creationRound: 2n, creationRoundBlockHash: ethers.ZeroHash });
      expect(await b2.roundBlockHash(2)).to.equal(ethers.ZeroHash);
      await expect(b2.connect(alice).redeemWinningTicket(u.ticket, u.sig, u.rand))
        .to.be.revertedWithCustomError(b2, "TicketNotRedeemed")
        .withArgs(Outcome.RoundHashMismatch);
    });

    it("all or nothing: a ticket the sender cannot cover is not paid, not used, and redeems once funded", async function () {
      const t = await h.signTicket(broker, sender, alice, { faceValue: E("3") });
      expect(await redeemOne(alice, t)).to.equal(Outcome.CannotCover);
      expect(await broker.getSender(sender.address)).to.deep.equal([E("1"), E("1"), 0n]);
      await broker.fundDeposit({ value: E("1") });
      expect(await redeemOne(alice, t)).to.equal(Outcome.Paid);
      expect(await broker.getSender(sender.address)).to.deep.equal([0n, 0n, 0n]);
    });

    it("tickets stay redeemable while the sender is unlocking (the payee stops accepting, the ledger still pays)", async function () {
      const t = await h.signTicket(broker, sender, alice, { faceValue: E("0.1") });
      await broker.unlock();
      expect(await redeemOne(alice, t)).to.equal(Outcome.Paid);
    });

    it("a batch judges each ticket on its own, emits one outcome each, returns them and pays the sum once", async function () {
      const good1 = await h.signTicket(broker, sender, alice, { faceValue: E("0.1") });
      const bad = await h.signTicket(broker, sender, bob, { faceValue: E("0.1") });
      const good2 = await h.signTicket(broker, sender, alice, { faceValue: E("0.2") });
      const items = [good1, bad, good2, good1].map((t) => ({ ticket: t.ticket, sig: t.sig, recipientRand: t.rand }));
      expect(await broker.connect(alice).redeemWinningTickets.staticCall(items)).to.deep.equal([
        Outcome.Paid,
        Outcome.NotRecipient,
        Outcome.Paid,
        Outcome.AlreadyRedeemed,
      ]);
      const tx = broker.connect(alice).redeemWinningTickets(items);
      await expect(tx).to.changeEtherBalances([alice, broker], [E("0.3"), -E("0.3")]);
      const rc = await (await tx).wait();
      const outs = rc.logs.map((l) => broker.interface.parseLog(l)).filter((e) => e?.name === "TicketOutcome");
      expect(outs.map((e) => e.args.outcome)).to.deep.equal([Outcome.Paid, Outcome.NotRecipient, Outcome.Paid, Outcome.AlreadyRedeemed]);
      expect(outs.map((e) => e.args.paid)).to.deep.equal([E("0.1"), 0n, E("0.2"), 0n]);
    });

    it("a batch of more than 256 tickets is refused; an empty one is fine", async function () {
      const t = await h.signTicket(broker, sender, alice);
      const item = { ticket: t.ticket, sig: t.sig, recipientRand: t.rand };
      await expect(broker.connect(alice).redeemWinningTickets(Array(257).fill(item))).to.be.revertedWithCustomError(
        broker,
        "BatchTooLarge",
      );
      expect(await broker.connect(alice).redeemWinningTickets.staticCall([])).to.deep.equal([]);
    });

    it("a recipient contract that refuses ETH makes its redemption revert, and nothing is marked used", async function () {
      const actor = await ethers.deployContract("Actor");
      await actor.setMode(1);
      const t = await h.signTicket(broker, sender, await actor.getAddress(), { faceValue: 5n });
      const B = await broker.getAddress();
      for (const data of [
        broker.interface.encodeFunctionData("redeemWinningTicket", [t.ticket, t.sig, t.rand]),
        broker.interface.encodeFunctionData("redeemWinningTickets", [[{ ticket: t.ticket, sig: t.sig, recipientRand: t.rand }]]),
      ]) {
        await expect(actor.call(B, 0, data)).to.be.revertedWithCustomError(broker, "TransferFailed");
      }
      expect(await broker.usedTickets(t.hash)).to.equal(false);
    });

    it("a recipient that re-enters the broker while being paid is refused", async function () {
      const actor = await ethers.deployContract("Actor");
      const A = await actor.getAddress();
      const t = await h.signTicket(broker, sender, A, { faceValue: 5n });
      const t2 = await h.signTicket(broker, sender, A, { faceValue: 5n });
      const B = await broker.getAddress();
      await actor.setReenter(B, broker.interface.encodeFunctionData("redeemWinningTicket", [t2.ticket, t2.sig, t2.rand]));
      await expect(
        actor.call(B, 0, broker.interface.encodeFunctionData("redeemWinningTicket", [t.ticket, t.sig, t.rand])),
      ).to.be.revertedWithCustomError(broker, "TransferFailed");
      expect(await actor.reentered()).to.equal(false);
    });
  });

  describe("the reserve share", function () {
    // Round r: alice and bob are both paid by `sender` (from the deposit), so in round r+1
    // two recipients share its reserve.
    async function twoRecipientsLastRound(reserve) {
      await broker.fundDepositAndReserve(E("0.2"), reserve, { value: E("0.2") + reserve });
      expect(await redeemOne(alice, await h.signTicket(broker, sender, alice, { faceValue: E("0.1") }))).to.equal(Outcome.Paid);
      expect(await redeemOne(bob, await h.signTicket(broker, sender, bob, { faceValue: E("0.1") }))).to.equal(Outcome.Paid);
      const r = await broker.currentRound();
      await h.toRound(broker, r + 1n);
      return r + 1n;
    }

    it("with no recipients last round, one recipient may take the whole reserve", async function () {
      await broker.fundReserve({ value: E("1") });
      expect(await broker.reserveRecipients(sender.address)).to.equal(1n);
      expect(await broker.reserveShare(sender.address)).to.equal(E("1"));
      const t = await h.signTicket(broker, sender, alice, { faceValue: E("1") });
      expect(await redeemOne(alice, t)).to.equal(Outcome.Paid);
    });

    it("is the reserve at the round's first draw ÷ last round's recipients, frozen for the round", async function () {
      await twoRecipientsLastRound(E("1"));
      expect(await broker.reserveRecipients(sender.address)).to.equal(2n);
      expect(await broker.reserveShare(sender.address)).to.equal(E("0.5"));
      // alice draws 0.4 of her 0.5; the sender then adds to the reserve: shares do not move.
      const a1 = await h.signTicket(broker, sender, alice, { faceValue: E("0.4") });
      expect(await redeemOne(alice, a1)).to.equal(Outcome.Paid);
      await broker.fundReserve({ value: E("5") });
      expect(await broker.reserveShare(sender.address)).to.equal(E("0.5"));
      expect(await broker.reserveTaken(sender.address, alice.address)).to.equal(E("0.4"));
      // bob's share is untouched by alice's draw: 0.5, not (1 − 0.4) / 2.
      const b1 = await h.signTicket(broker, sender, bob, { faceValue: E("0.5") });
      expect(await redeemOne(bob, b1)).to.equal(Outcome.Paid);
      // alice has 0.1 left of her share: 0.2 is refused, stays redeemable, 0.1 is paid.
      const a2 = await h.signTicket(broker, sender, alice, { faceValue: E("0.2") });
      expect(await redeemOne(alice, a2)).to.equal(Outcome.ReserveShareUsedUp);
      expect(await broker.usedTickets(a2.hash)).to.equal(false);
      const a3 = await h.signTicket(broker, sender, alice, { faceValue: E("0.1") });
      expect(await redeemOne(alice, a3)).to.equal(Outcome.Paid);
      // Next round only alice and bob were paid (2 recipients) and the snapshot is the new reserve.
      const r = await broker.currentRound();
      await h.toRound(broker, r + 1n);
      expect(await broker.reserveRecipients(sender.address)).to.equal(2n);
      const reserveNow = (await broker.getSender(sender.address))[1];
      expect(await broker.reserveShare(sender.address)).to.equal(reserveNow / 2n);
      expect(await redeemOne(alice, a2)).to.equal(Outcome.Paid);
    });

    it("the order in which recipients redeem changes no one's share", async function () {
      // Two runs of the same round, in opposite orders, on fresh brokers.
      const results = [];
      for (const order of [[alice, bob, carol], [carol, bob, alice]]) {
        broker = await ethers.deployContract("TicketBroker", [ROUND, UNLOCK, VALID]);
        await h.toRoundStart(broker);
        await broker.fundDepositAndReserve(E("0.3"), E("0.9"), { value: E("1.2") });
        for (const who of [alice, bob, carol]) {
          expect(await redeemOne(who, await h.signTicket(broker, sender, who, { faceValue: E("0.1") }))).to.equal(Outcome.Paid);
        }
        await h.toRound(broker, (await broker.currentRound()) + 1n);
        const got = {};
        for (const who of order) {
          const t = await h.signTicket(broker, sender, who, { faceValue: E("0.35") });
          got[who.address] = await redeemOne(who, t);
          got[who.address + "share"] = await broker.reserveShare(sender.address);
        }
        results.push([alice, bob, carol].map((w) => [got[w.address], got[w.address + "share"]]));
      }
      // 0.35 > 0.3 = 0.9 / 3: everyone is refused in both orders, and the share stays 0.3.
      expect(results[0]).to.deep.equal(results[1]);
      for (const [o, share] of results[0]) {
        expect(o).to.equal(Outcome.ReserveShareUsedUp);
        expect(share).to.equal(E("0.3"));
      }
    });

    it("a refused draw still fixes the round's snapshot (as on the embedded ledger)", async function () {
      await twoRecipientsLastRound(E("1"));
      const big = await h.signTicket(broker, sender, alice, { faceValue: E("0.6") });
      expect(await redeemOne(alice, big)).to.equal(Outcome.ReserveShareUsedUp);
      await broker.fundReserve({ value: E("1") }); // after the snapshot: does not raise the share this round
      expect(await broker.reserveShare(sender.address)).to.equal(E("0.5"));
      expect(await redeemOne(alice, big)).to.equal(Outcome.ReserveShareUsedUp);
    });

    it("recipients paid only from the deposit still count for the next round's split", async function () {
      await broker.fundDepositAndReserve(E("1"), E("0.6"), { value: E("1.6") });
      for (const who of [alice, bob, carol]) {
        expect(await redeemOne(who, await h.signTicket(broker, sender, who, { faceValue: 1n }))).to.equal(Outcome.Paid);
      }
      expect(await broker.reserveRecipients(sender.address)).to.equal(1n); // this round: none were paid last round
      await h.toRound(broker, (await broker.currentRound()) + 1n);
      expect(await broker.reserveRecipients(sender.address)).to.equal(3n);
      expect(await broker.reserveShare(sender.address)).to.equal(E("0.2"));
      // A round with no payments resets the count.
      await h.toRound(broker, (await broker.currentRound()) + 2n);
      expect(await broker.reserveRecipients(sender.address)).to.equal(1n);
    });

    it("reserveTaken resets each round", async function () {
      await broker.fundReserve({ value: E("1") });
      expect(await redeemOne(alice, await h.signTicket(broker, sender, alice, { faceValue: E("0.25") }))).to.equal(Outcome.Paid);
      expect(await broker.reserveTaken(sender.address, alice.address)).to.equal(E("0.25"));
      await h.toRound(broker, (await broker.currentRound()) + 1n);
      expect(await broker.reserveTaken(sender.address, alice.address)).to.equal(0n);
    });
  });
});
