// The address file (`polymer-node --address-file PATH`): one line
// `HOST:PORT\n` naming where the node listens, with the real port when it was
// asked for port 0, so a launcher learns it without reading the node's log.
// Written whole or not at all (a temp file renamed over PATH), so a reader
// never sees half a line.
#pragma once

#include <optional>
#include <string>

#include "cluster/node_addresses.h"
#include "isa/result.h"

namespace polymer::cluster {

// Empty on success, else what went wrong (with the path).
std::string write_address_file(const std::string& path, const NodeAddress& address);

// nullopt while the file does not exist yet; an error when it is not one
// HOST:PORT line.
Result<std::optional<NodeAddress>> read_address_file(const std::string& path);

}  // namespace polymer::cluster
