// Test helpers: a polymer-node child process (RAII: always killed and reaped),
// a temp token file, and a raw blocking socket for sending hand-made frames.
#pragma once

#include <asio.hpp>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/auth.h"
#include "cluster/frame.h"
#include "cluster/messages.h"

namespace polymer::cluster::testing {

class TempTokenFile {
public:
    explicit TempTokenFile(const std::string& secret) {
        char tmpl[] = "/tmp/polymer-token-XXXXXX";
        int fd = mkstemp(tmpl);
        path_ = tmpl;
        ::write(fd, secret.data(), secret.size());
        ::close(fd);
        chmod(path_.c_str(), 0600);
    }
    ~TempTokenFile() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
inline const std::string kSecret = "correct horse battery staple 0123";

class NodeProcess {
public:
    // `token_path`: empty for no --token-file; `prefix`: a command the node
    // runs under (e.g. `ip netns exec NS`, `env VAR=...`); `host`, `port`:
    // the address it listens on (port 0: any free one); `marker`: the log
    // text that says it is up ("" for "listening on HOST:").
    explicit NodeProcess(const std::string& token_path, std::vector<std::string> extra = {},
                         std::vector<std::string> prefix = {}, const std::string& host = "127.0.0.1",
                         std::uint16_t port = 0, std::string marker = "") {
        std::vector<std::string> args = prefix;
        args.push_back(POLYMER_NODE_PATH);
        if (!token_path.empty()) {
            args.push_back("--token-file");
            args.push_back(token_path);
        }
        for (std::string a : {std::string("--listen"), host + ":" + std::to_string(port), std::string("--threads"),
                              std::string("2"), std::string("--no-vulkan-probe")})
            args.push_back(a);
        if (std::find(extra.begin(), extra.end(), "--name") == extra.end()) {  // `extra` may name it
            args.push_back("--name");
            args.push_back("test-node");
        }
        args.insert(args.end(), extra.begin(), extra.end());
        start(std::move(args), host, std::move(marker));
    }
    // A node given exactly `args` after the executable (e.g. only --config FILE).
    struct ExactArguments {};
    NodeProcess(ExactArguments, std::vector<std::string> args, const std::string& host = "127.0.0.1") {
        args.insert(args.begin(), POLYMER_NODE_PATH);
        start(std::move(args), host);
    }
    ~NodeProcess() {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (reader_.joinable()) reader_.join();
    }

private:
    void start(std::vector<std::string> args, const std::string& host, std::string marker = "") {
        int fds[2];
        if (pipe(fds) != 0) std::abort();
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test or bench that dies (or exits) leaves no node behind
            dup2(fds[1], 2);
            close(fds[0]);
            close(fds[1]);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execvp(argv[0], argv.data());
            _exit(127);
        }
        close(fds[1]);
        reader_ = std::thread([this, fd = fds[0]] {
            char buf[4096];
            ssize_t n;
            while ((n = read(fd, buf, sizeof buf)) > 0) {
                std::lock_guard lock(mutex_);
                log_.append(buf, static_cast<std::size_t>(n));
                changed_.notify_all();
            }
            close(fd);
            std::lock_guard lock(mutex_);
            eof_ = true;
            changed_.notify_all();
        });
        if (!marker.empty()) {
            wait_for_log(marker);
            return;
        }
        marker = "listening on " + host + ":";
        if (wait_for_log(marker)) {
            std::lock_guard lock(mutex_);
            port_ = static_cast<std::uint16_t>(std::stoi(log_.substr(log_.find(marker) + marker.size())));
        }
    }

public:
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    std::string log() {
        std::lock_guard lock(mutex_);
        return log_;
    }
    // Waits (at most 10 s, so a broken node fails the test instead of hanging it).
    bool wait_for_log(const std::string& text) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(10),
                                 [&] { return log_.find(text) != std::string::npos || eof_; }) &&
               log_.find(text) != std::string::npos;
    }
    bool alive() { return !reaped_ && waitpid(pid_, nullptr, WNOHANG) == 0; }
    void signal(int sig) { kill(pid_, sig); }
    // Waits for the exit and returns the raw wait status.
    int wait_exit() {
        int status = 0;
        waitpid(pid_, &status, 0);
        reaped_ = true;
        return status;
    }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::uint16_t port_ = 0;
    std::thread reader_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::string log_;
    bool eof_ = false;
};

// A blocking socket that speaks frames by hand; reads give up after 5 s.
class RawPeer {
public:
    explicit RawPeer(std::uint16_t port) : socket_(io_) {
        socket_.connect({asio::ip::make_address("127.0.0.1"), port});
        timeval tv{5, 0};
        setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    void send_bytes(const std::vector<std::uint8_t>& b) {
        std::error_code ec;
        asio::write(socket_, asio::buffer(b), ec);
    }
    void send(MsgType type, std::uint64_t id, const Bytes& payload, std::uint16_t version = kProtocolVersion) {
        send_bytes(encode_frame(Frame{type, id, payload}, version));
    }
    // The next frame, or nullopt when the node closed the stream.
    std::optional<Frame> read() {
        std::array<std::uint8_t, kFrameHeaderSize> h{};
        std::error_code ec;
        asio::read(socket_, asio::buffer(h), ec);
        if (ec) return std::nullopt;
        HeaderCheck c = decode_header(h);
        if (c.fault != FrameFault::None) return std::nullopt;
        Frame f{c.header.type, c.header.request_id, Bytes(c.header.payload_length)};
        asio::read(socket_, asio::buffer(f.payload), ec);
        if (ec || !checksum_matches(h, f.payload, c.header.checksum)) return std::nullopt;
        return f;
    }
    // Skips heartbeats.
    std::optional<Frame> read_reply() {
        for (;;) {
            auto f = read();
            if (!f || f->type != MsgType::Heartbeat) return f;
        }
    }
    // True when the node has closed the connection (after any queued frames).
    bool closed_by_node() {
        for (;;) {
            auto f = read();
            if (!f) return true;
            if (f->type != MsgType::Heartbeat && f->type != MsgType::Error) return false;
        }
    }
    // The full handshake by hand; true when welcomed.
    bool handshake(const std::string& secret) {
        send(MsgType::Hello, 1, encode(Hello{kProtocolVersion, "raw"}));
        auto c = read_reply();
        if (!c || c->type != MsgType::Challenge) return false;
        auto ch = decode_challenge(c->payload);
        Nonce mine{};
        mine[0] = 7;
        send(MsgType::Response, 2, encode(Response{client_proof(bytes_of(secret), ch.value().node_nonce, mine), mine}));
        auto w = read_reply();
        return w && w->type == MsgType::Welcome;
    }
    void close() {
        std::error_code ec;
        socket_.close(ec);
    }

private:
    asio::io_context io_;
    asio::ip::tcp::socket socket_;
};

inline ErrorCode error_code_of(const Frame& f) {
    auto e = decode_error(f.payload);
    return e ? e.value().code : ErrorCode{0};
}

}  // namespace polymer::cluster::testing
