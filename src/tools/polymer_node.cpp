// polymer-node: the worker daemon. Listens for home nodes, authenticates them
// with the shared token, keeps their modules and regions, and runs kernel
// chunks on this machine's backend (docs/protocol.md).
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "cluster/auth.h"
#include "cluster/descriptors.h"
#include "cluster/log.h"
#include "cluster/node_server.h"
#include "cluster/throughput_probe.h"
#include "cluster/raw_reference.h"
#include "isa/encoding.h"
#include "isa/opcodes.h"
#include "vm/backend.h"
#include "vm/vulkan/vulkan_backend.h"
#include "vm/vulkan/vulkan_context.h"
#include "guarded_main.h"

using namespace polymer;
using namespace polymer::cluster;

namespace {

// "ADDR:PORT" or "ADDR" (default port). IPv6 as "[::1]:7447".
bool parse_listen(const std::string& text, std::string& address, std::uint16_t& port) {
    std::string host = text, port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos) return false;
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') return false;
            port_text = text.substr(close + 2);
        }
    } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    if (host.empty()) return false;
    address = host;
    if (port_text.empty()) return true;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

// "512M", "4G", "1048576": bytes.
bool parse_size(const std::string& text, std::uint64_t& bytes) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p == text.data()) return false;
    std::string_view suffix(p, text.data() + text.size() - p);
    std::uint64_t scale = 1;
    if (suffix == "K" || suffix == "KiB") scale = 1ull << 10;
    else if (suffix == "M" || suffix == "MiB") scale = 1ull << 20;
    else if (suffix == "G" || suffix == "GiB") scale = 1ull << 30;
    else if (!suffix.empty()) return false;
    if (v > UINT64_MAX / scale) return false;
    bytes = v * scale;
    return true;
}

std::vector<DeviceDesc> list_vulkan_devices() {
    std::vector<DeviceDesc> out;
    auto devices = vk::VulkanContext::list_devices();
    if (!devices) {
        log(LogLevel::Info, "no Vulkan devices: ", devices.error());
        return out;
    }
    for (const vk::DeviceInfo& d : devices.value())
        out.push_back(DeviceDesc{d.name, vk::device_type_name(d.type), d.memory_bytes});
    return out;
}

}  // namespace

