// What a worker node is, once its options are read: the backend its chunks
// run on and the capabilities it advertises. Shared by polymer-node and by
// polymer-run --mpi's node ranks (cluster/mpi_launch.h), which serve the same
// NodeServer in-process.
#pragma once

#include <cstdint>
#include <string>

#include "cluster/node_server.h"
#include "isa/result.h"

namespace polymer::cluster {

struct NodeSetup {
    bool vulkan = false;           // chunks on the first Vulkan device, else on CPU pool threads
    unsigned threads = 0;          // chunk workers; 0: usable_cores()
    std::uint64_t max_memory = std::uint64_t{1} << 30;
    std::string name;              // advertised; empty: the host name
    bool probe_vulkan = true;      // list the Vulkan devices in the capabilities
    // Measure the throughput figure at start-up; off: advertise none (0), and
    // homes take the mean of the others' (chunk_sizing.h): for nodes that
    // share one machine, as --local-nodes starts them.
    bool probe_throughput = true;
    // Test only (docs/cluster.md): an extra fake device, a fixed throughput figure.
    std::string fake_device_type;
    double fake_throughput = 0;
};

// A NodeConfig with execute, runs_inline, threads and caps filled in (the
// throughput measured unless faked); the caller adds the address, secret,
// limits and heartbeats. An error when `vulkan` finds no device.
Result<NodeConfig> node_config(const NodeSetup& setup);

// The CPUs this process may run on (its affinity mask: what taskset, mpirun's
// binding or Slurm's --cpus-per-task leave it), at least 1.
unsigned usable_cores();
std::string host_name();

}  // namespace polymer::cluster
