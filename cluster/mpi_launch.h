// polymer-run --mpi (docs/deploy.md, "Launching with mpirun or Slurm"): under
// mpirun or srun, rank 0 is the home and runs the program; every other rank
// serves a node in-process (the NodeServer polymer-node runs). MPI only
// bootstraps: rank 0 broadcasts a fresh token and its host name, each node
// rank listens on a free port and the home gathers their `host:port`; from
// then on home and nodes speak the cluster's TCP protocol, faults and all.
// After the run, rank 0 broadcasts "stop" and the ranks meet at a barrier
// before MPI_Finalize.
//
// Built from mpi_launch.cpp when CMake finds MPI (Open MPI's libopenmpi-dev),
// else from mpi_launch_none.cpp, whose init() says --mpi is not available.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/node_addresses.h"
#include "cluster/node_setup.h"
#include "isa/result.h"

namespace polymer::cluster {

struct LaunchedNodes {
    std::vector<NodeAddress> nodes;    // where each node rank listens
    std::vector<std::uint8_t> secret;  // the token rank 0 broadcast
};

class MpiLaunch {
public:
    // MPI_Init_thread (MPI is called from the main thread only). An error
    // when polymer-run was built without MPI or MPI cannot start.
    static Result<std::unique_ptr<MpiLaunch>> init(int& argc, char**& argv);
    ~MpiLaunch();
    MpiLaunch(const MpiLaunch&) = delete;
    MpiLaunch& operator=(const MpiLaunch&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool is_home() const { return rank_ == 0; }

    // Rank 0: broadcasts a fresh token, gathers every node rank's address.
    // An error names each rank that could not start its node; the ranks
    // still wait for finish().
    Result<LaunchedNodes> gather_nodes();
    // Every other rank: serves the home until finish() on rank 0 says stop;
    // returns this process's exit status (MPI finalized).
    int serve_as_node(NodeSetup setup);
    // Rank 0 once the program is over (its cluster hung up): tells the nodes
    // to stop and finalizes; returns `status`. When a node rank does not
    // reach the barrier within kStopTimeout (stopped, hung), MPI_Abort with
    // `status` ends the job instead, so the home never hangs on it.
    int finish(int status);

    static constexpr int kStopTimeoutMs = 5000;

private:
    MpiLaunch(int rank, int size) : rank_(rank), size_(size) {}
    int rank_ = 0;
    int size_ = 1;
    bool finished_ = false;
};

}  // namespace polymer::cluster
