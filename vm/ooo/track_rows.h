// Spreads time spans over rows so that no two spans in one row overlap.
// The trace viewers draw one track as a stack of properly nested slices and
// drop or move a slice that partly overlaps another (Perfetto's rule for
// complete events on one thread), while instructions in flight, long ops and
// a node's chunk runs overlap freely: chrome_trace.cpp gives each row its own
// track.
#pragma once

#include <cstdint>
#include <vector>

namespace polymer {

struct Span {
    std::uint64_t begin = 0, end = 0;  // end >= begin; a span ending where another begins does not overlap it
};

// The row of each span, from 0. Taken in order of start, each span goes to
// the lowest row free at its start, so the number of rows is the most spans
// open at one moment (for the ROB: the most instructions in flight at once).
std::vector<std::uint32_t> assign_rows(const std::vector<Span>& spans);

}  // namespace polymer
