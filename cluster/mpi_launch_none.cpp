// polymer-run built without MPI: --mpi says so (cluster/mpi_launch.h).
#include "cluster/mpi_launch.h"

namespace polymer::cluster {

Result<std::unique_ptr<MpiLaunch>> MpiLaunch::init(int&, char**&) {
    return Error{"--mpi: this polymer-run was built without MPI (CMake found no MPI: install libopenmpi-dev and "
                 "rebuild, docs/deploy.md)"};
}
MpiLaunch::~MpiLaunch() = default;
Result<LaunchedNodes> MpiLaunch::gather_nodes() { return Error{"built without MPI"}; }
int MpiLaunch::serve_as_node(NodeSetup) { return 1; }
int MpiLaunch::finish(int status) { return status; }

}  // namespace polymer::cluster
