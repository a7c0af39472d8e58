// The CLI11 check for an option that takes HOST:PORT (polymer-run --nodes,
// polymer-node --listen), so a bad address is a usage error naming the option
// and the value, from the one parser in cluster/node_addresses.h.
#pragma once

#include <CLI/CLI.hpp>

#include "cluster/node_addresses.h"

namespace polymer::cluster {

inline CLI::Validator host_port_check(bool any_port = false, std::uint16_t default_port = kDefaultPort) {
    CLI::Validator check([any_port, default_port](std::string& text) {
        auto parsed = parse_host_port(text, any_port, default_port);
        return parsed ? std::string() : parsed.error();
    }, "");
    return check;
}

}  // namespace polymer::cluster