static int run_tool(int argc, char** argv) {
    CLI::App app{"polymer-node: a Polymer worker daemon (protocol: docs/protocol.md)"};
    std::string listen = "127.0.0.1:" + std::to_string(kDefaultPort);
    std::string token_file, max_memory_text = "1G", backend = "auto", name, log_level = "info";
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    unsigned heartbeat_ms = static_cast<unsigned>(kDefaultHeartbeatInterval.count());
    unsigned heartbeat_timeout_ms = static_cast<unsigned>(kDefaultHeartbeatTimeout.count());
    bool no_vulkan = false, raw_reference = false, allow_readable_token = false, tls = false;
    std::string fake_device_type;
    double fake_throughput = 0;
    NodeLimits limits;
    unsigned handshake_timeout_ms = static_cast<unsigned>(limits.handshake_timeout.count());
    std::string max_peer_memory_text = "0";
    app.set_version_flag("--version", std::string("polymer-node ") + POLYMER_VERSION);
    app.add_option("--listen", listen, "ADDR:PORT to listen on (port 0: any free port)")->capture_default_str();
    app.add_option("--token-file", token_file,
                   "file holding the shared secret (at least 16 bytes; default: $POLYMER_TOKEN_FILE)")
        ->envname("POLYMER_TOKEN_FILE")
        ->required();
    app.add_flag("--allow-readable-token-file", allow_readable_token,
                 "accept a token file that group or others can read (a warning instead of an error)");
    app.add_flag("--tls", tls,
                 "accept only TLS 1.3 connections, keyed by the token (no certificates); homes need --tls too");
    app.add_option("--threads", threads, "worker threads for kernel chunks")->capture_default_str();
    app.add_option("--max-memory", max_memory_text, "limit for regions and modules (e.g. 512M, 4G)")->capture_default_str();
    app.add_option("--backend", backend, "cpu | vulkan | auto (auto: cpu)")->capture_default_str();
    app.add_option("--name", name, "name advertised to home nodes (default: the host name)");
    app.add_option("--log-level", log_level, "debug | info | warn | error")->capture_default_str();
    app.add_option("--heartbeat-ms", heartbeat_ms, "heartbeat interval")->capture_default_str();
    app.add_option("--heartbeat-timeout-ms", heartbeat_timeout_ms, "drop a peer silent this long")->capture_default_str();
    app.add_flag("--no-vulkan-probe", no_vulkan, "do not list Vulkan devices at start-up");
    // The limits on what peers may cost the node (docs/security.md).
    app.add_option("--max-peer-memory", max_peer_memory_text,
                   "what one home may hold: regions, modules, a frame being received (0: all of --max-memory)")
        ->capture_default_str();
    app.add_option("--handshake-timeout-ms", handshake_timeout_ms, "drop a connection not authenticated this long after accept")
        ->check(CLI::Range(1u, 3'600'000u))
        ->capture_default_str();
    app.add_option("--max-unauthenticated", limits.max_unauthenticated,
                   "connections waiting to authenticate at once; more are closed at accept")
        ->check(CLI::Range(1u, 1'000'000u))
        ->capture_default_str();
    app.add_option("--max-connection-rate", limits.connection_rate, "new connections per second from one address")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--connection-burst", limits.connection_burst, "new connections one address may open at once")
        ->check(CLI::Range(1u, 1'000'000u))
        ->capture_default_str();
    app.add_option("--fake-device-type", fake_device_type,
                   "TEST ONLY: advertise one extra device of this type (e.g. discrete) so home nodes treat this "
                   "node as GPU-class; chunks still run on --backend (docs/cluster.md)");
    app.add_flag("--raw-reference", raw_reference,
                 "BENCHMARK ONLY: also serve plain unauthenticated TCP (a byte sink and an 8-byte echo) on a free port "
                 "of the --listen address, cluster_bench's reference (docs/cluster.md)");
    app.add_option("--fake-throughput", fake_throughput,
                   "TEST ONLY: advertise this many elements/s instead of measuring, so home nodes size this node's "
                   "claims by it (docs/cluster.md)")
        ->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);

    LogLevel level;
    if (!parse_log_level(log_level, level)) {
        std::fprintf(stderr, "polymer-node: --log-level '%s' is not one of debug, info, warn, error\n", log_level.c_str());
        return 2;
    }
    set_log_level(level);
    if (name.empty()) {
        char host[256] = {};
        gethostname(host, sizeof host - 1);
        name = host;
    }
    set_log_name("polymer-node[" + name + "]");

    NodeConfig config;
    if (!parse_listen(listen, config.address, config.port)) {
        log(LogLevel::Error, "--listen '", listen, "' is not ADDR:PORT");
        return 2;
    }
    std::uint64_t max_memory = 0;
    if (!parse_size(max_memory_text, max_memory)) {
        log(LogLevel::Error, "--max-memory '", max_memory_text, "' is not a size like 512M or 4G");
        return 2;
    }
    if (!parse_size(max_peer_memory_text, limits.max_peer_memory)) {
        log(LogLevel::Error, "--max-peer-memory '", max_peer_memory_text, "' is not a size like 512M or 4G");
        return 2;
    }
    limits.handshake_timeout = std::chrono::milliseconds(handshake_timeout_ms);
    if (backend != "cpu" && backend != "vulkan" && backend != "auto") {
        log(LogLevel::Error, "--backend '", backend, "' is not one of cpu, vulkan, auto");
        return 2;
    }
    auto token = read_token_file(token_file, allow_readable_token);
    if (!token) {
        log(LogLevel::Error, token.error());
        return 2;
    }
    if (!token.value().warning.empty()) log(LogLevel::Warn, token.value().warning);

    config.secret = std::move(token.value().secret);
    config.limits = limits;
    config.tls = tls;
    log(LogLevel::Debug, raise_descriptor_limit());
    config.threads = std::max(1u, threads);
    config.heartbeat_interval = std::chrono::milliseconds(std::max(1u, heartbeat_ms));
    config.heartbeat_timeout = std::chrono::milliseconds(std::max(1u, heartbeat_timeout_ms));
    // CPU: a backend per pool thread, chunks in parallel on the pool. Vulkan: one
    // device for the node; chunks take turns on it (the backend is not
    // thread-safe), each checked with can_run first.
    std::shared_ptr<VulkanBackend> vulkan;
    if (backend == "vulkan") {
        VulkanBackendOptions vo;
        vo.pipeline_cache_enabled = false;
        auto created = VulkanBackend::create(vo);
        if (!created) {
            log(LogLevel::Error, "--backend vulkan: ", created.error());
            return 1;
        }
        vulkan = std::move(created).value();
        log(LogLevel::Info, "kernel chunks run on Vulkan device '", vulkan->device().name, "'");
        auto turn = std::make_shared<std::mutex>();
        config.execute = [vulkan, turn](const PreparedChunk& chunk) -> Result<ChunkResult> {
            std::lock_guard lock(*turn);
            std::string why;
            if (!vulkan->can_run(chunk.launch, &why)) return Error{why};
            ChunkResult r = run_chunk(chunk, *vulkan);
            if (std::string e = vulkan->take_error(); !e.empty()) return Error{"Vulkan: " + e};
            return r;
        };
    } else {
        config.execute = [](const PreparedChunk& chunk) -> Result<ChunkResult> {
            thread_local CpuBackend cpu;  // its worker pool lives as long as the thread: not one per chunk
            return run_chunk(chunk, cpu);
        };
        // Straight-line kernels over few lanes cost microseconds at most: run
        // them on the io thread. Anything with a loop could run for ever and
        // must not hold up heartbeats and other peers.
        config.runs_inline = [](const PreparedChunk& chunk) {
            constexpr std::uint64_t kInlineWork = 1 << 14;  // lanes x kernel instructions
            const std::uint64_t lanes = chunk.launch.end - chunk.launch.begin;
            const auto& code = chunk.launch.kernel->code;
            if (lanes * code.size() > kInlineWork) return false;
            const auto loop = static_cast<std::uint8_t>(KOp::Loop);  // one word per instruction
            return std::none_of(code.begin(), code.end(), [loop](Word w) { return word_op(w) == loop; });
        };
    }
    config.caps.name = name;
    config.caps.backend = vulkan ? "vulkan" : "cpu";
    config.caps.cores = std::max(1u, std::thread::hardware_concurrency());
    config.caps.memory_bytes = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    config.caps.max_memory = max_memory;
    // The figure a home node sizes this node's first claims by (docs/cluster.md).
    if (fake_throughput > 0) {
        log(LogLevel::Warn, "--fake-throughput: advertising ", fake_throughput, " elements/s (test only)");
        config.caps.throughput = fake_throughput;
    } else {
        config.caps.throughput = measure_saxpy_throughput();
    }
    if (!no_vulkan) config.caps.devices = list_vulkan_devices();
    if (!fake_device_type.empty()) {
        log(LogLevel::Warn, "--fake-device-type: advertising a fake '", fake_device_type, "' device (test only)");
        config.caps.devices.push_back(DeviceDesc{"fake " + fake_device_type + " device (test only)", fake_device_type, 0});
    }

    asio::io_context io;
    const std::string address = config.address;
    NodeServer server(io, std::move(config));
    auto port = server.listen();
    if (!port) {
        log(LogLevel::Error, port.error());
        return 1;
    }
    const std::string host = listen.substr(0, listen.rfind(':'));
    if (raw_reference) {
        auto raw_port = serve_raw_reference(io, address);
        if (!raw_port) {
            log(LogLevel::Error, raw_port.error());
            return 1;
        }
        log_line(LogLevel::Info, pbc::cat("raw TCP reference on ", host, ":", raw_port.value(), " (benchmark only)"), true);
    }
    log_line(LogLevel::Info, pbc::cat("listening on ", host, ":", port.value()), true);
    server.start();
    io.run();
    return 0;
}

int main(int argc, char** argv) {
    return polymer::tools::guarded_main("polymer-node", [&] { return run_tool(argc, argv); });
}
