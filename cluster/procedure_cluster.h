// The backend of a procedure spawned onto a node (docs/language.md, "On the
// nodes"): the node's own (its Vulkan device under --backend vulkan, else a
// CpuBackend), or, for a procedure that says `.launches cluster`, a
// ClusterBackend over that and the home's other nodes, which the procedure's
// node dials as a home would, with its own token and --tls.
//
// Its regions are its Machine's copy (vm/procs/away.h), so the cluster
// keeps no data on the other nodes: each launch sends the slices it needs
// and its outputs come back (ClusterOptions::keep_data off).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/node_addresses.h"
#include "isa/module.h"
#include "vm/backend.h"

namespace polymer::cluster {

struct ProcedureBackends {
    // NodeConfig::procedure_backend; empty: a CpuBackend.
    std::function<std::unique_ptr<Backend>()> local;
    // How this node dials the others: the cluster's token, --tls, and the
    // name it gives them (their logs show it).
    std::vector<std::uint8_t> secret;
    bool tls = false;
    std::string name;

    // Made on the procedure's own thread at its first vector op or kernel.
    // A cluster that cannot be set up leaves the procedure on this node's
    // backend (logged). A launch the cluster cannot finish throws from the
    // backend's wait, which traps the procedure bad-launch where it waited
    // (AwayProcedure::run).
    std::unique_ptr<Backend> make(const Module& module, const std::vector<NodeAddress>& cluster) const;
};

}  // namespace polymer::cluster
