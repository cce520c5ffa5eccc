// Helpers to read the files in tests/vectors.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace openstreaming::test {

inline std::string read_vector_file(const std::string& name) {
  std::ifstream in(std::string(OPENSTREAMING_VECTORS_DIR) + "/" + name);
  if (!in) throw std::runtime_error("missing test vector file " + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace openstreaming::test
