// Region handles a static check can see through (docs/language.md, "Region
// handles"): inside a basic block, a register set by `rgn rN, xs` holds the
// handle of `xs` until something else writes rN, so a handle operand `@rN`
// there names `xs` as surely as `xs` itself, and its type can be checked
// before the program runs. Anywhere else a handle's region is known only
// when the instruction runs (the VM checks it then: trap `bad-handle`).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "isa/module.h"

namespace polymer {

class KnownHandles {
public:
    KnownHandles() { forget(); }

    // At a basic block's start (a jump target): nothing is known.
    void forget() { region_.fill(kUnknown); }

    // The region a region operand value names: a region index as is, a
    // handle operand's region when known here, else nothing.
    std::optional<std::uint32_t> region(std::uint32_t operand) const;

    // After word `w`: `rgn` makes its register known; any other write to an
    // integer register, and every control transfer (a call may write any
    // register), makes it unknown.
    void after(const Module& m, Word w);

private:
    static constexpr std::int16_t kUnknown = -1;
    std::array<std::int16_t, kIntRegisters> region_{};
};

}  // namespace polymer
