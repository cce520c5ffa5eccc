// Prints tests/vectors/evm_ethers_generated.json: ABI encodings, revert payloads and
// signed EIP-1559 transactions as ethers v6 (a standard Ethereum library) makes them,
// for the shapes our contracts use. Run once when the cases change, commit the output:
//   cd tests/interop && node evm_vectors.mjs > ../vectors/evm_ethers_generated.json
// evm_tests reads the JSON; nothing calls node at test time.
// Value conventions match abi_solidity_spec.json: integers as decimal strings,
// bytes as 0x hex, addresses as EIP-55 strings, arrays and tuples as JSON arrays.
import { AbiCoder, Interface, Transaction, Wallet, concat, id, keccak256, toUtf8Bytes, version } from "ethers";

const coder = AbiCoder.defaultAbiCoder();
const plain = (v) => {
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(plain);
  return v;
};
const word = (i) => keccak256(toUtf8Bytes(`openstreaming evm vector ${i}`));
const addr = (i) => new Wallet(word(`key ${i}`)).address;

const calls = [];
const call = (name, signature, args) => {
  const iface = new Interface([`function ${signature}`]);
  const fragment = iface.getFunction(signature.slice(0, signature.indexOf("(")));
  calls.push({
    name,
    signature,
    canonical: fragment.format("sighash"),
    selector: fragment.selector,
    args: plain(args),
    calldata: iface.encodeFunctionData(fragment, args),
  });
};

// TicketBroker (contracts/contracts/TicketBroker.sol): Ticket and Redemption as declared there.
const ticket = (i) => [addr(`payee ${i}`), addr(`payer ${i}`), 10n ** 16n * BigInt(i + 1), 2n ** 256n / 20n,
  1000n + BigInt(i), word(`rand hash ${i}`), 7n + BigInt(i), word(`round hash ${i}`)];
const TICKET = "(address,address,uint256,uint256,uint256,bytes32,uint256,bytes32)";
const REDEMPTION = `(${TICKET},bytes,bytes32)`;
const redemption = (i) => [ticket(i), concat([word(`r${i}`), word(`s${i}`), i % 2 ? "0x1c" : "0x1b"]), word(`rand ${i}`)];
call("TicketBroker.redeemWinningTickets, two tickets", `redeemWinningTickets(${REDEMPTION}[])`, [[redemption(0), redemption(1)]]);
call("TicketBroker.redeemWinningTickets, empty batch", `redeemWinningTickets(${REDEMPTION}[])`, [[]]);
call("TicketBroker.redeemWinningTicket", `redeemWinningTicket(${TICKET},bytes,bytes32)`, redemption(2));
// The three-array shape first sketched for the batch (before the contract existed).
call("parallel arrays of tickets, signatures and rands", `redeemWinningTickets(${TICKET}[],bytes[],uint256[])`, [
  [ticket(0), ticket(1)],
  [concat([word("r0"), word("s0"), "0x1b"]), concat([word("r1"), word("s1"), "0x1c"])],
  [BigInt(word("rand 0")), BigInt(word("rand 1"))],
]);
call("signed integers", "signed(int256,int8,int256,int64)", [-1n, -128n, -(2n ** 255n), 2n ** 63n - 1n]);
call("small uints and bool", "small(uint8,uint64,bool,uint256)", [255n, 2n ** 64n - 1n, false, 2n ** 256n - 1n]);
call("static arrays of words", "lists(uint256[],address[],bytes32[])", [[1n, 2n, 3n], [addr(1), addr(2)], [word(1)]]);
call("static tuple and fixed array", "fixedShapes((uint256,address,bool),bytes4[3],uint16[2][2])", [
  [5n, addr(3), true], ["0xdeadbeef", "0x00000000", "0xffffffff"], [[1n, 2n], [3n, 4n]],
]);
call("dynamic tuple with strings", "deposit((string,bytes,uint256[]),string)", [["stream-α", "0x0102", [9n]], ""]);
call("array of dynamic tuples", "batch((uint256,bytes)[],(address,string)[2])", [
  [[1n, "0x"], [2n, "0x" + "ab".repeat(40)]], [[addr(4), "one"], [addr(5), "two"]],
]);

