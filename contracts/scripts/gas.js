// Gas per operation, as a table: `npx hardhat run scripts/gas.js` (in-process Hardhat
// network, cancun, optimizer as in hardhat.config.js). Figures are whole-transaction
// gasUsed (21000 base + calldata + execution, after refunds); per-ticket figures divide a
// batch's gasUsed by its size.
//
// The redemption scenario is a payee's steady state: the round is already initialised,
// every sender has paid this recipient before (so its storage slots exist), tickets
// win (winProb = max) and are paid from the deposit. "distinct senders": every ticket
// from a different sender (worst case per ticket); "one sender": all from one payer.
const { ethers } = require("hardhat");
const h = require("../test/helpers");

const E = (x) => ethers.parseEther(x);

async function gasOf(txPromise) {
  const rc = await (await txPromise).wait();
  return rc.gasUsed;
}

async function main() {
  const signers = await ethers.getSigners();
  const recipient = signers[1];
  const broker = await ethers.deployContract("TicketBroker", [1000, 2, 4]);
  // 50 funded senders (fresh wallets, funded from the test accounts).
  const senders = [];
  for (let i = 0; i < 50; i++) {
    const w = ethers.Wallet.createRandom().connect(ethers.provider);
    await (await signers[2 + (i % 10)].sendTransaction({ to: w.address, value: E("20") })).wait();
    await (await broker.connect(w).fundDepositAndReserve(E("10"), E("1"), { value: E("11") })).wait();
    senders.push(w);
  }
  const item = (t) => ({ ticket: t.ticket, sig: t.sig, recipientRand: t.rand });
  const ticket = (from) => h.signTicket(broker, from, recipient, { faceValue: E("0.001") });

  // Warm-up in round 0: each sender pays the recipient once (creates the pair slots).
  for (let i = 0; i < 50; i += 25) {
    const batch = [];
    for (const s of senders.slice(i, i + 25)) batch.push(item(await ticket(s)));
    await (await broker.connect(recipient).redeemWinningTickets(batch)).wait();
  }

  const rows = [];
  const fundGas = await gasOf(broker.connect(senders[0]).fundDeposit({ value: 1 }));

  async function batchGas(n, distinct) {
    await h.mine(1000); // a new round: first payment per (sender, recipient) this round
    await (await broker.initializeRound()).wait();
    const batch = [];
    for (let i = 0; i < n; i++) batch.push(item(await ticket(distinct ? senders[i] : senders[0])));
    const g = await gasOf(broker.connect(recipient).redeemWinningTickets(batch));
    return g / BigInt(n);
  }
  for (const distinct of [true, false]) {
    for (const n of [1, 10, 50]) {
      rows.push([`redeem, batch of ${n}, ${distinct ? "distinct senders" : "one sender"} (per ticket)`, await batchGas(n, distinct), n >= 10 ? "≤ 60,000" : ""]);
    }
  }
  {
    const t = await ticket(senders[3]);
    rows.push(["redeemWinningTicket (single, reverting API)", await gasOf(broker.connect(recipient).redeemWinningTicket(t.ticket, t.sig, t.rand)), ""]);
  }
  rows.push(["fundDeposit (existing sender)", fundGas, ""]);
  rows.push(["initializeRound (once per round, by anyone)", await (async () => {
    await h.mine(1000);
    return gasOf(broker.initializeRound());
  })(), ""]);

  const ch = await ethers.deployContract("StreamChannels", [40]);
  const [payer, payee] = signers;
  const expiry = (await h.blockNumber()) + 100000n;
  const openGas = await gasOf(ch.connect(payer).open(payee.address, expiry, ethers.id("g1"), { value: E("1") }));
  const id = await ch.channelId(payer.address, payee.address, ethers.id("g1"));
  const claim1 = await gasOf(ch.connect(payee).claim(id, E("0.1"), await h.signVoucher(ch, payer, id, E("0.1"))));
  const claim2 = await gasOf(ch.connect(payee).claim(id, E("0.2"), await h.signVoucher(ch, payer, id, E("0.2"))));
  const topUp = await gasOf(ch.connect(payer).topUp(id, { value: E("1") }));
  const close = await gasOf(ch.connect(payer).close(id));
  await h.mine(41);
  const settle = await gasOf(ch.connect(payer).settle(id));
  rows.push(["channel open", openGas, "≤ 110,000"]);
  rows.push(["channel claim (first)", claim1, "≤ 60,000"]);
  rows.push(["channel claim (later)", claim2, "≤ 60,000"]);
  rows.push(["channel topUp", topUp, ""]);
  rows.push(["channel close", close, ""]);
  rows.push(["channel settle", settle, ""]);

  const st = await ethers.deployContract("Staking", [100]);
  rows.push(["staking bond (first)", await gasOf(st.bond({ value: E("1") })), ""]);
  rows.push(["staking unbond", await gasOf(st.unbond(E("0.5"))), ""]);
  await h.mine(100);
  rows.push(["staking withdraw", await gasOf(st.withdraw(0)), ""]);

  const reg = await ethers.deployContract("ServiceRegistry");
  rows.push([
    "registry register (endpoint, region, 2 offers)",
    await gasOf(reg.register("https://relay.example:8443", "eu-west", 3, [
      { capability: "h264/720p30", price: 3n },
      { capability: "relay", price: 1000n },
    ])),
    "",
  ]);

  const anchors = [
    ["go-livepeer redeem budget per ticket (L1)", "350,000"],
    ["Raiden channel open", "111,000"],
    ["Raiden close", "118,500"],
    ["Raiden settle", "108,600"],
  ];
  const w = Math.max(...rows.map((r) => r[0].length), ...anchors.map((a) => a[0].length));
  const fmt = (n) => Number(n).toLocaleString("en-US");
  console.log(`| ${"operation".padEnd(w)} | ${"gas".padStart(9)} | goal      |`);
  console.log(`|${"-".repeat(w + 2)}|${"-".repeat(11)}|-----------|`);
  for (const [name, gas, goal] of rows) console.log(`| ${name.padEnd(w)} | ${fmt(gas).padStart(9)} | ${goal.padEnd(9)} |`);
  console.log(`| ${"anchors".padEnd(w)} | ${"".padStart(9)} |           |`);
  for (const [name, gas] of anchors) console.log(`| ${name.padEnd(w)} | ${gas.padStart(9)} |           |`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
