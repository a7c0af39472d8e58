// Where a node is, written `host:port` wherever Polymer takes one: --nodes,
// POLYMER_NODES, a --nodes-file line, polymer-node --listen. One parser for
// all of them (the command-line options reach it through CLI11 validators,
// cluster/host_port_option.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "isa/result.h"

namespace polymer::cluster {

inline constexpr std::uint16_t kDefaultPort = 7447;
// Where a home listens for nodes that dial it (polymer-run --listen-nodes,
// polymer-node --join): another port, so a home and a node share a box.
inline constexpr std::uint16_t kDefaultHomePort = 7448;

struct NodeAddress {
    std::string host;
    std::uint16_t port = 0;
};

// "host:port", "host" (`default_port`), IPv6 as "[::1]:7447". Port 0 ("any
// free port") only where a node or home listens (`any_port`). The error quotes
// the text and says what is wrong with it.
Result<NodeAddress> parse_host_port(std::string_view text, bool any_port = false, std::uint16_t default_port = kDefaultPort);

// "127.0.0.1:7447", "[::1]:7447": what parse_host_port reads back.
std::string format_address(const NodeAddress& address);

// A nodes file: one host:port per line; '#' starts a comment; blank lines are
// skipped. Errors name `file:line`.
Result<std::vector<NodeAddress>> parse_nodes_file(std::string_view text, const std::string& file);

}  // namespace polymer::cluster
