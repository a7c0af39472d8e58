// polymer-node: the worker daemon. Listens for home nodes, authenticates them
// with the shared token, keeps their modules and regions, and runs kernel
// chunks on this machine's backend (docs/protocol.md). Its options come from
// the command line, then POLYMER_TOKEN_FILE, then --config FILE
// (docs/deploy.md); exit statuses in src/tools/exit_status.h.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cluster/address_file.h"
#include "cluster/auth.h"
#include "cluster/descriptors.h"
#include "cluster/host_port_option.h"
#include "cluster/log.h"
#include "cluster/node_server.h"
#include "cluster/node_setup.h"
#include "cluster/raw_reference.h"
#include "command_line.h"
#include "guarded_main.h"
#include "service_notify.h"

using namespace polymer;
using namespace polymer::cluster;

static int run_tool(int argc, char** argv) {
    using polymer::tools::usage_error;
    CLI::App app{"polymer-node: a Polymer worker daemon (protocol: docs/protocol.md)"};
    std::string listen = "127.0.0.1:" + std::to_string(kDefaultPort);
    std::string token_file, address_file, backend = "auto", name, log_level = "info", config_file;
    std::uint64_t max_memory = std::uint64_t{1} << 30;
    unsigned threads = usable_cores();
    unsigned heartbeat_ms = static_cast<unsigned>(kDefaultHeartbeatInterval.count());
    unsigned heartbeat_timeout_ms = static_cast<unsigned>(kDefaultHeartbeatTimeout.count());
    bool no_vulkan = false, no_throughput_probe = false, raw_reference = false, allow_readable_token = false, tls = false;
    std::string fake_device_type;
    double fake_throughput = 0;
    NodeLimits limits;
    unsigned handshake_timeout_ms = static_cast<unsigned>(limits.handshake_timeout.count());
    app.set_version_flag("--version", std::string("polymer-node ") + POLYMER_VERSION);
    app.add_option("--config", config_file,
                   "read any option not given on the command line (or in the environment) from FILE: `key = value` "
                   "lines (TOML), e.g. /etc/polymer/node.conf (docs/deploy.md)")
        ->type_name("FILE")
        ->configurable(false);

    const std::string serving = "Serving";
    std::string join;
    auto* listen_option = app.add_option("--listen", listen,
                                         "ADDR:PORT to listen on (port 0: any free port; with --join: only when given)")
        ->group(serving)
        ->type_name("ADDR:PORT")
        ->check(host_port_check(/*any_port=*/true))
        ->capture_default_str();
    app.add_option("--join", join,
                   "a home that listens for nodes (polymer-run's listen-nodes option): dial it (default port 7448), again "
                   "whenever it is not up or hangs up")
        ->group(serving)
        ->type_name("HOST[:PORT]")
        ->check(host_port_check(/*any_port=*/false, kDefaultHomePort));
    app.add_option("--address-file", address_file,
                   "once listening, write HOST:PORT (the real port) to this file, atomically, for launchers; "
                   "removed at a clean exit")
        ->group(serving)
        ->type_name("FILE");
    app.add_option("--name", name, "name advertised to home nodes (default: the host name)")->group(serving);
    std::uint16_t peer_port = 0;
    app.add_option("--peer-port", peer_port,
                   "the port other nodes of a home dial to fetch halos from this one, when a NAT or port forward maps "
                   "it to the listening port (default: the listening port)")
        ->group(serving)
        ->check(CLI::Range(1, 65535));
    app.add_option("--threads", threads, "worker threads for kernel chunks (default: one per core)")
        ->group(serving)
        ->check(CLI::Range(1u, 4096u));
    app.add_option("--max-memory", max_memory, "limit for regions and modules (e.g. 512M, 4G; K = 1024)")
        ->group(serving)
        ->type_name("SIZE")
        ->transform(polymer::tools::size_value())
        ->default_str("1G");
    app.add_option("--backend", backend, "where kernel chunks and spawned procedures' ops run (auto: cpu)")
        ->group(serving)
        ->check(CLI::IsMember({"auto", "cpu", "vulkan"}))
        ->capture_default_str();
    app.add_option("--log-level", log_level, "the least important log lines shown")
        ->group(serving)
        ->check(CLI::IsMember(log_level_names()))
        ->capture_default_str();
    app.add_option("--heartbeat-ms", heartbeat_ms, "heartbeat interval")
        ->group(serving)
        ->check(CLI::Range(1u, 3'600'000u))
        ->capture_default_str();
    app.add_option("--heartbeat-timeout-ms", heartbeat_timeout_ms, "drop a peer silent this long")
        ->group(serving)
        ->check(CLI::Range(1u, 3'600'000u))
        ->capture_default_str();

    // The token and the limits on what peers may cost the node (docs/security.md).
    const std::string security = "Security";
    app.add_option("--token-file", token_file,
                   "file holding the shared secret (at least 16 bytes; default: $POLYMER_TOKEN_FILE, else the "
                   "systemd credential $CREDENTIALS_DIRECTORY/token)")
        ->group(security)
        ->type_name("FILE")
        ->envname("POLYMER_TOKEN_FILE");
    app.add_flag("--allow-readable-token-file", allow_readable_token,
                 "accept a token file that group or others can read (a warning instead of an error)")
        ->group(security);
    app.add_flag("--tls", tls,
                 "accept (and, with --join, make) only TLS 1.3 connections, keyed by the token (no certificates); "
                 "homes need --tls too")
        ->group(security);
    app.add_option("--max-peer-memory", limits.max_peer_memory,
                   "what one home may hold: regions, modules, a frame being received (0: all of --max-memory)")
        ->group(security)
        ->type_name("SIZE")
        ->transform(polymer::tools::size_value())
        ->default_str("0");
    app.add_option("--handshake-timeout-ms", handshake_timeout_ms, "drop a connection not authenticated this long after accept")
        ->group(security)
        ->check(CLI::Range(1u, 3'600'000u))
        ->capture_default_str();
    app.add_option("--max-unauthenticated", limits.max_unauthenticated,
                   "connections waiting to authenticate at once; more are closed at accept")
        ->group(security)
        ->check(CLI::Range(1u, 1'000'000u))
        ->capture_default_str();
    app.add_option("--max-connection-rate", limits.connection_rate, "new connections per second from one address")
        ->group(security)
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--connection-burst", limits.connection_burst, "new connections one address may open at once")
        ->group(security)
        ->check(CLI::Range(1u, 1'000'000u))
        ->capture_default_str();

    const std::string testing = "Testing";
    app.add_flag("--no-vulkan-probe", no_vulkan, "do not list Vulkan devices at start-up")->group(testing);
    app.add_flag("--no-throughput-probe", no_throughput_probe,
                 "advertise no throughput figure instead of measuring one for 50 ms at start-up (homes then take the mean "
                 "of the others'): for nodes that share one machine, as polymer-run starts its local nodes")
        ->group(testing);
    app.add_option("--fake-device-type", fake_device_type,
                   "TEST ONLY: advertise one extra device of this type (e.g. discrete) so home nodes treat this "
                   "node as GPU-class; chunks still run on --backend (docs/cluster.md)")
        ->group(testing);
    app.add_flag("--raw-reference", raw_reference,
                 "BENCHMARK ONLY: also serve plain unauthenticated TCP (a byte sink and an 8-byte echo) on a free port "
                 "of the --listen address, cluster_bench's reference (docs/cluster.md)")
        ->group(testing);
    app.add_option("--fake-throughput", fake_throughput,
                   "TEST ONLY: advertise this many elements/s instead of measuring, so home nodes size this node's "
                   "claims by it (docs/cluster.md)")
        ->group(testing)
        ->check(CLI::PositiveNumber);
    app.footer("Exit status:\n"
               "  0   stopped by SIGINT or SIGTERM\n"
               "  1   cannot serve: an unusable token file, an address it cannot bind, an --address-file it cannot write, no Vulkan device\n"
               "  64  a usage error: an option, or a line of the --config file\n"
               "  70  an internal error (a bug)");
    if (auto done = polymer::tools::parse_command_line(app, argc, argv, "polymer-node")) return *done;
    if (auto done = polymer::tools::read_config_file(app, config_file, true, "polymer-node")) return *done;
    // Under systemd, LoadCredential=token:... puts the token here (dist/systemd/polymer-node.service).
    if (const char* credentials = std::getenv("CREDENTIALS_DIRECTORY"); token_file.empty() && credentials && *credentials)
        token_file = std::string(credentials) + "/token";
    if (token_file.empty())
        return usage_error("polymer-node", "--token-file is required (or POLYMER_TOKEN_FILE, token-file in the --config "
                                           "file, or the systemd credential $CREDENTIALS_DIRECTORY/token)");

    LogLevel level = LogLevel::Info;
    parse_log_level(log_level, level);  // one of log_level_names(): CLI11 checked it
    set_log_level(level);
    if (name.empty()) name = host_name();
    set_log_name("polymer-node[" + name + "]");

    limits.handshake_timeout = std::chrono::milliseconds(handshake_timeout_ms);
    auto token = read_token_file(token_file, allow_readable_token);
    if (!token) {
        log(LogLevel::Error, token.error());
        return polymer::tools::kExitFailure;
    }
    if (!token.value().warning.empty()) log(LogLevel::Warn, token.value().warning);

    NodeSetup setup;
    setup.vulkan = backend == "vulkan";
    setup.threads = threads;
    setup.max_memory = max_memory;
    setup.name = name;
    setup.probe_vulkan = !no_vulkan;
    setup.probe_throughput = !no_throughput_probe;
    setup.fake_device_type = fake_device_type;
    setup.fake_throughput = fake_throughput;
    auto made = node_config(setup);
    if (!made) {
        log(LogLevel::Error, made.error());
        return polymer::tools::kExitFailure;
    }
    NodeConfig& config = made.value();
    const NodeAddress where = parse_host_port(listen, /*any_port=*/true).value();  // CLI11 checked it
    config.address = where.host;
    config.port = where.port;
    config.secret = std::move(token.value().secret);
    config.limits = limits;
    config.tls = tls;
    config.advertised_peer_port = peer_port;
    log(LogLevel::Debug, raise_descriptor_limit());
    config.heartbeat_interval = std::chrono::milliseconds(heartbeat_ms);
    config.heartbeat_timeout = std::chrono::milliseconds(heartbeat_timeout_ms);
    config.on_shutdown = [] { tools::notify_stopping(); };

    std::vector<NodeAddress> home;
    if (!join.empty()) home.push_back(parse_host_port(join, /*any_port=*/false, kDefaultHomePort).value());  // CLI11 checked it
    asio::io_context io;
    const std::string address = config.address;
    NodeServer server(io, std::move(config));
    const bool listening = join.empty() || listen_option->count() != 0;
    Result<std::uint16_t> port = std::uint16_t{0};
    if (listening) port = server.listen();
    if (!port) {
        log(LogLevel::Error, port.error());
        return polymer::tools::kExitFailure;
    }
    if (raw_reference) {
        auto raw_port = serve_raw_reference(io, address);
        if (!raw_port) {
            log(LogLevel::Error, raw_port.error());
            return polymer::tools::kExitFailure;
        }
        log_line(LogLevel::Info,
                 pbc::cat("raw TCP reference on ", format_address({address, raw_port.value()}), " (benchmark only)"), true);
    }
    // The line first: a launcher that reads the node's stderr until the
    // address file appears has the line by then (cluster/local_nodes.cpp).
    const std::string where_listening = format_address({address, port.value()});
    if (listening) {
        log_line(LogLevel::Info, "listening on " + where_listening, true);
        if (!address_file.empty()) {
            if (std::string why = write_address_file(address_file, {address, port.value()}); !why.empty()) {
                log(LogLevel::Error, why);
                return polymer::tools::kExitFailure;
            }
        }
    }
    tools::notify_ready(listening ? "listening on " + where_listening : "joining " + join);
    server.start();
    for (const NodeAddress& h : home) {
        log_line(LogLevel::Info, "joining home " + format_address(h), true);
        server.join(h.host, h.port);
    }
    io.run();
    if (!address_file.empty()) std::remove(address_file.c_str());
    return polymer::tools::kExitOk;
}

int main(int argc, char** argv) {
    return polymer::tools::guarded_main("polymer-node", [&] { return run_tool(argc, argv); });
}