const errorIface = new Interface([
  "error Error(string)", "error Panic(uint256)", "error TicketNotRedeemed(uint8 outcome)",
  "error Locked(uint256 withdrawRound, uint256 currentRound)",
]);
const reverts = [
  { name: "Error(string)", data: errorIface.encodeErrorResult("Error", ["ticket expired"]), reason: "ticket expired" },
  { name: "Panic(0x11)", data: errorIface.encodeErrorResult("Panic", [0x11n]), panic_code: "17" },
  { name: "TicketBroker TicketNotRedeemed(Expired)", signature: "TicketNotRedeemed(uint8)",
    data: errorIface.encodeErrorResult("TicketNotRedeemed", [8]), args: ["8"] },
  { name: "TicketBroker Locked", signature: "Locked(uint256,uint256)",
    data: errorIface.encodeErrorResult("Locked", [12n, 10n]), args: ["12", "10"] },
];

// Return data and log data: values encoded as the contract returns or emits them.
const returns = [
  { name: "redeemWinningTickets outcomes", types: "(uint8[])", values: [[0, 5, 11]],
    data: coder.encode(["uint8[]"], [[0, 5, 11]]) },
  { name: "TicketOutcome data (outcome, paid, fromReserve)", types: "(uint8,uint256,uint256)",
    values: ["0", (10n ** 16n).toString(), "0"], data: coder.encode(["uint8", "uint256", "uint256"], [0, 10n ** 16n, 0n]) },
  { name: "getSender (deposit, reserve, withdrawRound)", types: "(uint256,uint256,uint256)",
    values: [(10n ** 18n).toString(), (5n * 10n ** 17n).toString(), "0"],
    data: coder.encode(["uint256", "uint256", "uint256"], [10n ** 18n, 5n * 10n ** 17n, 0n]) },
];

const events = ["Transfer(address,address,uint256)", "TicketOutcome(bytes32,address,address,uint8,uint256,uint256)",
  "Funded(address,uint256,uint256)", "RoundInitialized(uint256,bytes32)"].map((s) => ({
  signature: s,
  topic: id(s),
}));

const key = word("tx key");
const wallet = new Wallet(key);
const redeem = calls[0].calldata;
const txs = [
  {
    name: "contract call on Base with an access list",
    tx: {
      type: 2, chainId: 8453n, nonce: 7, maxPriorityFeePerGas: 1000000n, maxFeePerGas: 3000000000n, gasLimit: 350000n,
      to: addr("contract"), value: 0n, data: redeem,
      accessList: [{ address: addr("contract"), storageKeys: [word("slot 0"), word("slot 1")] }, { address: addr(7), storageKeys: [] }],
    },
  },
  {
    name: "contract creation with value",
    tx: { type: 2, chainId: 11155111n, nonce: 0, maxPriorityFeePerGas: 2n * 10n ** 9n, maxFeePerGas: 40n * 10n ** 9n,
          gasLimit: 1500000n, to: null, value: 10n ** 17n, data: "0x6080604052", accessList: [] },
  },
  {
    name: "large values",
    tx: { type: 2, chainId: 2n ** 64n, nonce: 2 ** 53 - 1, maxPriorityFeePerGas: 2n ** 256n - 1n, maxFeePerGas: 2n ** 256n - 1n,
          gasLimit: 2n ** 64n - 1n, to: addr(8), value: 2n ** 256n - 1n, data: "0x", accessList: [] },
  },
];
const transactions = [];
for (const { name, tx } of txs) {
  const raw = await wallet.signTransaction(tx);
  const parsed = Transaction.from(raw);
  transactions.push({
    name,
    private_key: key,
    sender: wallet.address,
    tx: {
      chainId: tx.chainId.toString(), nonce: tx.nonce.toString(), maxPriorityFeePerGas: tx.maxPriorityFeePerGas.toString(),
      maxFeePerGas: tx.maxFeePerGas.toString(), gas: tx.gasLimit.toString(), ...(tx.to ? { to: tx.to } : {}),
      value: tx.value.toString(), data: tx.data, accessList: tx.accessList,
    },
    signing_hash: parsed.unsignedHash,
    raw,
    hash: parsed.hash,
  });
}

console.log(JSON.stringify({
  comment: `Generated by tests/interop/evm_vectors.mjs with ethers ${version} (npm); regenerate, never edit by hand.`,
  calls, reverts, returns, events, transactions,
}, null, 1));
