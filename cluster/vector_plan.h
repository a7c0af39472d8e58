// Where a vector op's pieces run on a cluster (docs/cluster.md, "Vector ops
// on the nodes"): [0, n) cut where the directory's runs of its operands
// change hands, each cut moved down to the op's piece alignment (a
// reduction's pieces start on a summation block: vm/vector_op.h), and each
// piece given to the participant that holds the most bytes of its inputs.
// Pure functions of the directory's runs; the home (backend_vectors.cpp)
// moves what a runner lacks and sends the pieces.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cluster/residency.h"

namespace polymer::cluster {

// A run of one operand, as the directory has it, and how wide its elements are.
struct OperandRun {
    std::uint64_t begin = 0, end = 0;  // elements
    HolderSet holders = kHomeMemory;
    std::uint64_t elem_bytes = 4;
};

struct VectorPiece {
    std::uint64_t begin = 0, end = 0;  // elements
    std::size_t runner = 0;            // index into the candidates
    friend bool operator==(const VectorPiece&, const VectorPiece&) = default;
};

// Cuts [0, n) at every boundary of `runs` moved down to a multiple of
// `align` (boundaries that meet merge), and gives each piece to the
// candidate (by its directory bit) holding the most bytes of `runs` inside
// it; ties go to the earlier candidate, and a piece nobody holds any of (its
// values were lost: the home recovers them) to `fallback`. Neighbouring
// pieces with the same runner are one piece. `runs` are the op's inputs'
// runs (the op's dst's when it has no inputs: vfill, viota).
std::vector<VectorPiece> plan_vector_pieces(std::uint64_t n, std::uint64_t align, std::span<const OperandRun> runs,
                                            std::span<const HolderSet> candidates, std::size_t fallback);

}  // namespace polymer::cluster
