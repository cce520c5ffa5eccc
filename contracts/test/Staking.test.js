// Staking: bond, unbond, rebond, withdraw after the unbonding period, the views, every revert.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const h = require("./helpers");

const PERIOD = 20n;
const E = (x) => ethers.parseEther(x);

describe("Staking", function () {
  let st, a, b;

  beforeEach(async function () {
    [a, b] = await ethers.getSigners();
    st = await ethers.deployContract("Staking", [PERIOD]);
  });

  it("refuses a zero or oversized unbonding period", async function () {
    const F = await ethers.getContractFactory("Staking");
    await expect(F.deploy(0)).to.be.revertedWithCustomError(F, "InvalidParameter");
    await expect(F.deploy(2n ** 32n)).to.be.revertedWithCustomError(F, "InvalidParameter");
    expect(await st.unbondingBlocks()).to.equal(PERIOD);
  });

  it("bond adds to the stake, readable by anyone", async function () {
    await expect(st.bond({ value: E("2") })).to.emit(st, "Bonded").withArgs(a.address, E("2"), E("2"));
    await expect(st.bond({ value: E("1") })).to.emit(st, "Bonded").withArgs(a.address, E("1"), E("3"));
    expect(await st.connect(b).bonded(a.address)).to.equal(E("3"));
    expect(await st.stakeOf(a.address)).to.equal(E("3"));
    expect(await st.totalBonded()).to.equal(E("3"));
    await expect(st.bond({ value: 0 })).to.be.revertedWithCustomError(st, "ZeroAmount");
  });

  it("unbond starts a lock withdrawable after the period, not before; stake counts it until then", async function () {
    await st.bond({ value: E("3") });
    await expect(st.unbond(0)).to.be.revertedWithCustomError(st, "ZeroAmount");
    await expect(st.unbond(E("4"))).to.be.revertedWithCustomError(st, "InsufficientBond").withArgs(E("3"), E("4"));
    const tx = await st.unbond(E("1"));
    const at = BigInt((await tx.wait()).blockNumber) + PERIOD;
    await expect(tx).to.emit(st, "Unbonded").withArgs(a.address, 0, E("1"), at);
    expect(await st.bonded(a.address)).to.equal(E("2"));
    expect(await st.unbonding(a.address)).to.equal(E("1"));
    expect(await st.stakeOf(a.address)).to.equal(E("3"));
    expect(await st.getLock(a.address, 0)).to.deep.equal([E("1"), at]);
    expect(await st.lockCount(a.address)).to.equal(1n);
    await h.mine(Number(PERIOD) - 2); // the next tx lands in at − 1
    await expect(st.withdraw(0)).to.be.revertedWithCustomError(st, "NotYetWithdrawable").withArgs(at);
    const w = st.withdraw(0); // lands in at
    await expect(w).to.changeEtherBalances([a, st], [E("1"), -E("1")]);
    await expect(w).to.emit(st, "Withdrawn").withArgs(a.address, 0, E("1"));
    expect(await st.stakeOf(a.address)).to.equal(E("2"));
    await expect(st.withdraw(0)).to.be.revertedWithCustomError(st, "NoSuchLock");
    await expect(st.withdraw(1)).to.be.revertedWithCustomError(st, "NoSuchLock");
    await expect(st.getLock(a.address, 1)).to.be.revertedWithCustomError(st, "NoSuchLock");
    expect(await st.getLock(a.address, 0)).to.deep.equal([0n, 0n]);
  });

  it("rebond returns a lock to the bonded stake; later locks keep their own periods", async function () {
    await st.bond({ value: E("3") });
    await st.unbond(E("1"));
    await h.mine(5);
    await st.unbond(E("1"));
    await expect(st.rebond(0)).to.emit(st, "Rebonded").withArgs(a.address, 0, E("1"));
    expect(await st.bonded(a.address)).to.equal(E("2"));
    expect(await st.unbonding(a.address)).to.equal(E("1"));
    await expect(st.rebond(0)).to.be.revertedWithCustomError(st, "NoSuchLock");
    await expect(st.rebond(9)).to.be.revertedWithCustomError(st, "NoSuchLock");
    await expect(st.withdraw(1)).to.be.revertedWithCustomError(st, "NotYetWithdrawable");
    expect(await st.totalBonded()).to.equal(E("2"));
    expect(await st.totalUnbonding()).to.equal(E("1"));
  });

  it("only the owner's withdraw moves its stake; a contract that refuses ETH keeps its lock", async function () {
    const actor = await ethers.deployContract("Actor");
    const S = await st.getAddress();
    await actor.call(S, 5, st.interface.encodeFunctionData("bond"), { value: 5 });
    await actor.call(S, 0, st.interface.encodeFunctionData("unbond", [5]));
    await h.mine(Number(PERIOD));
    await expect(st.connect(b).withdraw(0)).to.be.revertedWithCustomError(st, "NoSuchLock"); // b has no lock 0
    await actor.setMode(1);
    await expect(actor.call(S, 0, st.interface.encodeFunctionData("withdraw", [0]))).to.be.revertedWithCustomError(st, "TransferFailed");
    expect(await st.unbonding(await actor.getAddress())).to.equal(5n);
  });

  it("a re-entrant withdraw cannot pay twice", async function () {
    const actor = await ethers.deployContract("Actor");
    const S = await st.getAddress();
    await actor.call(S, 6, st.interface.encodeFunctionData("bond"), { value: 6 });
    await actor.call(S, 0, st.interface.encodeFunctionData("unbond", [3]));
    await actor.call(S, 0, st.interface.encodeFunctionData("unbond", [3]));
    await h.mine(Number(PERIOD));
    await actor.setReenter(S, st.interface.encodeFunctionData("withdraw", [1]));
    await expect(actor.call(S, 0, st.interface.encodeFunctionData("withdraw", [0]))).to.be.revertedWithCustomError(st, "TransferFailed");
    expect(await ethers.provider.getBalance(S)).to.equal(6n);
  });
});
