// procs_bench's reference (docs/benchmarks.md, "Procedures"): Open MPI over
// TCP (mpirun --mca btl tcp,self) doing what pingpong.pasm and barrier.pasm
// do: an 8-byte ping-pong between ranks 0 and 1, or a barrier of every rank,
// ROUNDS times after 1,000 to warm up. Rank 0 prints the mean microseconds
// per round trip (per barrier) over the ROUNDS.
//   mpirun ... -np 2 mpi_reference pingpong 20000
//   mpirun ... -np 4 mpi_reference barrier 20000
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void ping_pong(int rank, long rounds) {
    long value = 0;
    for (long i = 0; i < rounds; ++i) {
        if (rank == 0) {
            value = i;
            MPI_Send(&value, 1, MPI_LONG, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(&value, 1, MPI_LONG, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(&value, 1, MPI_LONG, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(&value, 1, MPI_LONG, 0, 0, MPI_COMM_WORLD);
        }
    }
}

void barriers(long rounds) {
    for (long i = 0; i < rounds; ++i) MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const bool barrier = argc > 1 && std::strcmp(argv[1], "barrier") == 0;
    const long rounds = argc > 2 ? std::atol(argv[2]) : 20000;
    auto work = [&](long n) { barrier ? barriers(n) : ping_pong(rank, n); };
    work(1000);
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    work(rounds);
    const double t1 = MPI_Wtime();
    if (rank == 0) std::printf("%s %.2f\n", barrier ? "barrier" : "pingpong", (t1 - t0) / static_cast<double>(rounds) * 1e6);
    MPI_Finalize();
    return 0;
}
