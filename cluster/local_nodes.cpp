#include "cluster/local_nodes.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cluster/address_file.h"
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

// How long a node may take from fork to listening (it measures its
// throughput for 50 ms first; a loaded machine is slower).
constexpr auto kStartTimeout = std::chrono::seconds(20);

// The last lines of a node's stderr, for an error message.
std::string tail_of(const std::string& log) {
    constexpr std::size_t kTail = 2000;
    if (log.empty()) return "no output";
    if (log.size() <= kTail) return log;
    const auto cut = log.find('\n', log.size() - kTail);
    return "..." + log.substr(cut == std::string::npos ? log.size() - kTail : cut);
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) return cat("exited with status ", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return cat("was killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
    return cat("stopped (wait status ", status, ")");
}
}  // namespace

Result<NodeAddress> LocalNodes::wait_until_listening(unsigned index, pid_t pid, int log_fd, const std::string& address_file) {
    std::string log;
    bool log_open = true;
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    for (;;) {
        auto address = read_address_file(address_file);
        if (!address) return Error{cat("--local-nodes: polymer-node ", index, ": ", address.error())};
        if (address.value()) {
            // Its "listening on" line came before the file: take it out of
            // the pipe, so that it is not passed on to our stderr.
            pollfd p{log_fd, POLLIN, 0};
            char buf[4096];
            ssize_t n;
            while (log_open && poll(&p, 1, 0) > 0 && (n = read(log_fd, buf, sizeof buf)) > 0) {}
            return *address.value();
        }
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            // Gone: whatever it said last is still in the pipe.
            char buf[4096];
            ssize_t n;
            while (log_open && (n = read(log_fd, buf, sizeof buf)) > 0) log.append(buf, static_cast<std::size_t>(n));
            forget(pid);
            std::erase(pids_, pid);
            return Error{cat("--local-nodes: polymer-node ", index, " ", describe_status(status),
                             " before it listened: ", tail_of(log))};
        }
        if (std::chrono::steady_clock::now() > deadline)
            return Error{cat("--local-nodes: polymer-node ", index, " wrote no address file in ",
                             std::chrono::duration_cast<std::chrono::seconds>(kStartTimeout).count(),
                             " s: ", tail_of(log))};
        // Wait for output or 2 ms, whichever comes first, then look again
        // (a node starts in tens of milliseconds: each poll is a wait added).
        pollfd p{log_fd, POLLIN, 0};
        if (!log_open || poll(&p, 1, 2) <= 0) {
            if (!log_open) usleep(2'000);
            continue;
        }
        char buf[4096];
        const ssize_t n = read(log_fd, buf, sizeof buf);
        if (n > 0) log.append(buf, static_cast<std::size_t>(n));
        else log_open = false;  // the node closed stderr: it is exiting
    }
}

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
    // A private folder (0700) for the token and each node's address file.
    char folder[] = "/tmp/polymer-local-XXXXXX";
    if (!mkdtemp(folder)) return Error{cat("--local-nodes: cannot create a folder in /tmp: ", std::strerror(errno))};
    nodes->folder_ = folder;
    nodes->token_path_ = nodes->folder_ + "/token";
    const int tfd = open(nodes->token_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (tfd < 0) return Error{cat("--local-nodes: cannot create '", nodes->token_path_, "': ", std::strerror(errno))};
    const bool written = write(tfd, token.data(), token.size()) == static_cast<ssize_t>(token.size());
    close(tfd);
    if (!written) return Error{"--local-nodes: cannot write the token file"};
    nodes->secret_.assign(token.begin(), token.end());

    // Every node starts first, then the home waits for them all: they start
    // up (and measure their throughput) side by side, not one after another.
    struct Starting {
        pid_t pid;
        int log_fd;
        std::string address_file;
    };
    std::vector<Starting> starting;
    for (unsigned i = 0; i < count; ++i) {
        const std::string address_file = cat(nodes->folder_, "/node-", i + 1, ".address");
        std::vector<std::string> args = {node_path, "--listen", "127.0.0.1:0", "--token-file", nodes->token_path_,
                                         "--address-file", address_file,
                                         "--name", cat("local-", i + 1), "--log-level", "warn", "--no-vulkan-probe",
                                         // one machine: its nodes are alike, and none need spend 50 ms saying so
                                         "--no-throughput-probe"};
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
        starting.push_back({pid, fds[0], address_file});
    }
    for (std::size_t i = 0; i < starting.size(); ++i) {
        // What the node says before it listens (its "listening on" line) is
        // kept for an error message only; after that its stderr is ours.
        auto address = nodes->wait_until_listening(static_cast<unsigned>(i + 1), starting[i].pid, starting[i].log_fd,
                                                   starting[i].address_file);
        if (!address) {
            for (std::size_t j = i; j < starting.size(); ++j) close(starting[j].log_fd);
            return Error{address.error()};
        }
        nodes->addresses_.push_back(address.value());
        nodes->drains_.emplace_back([fd = starting[i].log_fd] {
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
        for (int i = 0; i < 3000 && waitpid(p, &status, WNOHANG) == 0; ++i) usleep(1'000);
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
    // The token, and the address files of nodes that could not remove their own.
    if (!folder_.empty()) std::filesystem::remove_all(folder_);
    folder_.clear();
    token_path_.clear();
}

LocalNodes::~LocalNodes() { stop(); }

}  // namespace polymer::cluster
