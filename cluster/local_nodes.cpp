#include "cluster/local_nodes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cluster/auth.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {
// For stop_all_now(): plain array, read in a signal handler.
constexpr int kMaxLocal = 64;
std::atomic<pid_t> g_pids[kMaxLocal];

void remember(pid_t pid) {
    for (auto& slot : g_pids) {
        pid_t empty = 0;
        if (slot.compare_exchange_strong(empty, pid)) return;
    }
}
void forget(pid_t pid) {
    for (auto& slot : g_pids) {
        pid_t p = pid;
        slot.compare_exchange_strong(p, 0);
    }
}

// Reads stderr until "listening on 127.0.0.1:PORT"; 0 when the node exits first.
std::uint16_t read_port(int fd, std::string& log) {
    const std::string marker = "listening on 127.0.0.1:";
    char buf[512];
    for (;;) {
        const auto pos = log.find(marker);
        if (pos != std::string::npos && log.find('\n', pos) != std::string::npos)
            return static_cast<std::uint16_t>(std::atoi(log.c_str() + pos + marker.size()));
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return 0;
        log.append(buf, static_cast<std::size_t>(n));
    }
}
}  // namespace

std::string sibling_executable(const std::string& name) {
    char self[4096] = {};
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    std::string dir = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : std::string();
    const auto slash = dir.rfind('/');
    dir = slash == std::string::npos ? "." : dir.substr(0, slash);
    return dir + "/" + name;
}

Result<std::unique_ptr<LocalNodes>> LocalNodes::start(const std::string& node_path, unsigned count,
                                                      const std::vector<std::string>& extra) {
    if (count == 0 || count > kMaxLocal) return Error{cat("--local-nodes ", count, " is not 1..", kMaxLocal)};
    if (access(node_path.c_str(), X_OK) != 0) return Error{cat("--local-nodes: cannot run '", node_path, "'")};
    std::unique_ptr<LocalNodes> nodes(new LocalNodes());
    auto fresh = fresh_token();
    if (!fresh) return Error{"--local-nodes: " + fresh.error()};
    const std::string& token = fresh.value();
    // In a 0600 temp file, named on each node's command line.
    char tmpl[] = "/tmp/polymer-local-token-XXXXXX";
    const int tfd = mkstemp(tmpl);
    if (tfd < 0) return Error{"--local-nodes: cannot create a token file in /tmp"};
    fchmod(tfd, 0600);
    const bool written = write(tfd, token.data(), token.size()) == static_cast<ssize_t>(token.size());
    close(tfd);
    nodes->token_path_ = tmpl;
    if (!written) return Error{"--local-nodes: cannot write the token file"};
    nodes->secret_.assign(token.begin(), token.end());

    for (unsigned i = 0; i < count; ++i) {
        std::vector<std::string> args = {node_path, "--listen", "127.0.0.1:0", "--token-file", nodes->token_path_,
                                         "--name", cat("local-", i + 1), "--log-level", "warn", "--no-vulkan-probe"};
        args.insert(args.end(), extra.begin(), extra.end());
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) return Error{"--local-nodes: pipe failed"};
        const pid_t parent = getpid();
        const pid_t pid = fork();
        if (pid < 0) return Error{"--local-nodes: fork failed"};
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(1);
            dup2(fds[1], 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(fds[1]);
        nodes->pids_.push_back(pid);
        remember(pid);
        // The node logs "listening on" at info level even under --log-level warn.
        std::string log;
        const std::uint16_t port = read_port(fds[0], log);
        if (port == 0) {
            close(fds[0]);
            return Error{cat("--local-nodes: polymer-node ", i + 1, " did not start: ", log.empty() ? "no output" : log)};
        }
        nodes->addresses_.push_back(NodeAddress{"127.0.0.1", port});
        nodes->drains_.emplace_back([fd = fds[0]] {
            char buf[4096];
            ssize_t n;
            while ((n = read(fd, buf, sizeof buf)) > 0) (void)!write(2, buf, static_cast<std::size_t>(n));
            close(fd);
        });
    }
    return nodes;
}

void LocalNodes::stop_all_now() {
    for (auto& slot : g_pids)
        if (pid_t p = slot.load(); p > 0) kill(p, SIGKILL);
}

void LocalNodes::stop() {
    for (pid_t p : pids_) {
        kill(p, SIGTERM);
        kill(p, SIGCONT);  // a stopped node cannot act on SIGTERM
    }
    for (pid_t p : pids_) {
        // A node finishes its chunks and says goodbye; give it 3 s, then kill it.
        int status = 0;
        for (int i = 0; i < 300 && waitpid(p, &status, WNOHANG) == 0; ++i) usleep(10'000);
        if (waitpid(p, &status, WNOHANG) == 0) {
            kill(p, SIGKILL);
            waitpid(p, &status, 0);
        }
        forget(p);
    }
    pids_.clear();
    for (auto& t : drains_)
        if (t.joinable()) t.join();
    drains_.clear();
    if (!token_path_.empty()) std::remove(token_path_.c_str());
    token_path_.clear();
}

LocalNodes::~LocalNodes() { stop(); }

}  // namespace polymer::cluster
