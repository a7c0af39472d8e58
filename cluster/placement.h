// Where a distributed region starts (docs/cluster.md, "Placement"): its
// grains cut into one contiguous block per participant, sized by the
// participant's rate and capped by the memory it has room for, so a region
// larger than any one machine fits when the participants' room together
// holds it, and each block is one run (a stencil's halos cross only between
// neighbours). Pure: the ClusterBackend calls it under its lock; the unit
// tests call it alone.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace polymer::cluster {

struct PlacementInput {
    double rate = 0;            // relative speed (any unit, the same for all); 0 or less: the mean of the others
    std::uint64_t room_grains = 0;  // grains its memory has room for
};

// How many of `grains` consecutive grains each participant gets, in order
// (participant k's block follows participant k-1's): shares in proportion
// to the rates, none past its room; what a full participant cannot take goes
// to the others in proportion to theirs. nullopt when the rooms together
// are short of `grains`.
std::optional<std::vector<std::uint64_t>> place_blocks(std::uint64_t grains, std::span<const PlacementInput> participants);

}  // namespace polymer::cluster
