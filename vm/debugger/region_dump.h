// Region slices as text, for the debugger's `x` and polymer-run --dump-region.
#pragma once

#include <cstdint>
#include <string>

#include "vm/machine.h"
#include "vm/region_store.h"

namespace polymer::debugger {

// One element as the disassembler would write it: integers in decimal,
// floats in the shortest form that reads back exactly (binary32 for f32).
std::string element_text(const Region& g, std::uint64_t i);

// "xs: f32[10], elements 2..5 of 10\n" then rows of eight, each starting
// with the index of its first element: "  [2]  1 1.5 2 2.5\n". `count` is
// clipped to the region's end; start past the end is an empty slice.
std::string dump_region(const Region& g, std::uint64_t start, std::uint64_t count);

// The same slice of one of `m`'s regions, brought home first when a backend
// keeps its values elsewhere (Machine::bring_home): what `x` and
// polymer-run --dump-region print.
std::string dump_region(const Machine& m, const Region& g, std::uint64_t start, std::uint64_t count);

}  // namespace polymer::debugger
