#include "support/swarm.h"

#include <gtest/gtest.h>

namespace openstreaming::test {

agent::NodeOptions line_options(std::optional<std::size_t> prev) {
  agent::NodeOptions o;
  if (prev) o.bootstrap = {MemNetwork::endpoint_of(*prev)};
  o.peer_exchange = false;
  return o;
}

std::size_t add_line(MemNetwork& net, std::size_t n) {
  const std::size_t first = net.size();
  for (std::size_t i = 0; i < n; ++i)
    net.add(line_options(i ? std::optional<std::size_t>(first + i - 1) : std::nullopt));
  return first;
}

core::PartInfo part_info(MemNetwork& net, std::size_t b, const core::StreamId& id, uint64_t seg, uint32_t part,
                         const std::string& rendition) {
  core::PartInfo info;
  info.stream_id = id;
  info.rendition = rendition;
  info.segment = seg;
  info.part = part;
  info.independent = part == 0;
  info.pts_us = static_cast<int64_t>(seg * 4 + part) * 500'000;
  info.duration_us = 500'000;
  info.ingest_unix_ms = net.node(b).environment().wall_clock_ms(net.now());
  return info;
}

void publish(MemNetwork& net, std::size_t b, const core::PartInfo& info, std::size_t size, uint8_t fill) {
  net.with(b, [&](agent::Node& n) {
    n.streams().publish_part(info, core::SharedSlice::copy_of(Bytes(size, fill)), net.now());
  });
}

void publish_end(MemNetwork& net, std::size_t b, const core::StreamId& id, uint64_t seg) {
  net.with(b, [&](agent::Node& n) {
    core::PartInfo last;
    last.stream_id = id;
    last.segment = seg;
    last.end_of_stream = true;
    last.ingest_unix_ms = n.environment().wall_clock_ms(net.now());
    n.streams().publish_part(last, core::SharedSlice{}, net.now());
  });
}

agent::ConnId conn_to(MemNetwork& net, std::size_t from, std::size_t to) {
  for (const auto& p : net.node(from).peers(net.now())) {
    if (p.address == net.key(to).address()) return p.conn;
  }
  ADD_FAILURE() << "node " << from << " is not connected to node " << to;
  return 0;
}

bool linked(MemNetwork& net, std::size_t from, std::size_t to) {
  for (const auto& p : net.node(from).peers(net.now())) {
    if (p.address == net.key(to).address()) return true;
  }
  return false;
}

} // namespace openstreaming::test
