// bench/payments : tickets created + signed and verified + checked
// per second, as a ratio against raw libsecp256k1 sign / recover of a
// precomputed hash in the same run (target: our throughput >= 0.8 of raw, i.e.
// time ratio <= 1.25); and ledger batch redemptions per second on SQLite,
// against the same number of plain SQLite inserts (the storage floor).
//
//   build/release/bench/bench_payments [--quick]
#include "core/hex.h"
#include "core/keccak.h"
#include "core/random.h"
#include "ledger/store.h"
#include "pay/tickets.h"
#include "support/paired.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace openstreaming;

namespace {

secp256k1_context* raw_ctx() {
  static secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  return ctx;
}

template <class T>
void keep(const T& v) {
  asm volatile("" : : "r,m"(v) : "memory");
}

struct Ledger final : pay::LedgerView {
  std::map<core::Address, pay::SenderFunds> a;
  Hash256 h{};
  std::optional<pay::SenderFunds> funds(const core::Address& s) const override { return a.at(s); }
  uint64_t current_round() const override { return 3; }
  std::optional<Hash256> round_block_hash(uint64_t) const override { return h; }
};

} // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  int rounds = quick ? 5 : 31;
  double batch_ms = quick ? 10 : 60;
  core::DeterministicRandom rng(6);
  auto sender = core::PrivateKey::generate(rng), recipient = core::PrivateKey::generate(rng);
  pay::TicketDomain domain;
  Ledger ledger;
  ledger.a[sender.address()] = {*core::Amount::parse("1000ether"), *core::Amount::parse("1000ether"), 1, 0};
  pay::TicketReceiver receiver(recipient.address(), Hash256{7}, domain);
  auto params = receiver.params(sender.address(), core::U256("1000000000000000"), pay::win_prob_from(0.01), 3, ledger.h, 1);
  pay::TicketSender ts(sender, domain);

  // A: create + sign a ticket (struct hash, EIP-712 digest, recoverable signature).
  uint64_t nonce = 0;
  const core::Address sender_address = sender.address(); // derived once, as TicketSender does
  auto make = [&] {
    pay::Ticket t;
    t.recipient = params.recipient;
    t.sender = sender_address;
    t.face_value = params.face_value;
    t.win_prob = params.win_prob;
    t.sender_nonce = ++nonce;
    t.recipient_rand_hash = params.recipient_rand_hash;
    t.creation_round = params.creation_round;
    t.creation_round_block_hash = params.creation_round_block_hash;
    keep(pay::sign_ticket(sender, t, domain));
  };
  Hash256 digest = rng.bytes<32>();
  auto raw_sign = [&] {
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_ecdsa_sign_recoverable(raw_ctx(), &rsig, digest.data(), sender.secret().data(), nullptr, nullptr);
    unsigned char out[65];
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(raw_ctx(), out, &recid, &rsig);
    keep(out);
  };
  auto create = bench::paired(make, raw_sign, rounds, batch_ms);

  // B: verify + check a ticket (recover, HMAC rand, replay set, funds) — fresh nonces each time.
  std::vector<pay::SignedTicket> pool;
  ts.owe(params.recipient, *core::Amount::parse("1000ether"));
  for (int i = 0; i < 200000 && (pool.size() < (quick ? 20000u : 200000u)); i += 16) {
    auto b = ts.pay(params, 16);
    pool.insert(pool.end(), b->begin(), b->end());
  }
  std::size_t next = 0;
  auto check = [&] {
    keep(receiver.receive(pool[next % pool.size()], params.seed, ledger, {}));
    ++next;
  };
  auto sig = core::sign_hash(sender, digest);
  auto raw_recover = [&] {
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_ecdsa_recoverable_signature_parse_compact(raw_ctx(), &rsig, sig.bytes().data(), sig.recovery_id());
    secp256k1_pubkey pk;
    keep(secp256k1_ecdsa_recover(raw_ctx(), &pk, &rsig, digest.data()));
  };
  auto verify = bench::paired(check, raw_recover, rounds, batch_ms);

  std::printf("bench_payments: paired batches, median of per-round ratios (ours / raw libsecp256k1), %d rounds\n", rounds);
  std::printf("  create+sign ticket  %8.0f/s vs raw sign    %8.0f/s  ratio %.3f  throughput %.2f of raw (target >= 0.8)\n",
              1e9 / create.a_ns, 1e9 / create.b_ns, create.ratio, 1 / create.ratio);
  std::printf("  verify+check ticket %8.0f/s vs raw recover %8.0f/s  ratio %.3f  throughput %.2f of raw (target >= 0.8)\n",
              1e9 / verify.a_ns, 1e9 / verify.b_ns, verify.ratio, 1 / verify.ratio);

  // C: ledger batch redemption on SQLite (WAL, synchronous=FULL per block).
  auto dir = std::filesystem::temp_directory_path() / ("os-bench-ledger-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ledger::Genesis g;
  g.accounts[sender.address()] = *core::Amount::parse("1000000ether");
  g.accounts[recipient.address()] = *core::Amount::parse("1ether");
  g.round_blocks = 1000;
  auto store = ledger::LedgerStore::open((dir / "ledger.sqlite").string(), g);
  if (!store) {
    std::fprintf(stderr, "bench_payments: %s\n", store.error().message.c_str());
    return 1;
  }
  ledger::State& st = (*store)->state();
  (void)(*store)->submit(ledger::sign_tx(sender, 0, "fund", {{"deposit", "500000ether"}, {"reserve", "0ether"}}, g.chain_id));
  (*store)->seal_block(1);
  const int batches = quick ? 2 : 10, per_batch = 200;
  std::vector<ledger::json> txs;
  uint64_t rn = 1;
  for (int b = 0; b < batches; ++b) {
    ledger::json items = ledger::json::array();
    for (int i = 0; i < per_batch; ++i) {
      pay::Ticket t;
      t.recipient = recipient.address();
      t.sender = sender.address();
      t.face_value = core::U256("1000000000000000");
      t.win_prob = pay::max_win_prob();
      t.sender_nonce = ++rn;
      Hash256 rand = core::keccak256(as_bytes(std::to_string(rn)));
      t.recipient_rand_hash = core::keccak256(rand);
      t.creation_round = 0;
      t.creation_round_block_hash = *st.round_block_hash(0);
      auto s = pay::sign_ticket(sender, t, st.ticket_domain());
      items.push_back({{"ticket", t.to_json()}, {"signature", s.signature.to_hex()}, {"recipient_rand", core::to_hex(rand)}});
    }
    txs.push_back(items);
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < batches; ++b) {
    auto r = (*store)->submit(ledger::sign_tx(recipient, static_cast<uint64_t>(b), "redeem", {{"tickets", txs[static_cast<std::size_t>(b)]}}, g.chain_id));
    if (!r) std::fprintf(stderr, "redeem failed: %s\n", r.error().message.c_str());
    (*store)->seal_block(2 + b);
  }
  double redeem_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Baseline: the same number of rows inserted into SQLite, one transaction per batch.
  sqlite3* db = nullptr;
  sqlite3_open((dir / "plain.sqlite").string().c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (k TEXT);", nullptr, nullptr, nullptr);
  auto t1 = std::chrono::steady_clock::now();
  for (int b = 0; b < batches; ++b) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    std::string text = txs[static_cast<std::size_t>(b)].dump();
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO t (k) VALUES (?)", -1, &s, nullptr);
    sqlite3_bind_text(s, 1, text.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(s);
    sqlite3_finalize(s);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double plain_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
  double n = batches * per_batch;
  std::printf("  ledger redemption   %8.0f tickets/s in batches of %d (verify, pay, log, durable block) vs %8.0f/s plain "
              "SQLite inserts of the same bytes; ratio %.2f\n",
              n / redeem_s, per_batch, n / plain_s, redeem_s / plain_s);
  return 0;
}
