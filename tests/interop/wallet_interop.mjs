// Interop in both directions with ethers v6, a standard Ethereum wallet library:
//   - a keystore written by `openstreaming keys new` opens in ethers, and one
//     written by ethers opens in `openstreaming keys show`;
//   - an EIP-191 signature from either side verifies on the other;
//   - EIP-712 digests agree.
// Usage: node wallet_interop.mjs /path/to/openstreaming
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { Wallet, verifyMessage, TypedDataEncoder, encryptKeystoreJson } from "ethers";

const bin = process.argv[2];
assert.ok(bin, "usage: node wallet_interop.mjs OPENSTREAMING_BIN");
const dir = mkdtempSync(join(tmpdir(), "os-interop-"));
const env = { ...process.env };
delete env.OPENSTREAMING_PASSWORD;
const os = (...args) => execFileSync(bin, args, { env, encoding: "utf8" }).trim();
let passed = 0;
const check = async (name, fn) => {
  await fn();
  passed++;
  console.log(`ok - ${name}`);
};

try {
  const pwFile = join(dir, "pw");
  writeFileSync(pwFile, "interop password\n");

  await check("our keystore opens in ethers", async () => {
    const file = join(dir, "ours.json");
    const address = os("keys", "new", "--out", file, "--password-file", pwFile, "--light-kdf");
    const wallet = await Wallet.fromEncryptedJson(readFileSync(file, "utf8"), "interop password");
    assert.equal(wallet.address, address);
  });

  await check("ethers keystore opens in ours", async () => {
    const wallet = Wallet.createRandom();
    const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey },
      "interop password", { scrypt: { N: 1 << 12 } });
    const file = join(dir, "theirs.json");
    writeFileSync(file, json);
    const shown = JSON.parse(os("keys", "show", file, "--json", "--password-file", pwFile));
    assert.equal(shown.address, wallet.address);
    assert.equal(shown.public_key, wallet.signingKey.publicKey);
  });

  await check("our EIP-191 signature verifies in ethers", async () => {
    const file = join(dir, "ours.json");
    const address = JSON.parse(os("keys", "show", file, "--json", "--password-file", pwFile)).address;
    const sig = os("keys", "sign", file, "--message", "hello from the mesh", "--password-file", pwFile);
    assert.equal(verifyMessage("hello from the mesh", sig), address);
  });

  await check("ethers EIP-191 signature verifies in ours", async () => {
    const wallet = Wallet.createRandom();
    const sig = await wallet.signMessage("héllo ✓ unicode");
    assert.equal(os("keys", "verify", "--address", wallet.address, "--message", "héllo ✓ unicode", "--signature", sig), "valid");
    const r = spawnSync(bin, ["keys", "verify", "--address", wallet.address, "--message", "other", "--signature", sig], { env, encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout.trim(), "invalid");
  });

  await check("EIP-712 Mail digest matches ethers", async () => {
    const td = JSON.parse(readFileSync(new URL("../vectors/eip712_mail.json", import.meta.url), "utf8"));
    const types = { ...td.types };
    delete types.EIP712Domain;
    assert.equal(TypedDataEncoder.hash(td.domain, types, td.message),
      "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, 0 failed`);
