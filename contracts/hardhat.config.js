// Hardhat 2 configuration for OpenStreaming's contracts.
//
// The compiler is the `solc` npm package pinned in package-lock.json (solcjs), never
// a download: TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD is overridden to hand Hardhat
// node_modules/solc/soljson.js, and any other version asked for is an error. So a
// build is reproducible from the lock file alone, offline.
require("@nomicfoundation/hardhat-ethers");
require("@nomicfoundation/hardhat-chai-matchers");

const path = require("node:path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const solc = require("solc");
// "0.8.28+commit.7893614a.Emscripten.clang" -> "0.8.28", "0.8.28+commit.7893614a"
const SOLC_LONG_VERSION = solc.version().replace(/\.Emscripten.*$/, "");
const SOLC_VERSION = SOLC_LONG_VERSION.split("+")[0];

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }) => {
  if (solcVersion !== SOLC_VERSION) {
    throw new Error(
      `hardhat.config.js: asked for solc ${solcVersion}, but only the npm package's ${SOLC_VERSION} is used (no downloads)`,
    );
  }
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: SOLC_LONG_VERSION,
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Cancun: transient storage for the reentrancy guard (every major L2 has it).
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 10000 },
    },
  },
  networks: {
    hardhat: {
      hardfork: "cancun",
      // Gas figures in scripts/gas.js are execution + calldata, independent of price.
      initialBaseFeePerGas: 0,
      allowUnlimitedContractSize: false,
    },
  },
  mocha: { timeout: 60000 },
};
