// The interpreter's form of one instruction, made once per module by the
// decoder: the fields already split out, jump and call targets already
// resolved to word indices, constants copied in, and region operands resolved
// to the Region they name. Index i of the decoded array is word i of
// Module::code, so a pc means the same thing in both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/module.h"
#include "isa/opcodes.h"
#include "isa/result.h"
#include "vm/region_store.h"

namespace polymer {

struct DecodedInsn {
    Op op = Op::Nop;
    std::uint8_t a = 0, b = 0, c = 0;
    // The immediate; for jumps, branches and calls the target word index.
    std::int32_t imm = 0;
    union {
        const DecodedInsn* target;   // jumps, branches, calls: &code[imm]
        std::int64_t int_const;      // liw
        double float_const;          // lif
        Region* region;              // ld/st (G[C]), len/rgn (G[B]), alloc/free/printr (G[A]);
                                     // nullptr for a handle operand (resolved when it runs)
        const std::string* string;   // prints
        std::uint64_t raw = 0;
    };
};
static_assert(sizeof(DecodedInsn) == 16, "keep the decoded form two words");

// One field of the instruction, as the word held it.
constexpr std::uint32_t decoded_field(const DecodedInsn& d, Field f) {
    switch (f) {
    case Field::A: return d.a;
    case Field::B: return d.b;
    case Field::C: return d.c;
    case Field::Imm: return static_cast<std::uint32_t>(d.imm);
    case Field::None: return 0;
    }
    return 0;
}

// Decodes every word of m.code, plus one trailing `halt` so that running off
// the end of the code can never read past the array. Checks what the
// interpreter relies on (register numbers, pool and region indices, targets,
// region types of loads and stores, shift amounts), so even a module that
// skipped the verifier cannot make the interpreter misbehave.
Result<std::vector<DecodedInsn>> decode_module(const Module& m, RegionStore& regions);

}  // namespace polymer
