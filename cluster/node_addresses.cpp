#include "cluster/node_addresses.h"

#include <charconv>

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

std::string format_address(const NodeAddress& address) {
    const bool ipv6 = address.host.find(':') != std::string::npos;
    return ipv6 ? cat("[", address.host, "]:", address.port) : cat(address.host, ":", address.port);
}

Result<NodeAddress> parse_host_port(std::string_view text, bool any_port, std::uint16_t default_port) {
    NodeAddress a;
    std::string_view host = text, port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return Error{cat("'", text, "' has no closing ']'")};
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') return Error{cat("'", text, "' is not [ADDR]:PORT")};
            port_text = text.substr(close + 2);
        }
    } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    if (host.empty()) return Error{cat("'", text, "' names no host (expected HOST:PORT)")};
    a.host = std::string(host);
    a.port = default_port;
    if (!port_text.empty() || text.back() == ':') {
        unsigned v = 0;
        const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
        const unsigned lowest = any_port ? 0 : 1;
        if (ec != std::errc() || p != port_text.data() + port_text.size() || v < lowest || v > 65535)
            return Error{cat("'", text, "': port '", port_text, "' is not ", lowest, "..65535")};
        a.port = static_cast<std::uint16_t>(v);
    }
    return a;
}

Result<std::vector<NodeAddress>> parse_nodes_file(std::string_view text, const std::string& file) {
    std::vector<NodeAddress> nodes;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = std::min(text.find('\n'), text.size());
        std::string_view line = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        line = line.substr(0, line.find('#'));
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos) continue;
        line = line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
        if (line.find_first_of(" \t,") != std::string_view::npos)
            return Error{cat(file, ":", line_number, ": '", line, "' is not one HOST:PORT (one node a line)")};
        auto node = parse_host_port(line);
        if (!node) return Error{cat(file, ":", line_number, ": ", node.error())};
        nodes.push_back(std::move(node).value());
    }
    return nodes;
}

}  // namespace polymer::cluster
