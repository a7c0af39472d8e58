// --local-nodes N: N polymer-node processes on 127.0.0.1 (any free port),
// sharing a fresh random token in a private temp folder, where each node
// also writes its address file (--address-file): that is how the home
// learns the port each one got. They are stopped
// (SIGTERM, then SIGKILL) when this object goes, when stop_all_now() runs
// (async-signal-safe, for a SIGINT handler), and by the kernel if the home
// process dies first (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_backend.h"
#include "isa/result.h"

namespace polymer::cluster {

class LocalNodes {
public:
    // `node_path`: the polymer-node executable; `extra`: more arguments for each.
    static Result<std::unique_ptr<LocalNodes>> start(const std::string& node_path, unsigned count,
                                                     const std::vector<std::string>& extra = {});
    ~LocalNodes();
    LocalNodes(const LocalNodes&) = delete;
    LocalNodes& operator=(const LocalNodes&) = delete;

    const std::vector<NodeAddress>& addresses() const { return addresses_; }
    const std::vector<std::uint8_t>& secret() const { return secret_; }
    const std::string& token_path() const { return token_path_; }
    // Kills every node now; safe in a signal handler.
    static void stop_all_now();
    void stop();

private:
    LocalNodes() = default;
    // Waits for node `index`'s address file; an error naming how the node
    // ended and the tail of its stderr (`log_fd`) if it exits first.
    Result<NodeAddress> wait_until_listening(unsigned index, pid_t pid, int log_fd, const std::string& address_file);
    std::vector<pid_t> pids_;
    std::vector<std::thread> drains_;  // read each node's stderr so it never blocks
    std::vector<NodeAddress> addresses_;
    std::vector<std::uint8_t> secret_;
    std::string folder_;      // private (0700): the token and the address files
    std::string token_path_;  // folder_/token
};

// The polymer-node next to the running executable (/proc/self/exe's folder).
std::string sibling_executable(const std::string& name);

}  // namespace polymer::cluster
