// What the pieces of `openstreaming demo` share (demo_command.cpp supervises,
// demo_observer.cpp watches, demo_dashboard.cpp serves; docs/demo.md).
#pragma once

#include "core/secp256k1.h"
#include "platform/child_process.h"
#include "platform/files.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace openstreaming::cli::demo {

inline constexpr const char* kStream = "demo";

// One participant: a child `openstreaming node` process and what the supervisor knows of it.
struct Member {
  std::string name, role;
  core::PrivateKey key;
  std::string key_file;
  std::vector<std::string> bootstrap_of; // names
  std::string misbehave;
  std::optional<platform::ChildProcess> proc;
  std::string p2p, api;
  bool stopped = false;
};

// A file's text, or "" when it cannot be read.
inline std::string read_text(const std::filesystem::path& p) {
  auto t = platform::read_file(p);
  return t ? *t : std::string();
}

} // namespace openstreaming::cli::demo
