// An in-memory network of agent::Node cores with injected time: no sockets,
// no threads, no clock. Events run in (time, sequence) order, so a run is a
// pure function of the seed. Links have a fixed one-way latency and keep
// frames in order. This is the seed of the simulator (src/sim).
//
//   MemNetwork net(/*seed=*/1);
//   auto a = net.add(options_a);  auto b = net.add(options_b);
//   net.start_all();
//   ASSERT_TRUE(net.run_until([&] { return net.node(a).established_count() == 1; }, 5s));
#pragma once

#include "agent/node.h"
#include "sim/scheduler.h"

#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace openstreaming::test {

class MemNetwork {
public:
  explicit MemNetwork(uint64_t seed, Duration latency = 10ms);
  ~MemNetwork();

  // Adds a node listening at endpoint "n<index>:7000". Its key is derived from the seed and index.
  std::size_t add(agent::NodeOptions options);
  static core::Endpoint endpoint_of(std::size_t index) { return core::Endpoint{"n" + std::to_string(index), 7000}; }

  void start(std::size_t i);
  void start_all();
  // The node vanishes (like kill -9): its peers see their connections drop.
  void kill(std::size_t i);
  // A new Node with the same key and options at the same endpoint.
  void restart(std::size_t i);
  void shutdown(std::size_t i);
  bool alive(std::size_t i) const;

  agent::Node& node(std::size_t i);
  const core::PrivateKey& key(std::size_t i) const;
  std::size_t size() const { return m_slots.size(); }
  Timestamp now() const { return m_sched.now(); }
  const std::vector<std::pair<std::size_t, agent::Event>>& events() const { return m_events; }

  // Runs `fn` on node i and then delivers its outputs (e.g. to publish a part).
  void with(std::size_t i, const std::function<void(agent::Node&)>& fn);
  void run_for(Duration d);
  bool run_until(const std::function<bool()>& done, Duration limit);
  // True when every live node reaches every other live node over established links.
  bool connected() const;

private:
  struct Slot;
  class Sink;
  struct Link {
    std::size_t a;
    agent::ConnId ca;
    std::size_t b;
    agent::ConnId cb;
    uint64_t generation_a, generation_b;
  };
  void at(Timestamp t, std::function<void()> fn);
  void pump(std::size_t i);
  void on_transmit(std::size_t i, agent::Transmit t);
  void on_connect(std::size_t i, const agent::ConnectRequest& c);
  void on_close(std::size_t i, const agent::CloseRequest& c);
  void on_wake(std::size_t i, Timestamp t);
  void deliver(std::size_t from, agent::ConnId conn, core::Frame frame);

  core::DeterministicRandom m_random;
  Duration m_latency;
  sim::Scheduler m_sched; // the simulator's event queue: same (time, sequence) order
  std::vector<std::unique_ptr<Slot>> m_slots;
  std::map<std::pair<std::size_t, agent::ConnId>, std::pair<std::size_t, agent::ConnId>> m_links;
  std::vector<std::pair<std::size_t, agent::Event>> m_events;
};

} // namespace openstreaming::test
