// The node's TOML configuration on arbitrary bytes: parse_node_config and then
// to_node_options must return options or an error naming what is wrong, never
// crash or throw (a config file is operator input, but it can come from anywhere).
#include "daemon/node_config.h"

#include <string_view>

using namespace openstreaming;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  daemon::NodeConfig config;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!daemon::parse_node_config(text, "fuzz.toml", config)) return 0;
  (void)daemon::to_node_options(config);
  return 0;
}
