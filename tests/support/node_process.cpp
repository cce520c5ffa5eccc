#include "support/node_process.h"

#include "core/keystore.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace openstreaming::test {

NodeProcess::NodeProcess(const TempDir& dir, const std::string& name, uint64_t seed, NodeSpec spec)
    : m_dir(dir), m_name(name), m_spec(std::move(spec)) {
  core::DeterministicRandom rng(seed);
  auto key = core::PrivateKey::generate(rng);
  m_address = key.address();
  m_key_file = dir.write(name + ".key.json", core::keystore::encrypt(key, "test", rng, {1024, 8, 1}));
}

void NodeProcess::start() {
  std::ostringstream cfg;
  cfg << "key = \"" << m_key_file << "\"\n"
      << "data_dir = \"" << m_dir.file(m_name + ".data") << "\"\n"
      << "peer_exchange = " << (m_spec.peer_exchange ? "true" : "false") << "\n"
      << "bootstrap = [";
  for (std::size_t i = 0; i < m_spec.bootstrap.size(); ++i)
    cfg << (i ? ", " : "") << "\"" << m_spec.bootstrap[i] << "\"";
  cfg << "]\n" << m_spec.config_toml << "\n";
  m_config_file = m_dir.write(m_name + ".toml", cfg.str());
  std::vector<std::string> argv = {OPENSTREAMING_BIN, "--log-level", "debug", "node", "--config", m_config_file};
  argv.insert(argv.end(), m_spec.extra_args.begin(), m_spec.extra_args.end());
  SpawnOptions opts;
  opts.env["OPENSTREAMING_PASSWORD"] = "test";
  m_proc = std::make_unique<Process>(argv, opts);
  auto p2p = m_proc->wait_for_line("listening p2p ", std::chrono::seconds(20));
  auto api = m_proc->wait_for_line("listening api ", std::chrono::seconds(5));
  if (!p2p || !api) {
    m_proc->wait(std::chrono::seconds(1));
    throw std::runtime_error("node " + m_name + " did not start: " + m_proc->err());
  }
  m_p2p = p2p->substr(std::string("listening p2p ").size());
  m_api = api->substr(std::string("listening api ").size());
}

void NodeProcess::kill9() {
  m_proc->signal(SIGKILL);
  m_proc->wait(std::chrono::seconds(10));
  m_proc.reset();
}

int NodeProcess::stop() {
  m_proc->signal(SIGTERM);
  auto code = m_proc->wait(std::chrono::seconds(10));
  int result = code.value_or(-1);
  m_last_err = m_proc->err();
  m_proc.reset();
  if (result != 0) {
    // A node that did not exit cleanly says why on stderr; the last lines are
    // what a failing test's log needs (ASan reports and aborts end there).
    // A sanitizer report is printed whole (from its first line, up to 40 KB).
    constexpr std::size_t kTail = 6000, kReport = 40000;
    auto from = m_last_err.size() > kTail ? m_last_err.size() - kTail : 0;
    for (const char* mark : {"ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"}) {
      if (auto at = m_last_err.find(mark); at != std::string::npos) {
        from = std::min(from, m_last_err.rfind('\n', at) == std::string::npos ? 0 : m_last_err.rfind('\n', at) + 1);
        from = std::max(from, m_last_err.size() > kReport ? m_last_err.size() - kReport : std::size_t{0});
        break;
      }
    }
    std::fprintf(stderr, "node %s exited with %d; the end of its stderr:\n%s\n", m_name.c_str(), result,
                 m_last_err.substr(from).c_str());
  }
  return result;
}

nlohmann::json NodeProcess::get_json(const std::string& path) const {
  auto r = http_get(m_api, path);
  if (r.status != 200) return nullptr;
  return nlohmann::json::parse(r.body, nullptr, false);
}

std::vector<std::string> NodeProcess::peer_addresses() const {
  std::vector<std::string> out;
  auto j = get_json("/api/peers");
  if (!j.is_array()) return out;
  for (const auto& p : j) out.push_back(p["address"].get<std::string>());
  return out;
}

std::string NodeProcess::metrics() const {
  return http_get(m_api, "/metrics").body;
}

double NodeProcess::metric(const std::string& family, const std::vector<std::string>& label_filter) const {
  std::istringstream in(metrics());
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, family.size(), family) != 0) continue;
    char next = line.size() > family.size() ? line[family.size()] : ' ';
    if (next != '{' && next != ' ') continue;
    bool match = true;
    for (const auto& f : label_filter) match = match && line.find(f) != std::string::npos;
    if (match) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

} // namespace openstreaming::test
