// The register rename map: for each architectural register, the reorder
// buffer entry (by sequence number) that will produce its newest value, or
// none when the committed register file holds it. Rollback after a squash is
// a rebuild from the entries that survive (define() in program order), so
// there are no checkpoints to keep.
#pragma once

#include <array>
#include <cstdint>

#include "isa/encoding.h"

namespace polymer::ooo {

enum class RegKind : std::uint8_t { Int, Float };

class RenameMap {
public:
    static constexpr std::uint64_t kCommitted = ~std::uint64_t{0};

    std::uint64_t producer(RegKind k, unsigned reg) const { return table(k)[reg]; }
    void define(RegKind k, unsigned reg, std::uint64_t seq) { table(k)[reg] = seq; }
    // After `seq` commits: the register reads the committed file again unless
    // a younger entry has renamed it since.
    void retire(RegKind k, unsigned reg, std::uint64_t seq) {
        if (table(k)[reg] == seq) table(k)[reg] = kCommitted;
    }
    void clear() {
        ints_.fill(kCommitted);
        floats_.fill(kCommitted);
    }
    RenameMap() { clear(); }

private:
    std::array<std::uint64_t, kIntRegisters>& table(RegKind k) { return k == RegKind::Int ? ints_ : floats_; }
    const std::array<std::uint64_t, kIntRegisters>& table(RegKind k) const {
        return k == RegKind::Int ? ints_ : floats_;
    }
    std::array<std::uint64_t, kIntRegisters> ints_;
    std::array<std::uint64_t, kFloatRegisters> floats_;
};
static_assert(kIntRegisters == kFloatRegisters, "RenameMap keeps both files in arrays of one size");

}  // namespace polymer::ooo
