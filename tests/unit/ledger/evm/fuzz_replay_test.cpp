// The EVM fuzz targets (fuzz/evm_*_fuzz.cpp) run in the unit tests too, under the
// ASan/UBSan build: over their seed corpora and over deterministic mutations of the
// seeds (byte flips, truncations, insertions), so a regression in a decoder's bounds
// shows up without the clang fuzz build. The entry points are renamed at compile time
// (tests/CMakeLists.txt); their invariants abort, which fails the test binary.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int fuzz_evm_rlp_one(const uint8_t* data, size_t size);
extern "C" int fuzz_evm_abi_one(const uint8_t* data, size_t size);

namespace openstreaming::ledger::evm {
namespace {

using Entry = int (*)(const uint8_t*, size_t);

std::vector<std::vector<uint8_t>> seeds(const std::string& corpus) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& file :
       std::filesystem::directory_iterator(std::string(OPENSTREAMING_FUZZ_CORPUS_DIR) + "/" + corpus)) {
    std::ifstream in(file.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

// xorshift64*: reproducible mutations, no random device.
struct Rng {
  uint64_t state;
  uint64_t next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ull;
  }
};

void replay(const std::string& corpus, Entry entry, int mutations_per_seed) {
  auto inputs = seeds(corpus);
  ASSERT_FALSE(inputs.empty()) << corpus;
  Rng rng{0x9e3779b97f4a7c15ull};
  for (const auto& seed : inputs) {
    entry(seed.data(), seed.size());
    for (int i = 0; i < mutations_per_seed; ++i) {
      std::vector<uint8_t> m = seed;
      int edits = 1 + static_cast<int>(rng.next() % 4);
      for (int e = 0; e < edits && !m.empty(); ++e) {
        std::size_t at = rng.next() % m.size();
        switch (rng.next() % 4) {
        case 0:
          m[at] ^= static_cast<uint8_t>(1u << (rng.next() % 8));
          break;
        case 1:
          m[at] = static_cast<uint8_t>(rng.next());
          break;
        case 2:
          m.resize(at);
          break;
        default:
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng.next()));
          break;
        }
      }
      entry(m.data(), m.size());
    }
  }
}

TEST(EvmFuzzTargets, RlpSeedsAndMutations) {
  replay("evm_rlp", fuzz_evm_rlp_one, 3000);
}
TEST(EvmFuzzTargets, AbiSeedsAndMutations) {
  replay("evm_abi", fuzz_evm_abi_one, 3000);
}

} // namespace
} // namespace openstreaming::ledger::evm
