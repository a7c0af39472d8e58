// Random Polymer programs for the execution-mode differential test
// (ooo_differential_test.cpp): scalar and float code, loads and stores,
// vector ops, reductions and kernels over a few shared regions, branches on
// reduction results, loops with bounded trip counts, calls, the value stack,
// wait/fence and prints. Every program halts or traps within a bounded number
// of steps; some trap on purpose (division by zero, an index out of bounds, a
// bad launch) so that traps are compared too.
#pragma once

#include <cstdint>
#include <string>

namespace polymer::test {

// A module whose procedures main0 .. main<procs-1> are independent random
// programs over the same regions and kernels (one module for several
// programs: assembling the kernels is most of the cost of a test run).
std::string random_program(std::uint64_t seed, int procs);

}  // namespace polymer::test
