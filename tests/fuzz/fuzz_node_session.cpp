// libFuzzer target: a whole polymer-node session. One NodeServer (the real
// one: admission, handshake, store, chunk runner on the CPU backend) listens
// on loopback in this process; each input is one connection. If the input's
// first byte is odd the connection first completes a real handshake with the
// node's token, so the rest reaches the authenticated message handling
// (module uploads, regions, launches); otherwise the rest is the handshake
// itself. The bytes are sent, the sending side is shut, and the reply is
// read until the node closes or goes quiet. The node must never crash, and
// must still complete a handshake after every input (checked every 256).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <asio.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <thread>
#include <vector>

#include "cluster/auth.h"
#include "cluster/chunk_runner.h"
#include "cluster/frame.h"
#include "cluster/log.h"
#include "cluster/messages.h"
#include "cluster/node_server.h"
#include "vm/backend.h"

using namespace polymer;
using namespace polymer::cluster;

namespace {

const std::vector<std::uint8_t> kSecret(32, 0x5a);

struct Node {
    asio::io_context io;
    std::unique_ptr<NodeServer> server;
    std::uint16_t port = 0;
    std::thread thread;

    Node() {
        set_log_level(LogLevel::Error);  // every refused input would log a line
        NodeConfig config;
        config.port = 0;
        config.secret = kSecret;
        config.caps.name = "fuzz";
        config.caps.backend = "cpu";
        config.caps.cores = 1;
        config.caps.max_memory = 64u << 20;
        config.heartbeat_timeout = std::chrono::milliseconds(2000);
        config.limits.handshake_timeout = std::chrono::milliseconds(500);
        config.limits.connection_rate = 1e9;  // one fuzzer opens thousands a second
        config.limits.connection_burst = 1u << 30;
        config.execute = [](const PreparedChunk& chunk) -> Result<ChunkResult> {
            thread_local CpuBackend cpu;
            return run_chunk(chunk, cpu);
        };
        server = std::make_unique<NodeServer>(io, std::move(config));
        auto listening = server->listen();
        if (!listening) std::abort();
        port = listening.value();
        server->start();
        thread = std::thread([this] { io.run(); });
    }
};

Node& node() {
    static Node* n = new Node();  // never destroyed: libFuzzer exits without unwinding
    return *n;
}

int connect_to_node() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        std::fprintf(stderr, "fuzz_node_session: socket: %s\n", std::strerror(errno));
        std::abort();
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(node().port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A blocking connect: the node accepts when its io thread gets to it; a
    // refusal means it stopped listening.
    int error = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
    if (error == EINTR) {
        // libFuzzer's SIGALRM (its -timeout check) came in: the connect goes
        // on; wait for it and take its outcome.
        pollfd p{fd, POLLOUT, 0};
        while (poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        socklen_t length = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    }
    if (error != 0) {
        std::fprintf(stderr, "fuzz_node_session: the node stopped listening: %s\n", std::strerror(error));
        std::abort();
    }
    timeval timeout{0, 300'000};  // a node that goes quiet ends the input
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool send_all(int fd, std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

bool read_exact(int fd, std::uint8_t* into, std::size_t size) {
    while (size > 0) {
        const ssize_t n = recv(fd, into, size, 0);
        if (n <= 0) return false;
        into += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// One frame of the expected type, or false.
bool read_frame(int fd, MsgType type, std::vector<std::uint8_t>& payload) {
    std::array<std::uint8_t, kFrameHeaderSize> header;
    if (!read_exact(fd, header.data(), header.size())) return false;
    const HeaderCheck check = decode_header(header);
    if (check.fault != FrameFault::None || check.header.type != type || check.header.payload_length > (1u << 20))
        return false;
    payload.resize(check.header.payload_length);
    return read_exact(fd, payload.data(), payload.size());
}

bool send_frame(int fd, MsgType type, std::vector<std::uint8_t> payload) {
    Frame f;
    f.type = type;
    f.payload = std::move(payload);
    return send_all(fd, encode_frame(f));
}

// The client side of the handshake (docs/protocol.md, "Handshake").
bool handshake(int fd) {
    if (!send_frame(fd, MsgType::Hello, encode(Hello{kProtocolVersion, "fuzz-home"}))) return false;
    std::vector<std::uint8_t> payload;
    if (!read_frame(fd, MsgType::Challenge, payload)) return false;
    auto challenge = decode_challenge(payload);
    if (!challenge) return false;
    const Nonce client_nonce{1, 2, 3};
    const Response response{client_proof(kSecret, challenge.value().node_nonce, client_nonce), client_nonce};
    if (!send_frame(fd, MsgType::Response, encode(response))) return false;
    return read_frame(fd, MsgType::Welcome, payload);
}

void drain(int fd) {
    std::uint8_t buf[4096];
    while (recv(fd, buf, sizeof buf, 0) > 0) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static std::uint64_t inputs = 0;
    if (size == 0) return 0;
    const bool authenticate = (data[0] & 1) != 0;
    const int fd = connect_to_node();
    if (!authenticate || handshake(fd)) {
        send_all(fd, std::span(data + 1, size - 1));
        shutdown(fd, SHUT_WR);
        drain(fd);
    }
    close(fd);
    // The node still serves a real home.
    if (++inputs % 256 == 0) {
        const int check = connect_to_node();
        if (!handshake(check)) std::abort();
        close(check);
    }
    return 0;
}
