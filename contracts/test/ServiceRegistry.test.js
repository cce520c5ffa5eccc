// ServiceRegistry: register, update, deregister, the views, and every revert.
const { expect } = require("chai");
const { ethers } = require("hardhat");

describe("ServiceRegistry", function () {
  let reg, a, b, c;
  const offers = [
    { capability: "h264/720p30", price: 3n },
    { capability: "relay", price: 1000n },
  ];

  beforeEach(async function () {
    [a, b, c] = await ethers.getSigners();
    reg = await ethers.deployContract("ServiceRegistry");
  });

  it("registers a record anyone can read", async function () {
    const roles = (await reg.ROLE_RELAY()) | (await reg.ROLE_TRANSCODER());
    const tx = await reg.register("https://a.example:8443", "eu-west", roles, offers);
    await expect(tx).to.emit(reg, "ServiceRegistered").withArgs(a.address, "https://a.example:8443", roles);
    const s = await reg.connect(c).getService(a.address);
    expect(s.endpoint).to.equal("https://a.example:8443");
    expect(s.region).to.equal("eu-west");
    expect(s.roles).to.equal(roles);
    expect(s.updatedBlock).to.equal(BigInt((await tx.wait()).blockNumber));
    expect(s.offers.map((o) => [o.capability, o.price])).to.deep.equal([["h264/720p30", 3n], ["relay", 1000n]]);
    expect(await reg.isRegistered(a.address)).to.equal(true);
    expect(await reg.priceOf(a.address, "relay")).to.deep.equal([true, 1000n]);
    expect(await reg.priceOf(a.address, "h265/1080p")).to.deep.equal([false, 0n]);
    expect(await reg.operatorCount()).to.equal(1n);
    expect(await reg.operators(0, 10)).to.deep.equal([a.address]);
  });

  it("update replaces the whole record, including fewer offers", async function () {
    await reg.register("a:1", "", 1, offers);
    await expect(reg.update("a:2", "us", 4, [{ capability: "relay", price: 7n }]))
      .to.emit(reg, "ServiceUpdated")
      .withArgs(a.address, "a:2", 4);
    const s = await reg.getService(a.address);
    expect([s.endpoint, s.region, s.roles]).to.deep.equal(["a:2", "us", 4n]);
    expect(s.offers.map((o) => [o.capability, o.price])).to.deep.equal([["relay", 7n]]);
    expect(await reg.priceOf(a.address, "h264/720p30")).to.deep.equal([false, 0n]);
  });

  it("deregister removes the record and keeps the operator list exact", async function () {
    await reg.connect(a).register("a", "", 1, []);
    await reg.connect(b).register("b", "", 2, offers);
    await reg.connect(c).register("c", "", 4, []);
    await expect(reg.connect(a).deregister()).to.emit(reg, "ServiceDeregistered").withArgs(a.address);
    expect(await reg.operatorCount()).to.equal(2n);
    expect([...(await reg.operators(0, 10))].sort()).to.deep.equal([b.address, c.address].sort());
    await expect(reg.getService(a.address)).to.be.revertedWithCustomError(reg, "NotRegistered");
    expect(await reg.isRegistered(a.address)).to.equal(false);
    await reg.connect(b).deregister();
    expect(await reg.operators(0, 10)).to.deep.equal([c.address]);
    expect(await reg.priceOf(b.address, "relay")).to.deep.equal([false, 0n]);
    // registering again starts clean
    await reg.connect(b).register("b2", "", 2, []);
    expect((await reg.getService(b.address)).offers).to.deep.equal([]);
    expect(await reg.operators(1, 1)).to.deep.equal([b.address]);
    expect(await reg.operators(5, 1)).to.deep.equal([]);
  });

  it("refuses a second registration, updates and deregistrations of nobody, and bad records", async function () {
    await expect(reg.update("x", "", 1, [])).to.be.revertedWithCustomError(reg, "NotRegistered");
    await expect(reg.deregister()).to.be.revertedWithCustomError(reg, "NotRegistered");
    await expect(reg.register("x", "", 0, [])).to.be.revertedWithCustomError(reg, "InvalidRoles");
    await expect(reg.register("x", "", 32, [])).to.be.revertedWithCustomError(reg, "InvalidRoles");
    await expect(reg.register("", "", 1, [])).to.be.revertedWithCustomError(reg, "EmptyEndpoint");
    await expect(reg.register("x".repeat(257), "", 1, [])).to.be.revertedWithCustomError(reg, "TooLong");
    await expect(reg.register("x", "r".repeat(33), 1, [])).to.be.revertedWithCustomError(reg, "TooLong");
    await expect(reg.register("x", "", 1, [{ capability: "", price: 1n }])).to.be.revertedWithCustomError(reg, "TooLong");
    await expect(reg.register("x", "", 1, [{ capability: "n".repeat(65), price: 1n }])).to.be.revertedWithCustomError(reg, "TooLong");
    const many = Array.from({ length: 33 }, (_, i) => ({ capability: "p" + i, price: BigInt(i) }));
    await expect(reg.register("x", "", 1, many)).to.be.revertedWithCustomError(reg, "TooManyOffers");
    await reg.register("x".repeat(256), "r".repeat(32), 31, many.slice(0, 32));
    await expect(reg.register("x", "", 1, [])).to.be.revertedWithCustomError(reg, "AlreadyRegistered");
    await expect(reg.update("x", "", 64, [])).to.be.revertedWithCustomError(reg, "InvalidRoles");
  });

  it("holds no ETH: a plain transfer is refused", async function () {
    await expect(a.sendTransaction({ to: await reg.getAddress(), value: 1 })).to.be.reverted;
  });
});
