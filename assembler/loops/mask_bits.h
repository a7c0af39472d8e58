// Places a loop kernel's last-value mask bits (docs/loop-kernels.md, "Inside
// the pass"): the writer sets bit j with an `ori` after every write of the
// j-th last-value register; this merges and drops those `ori`s where that
// cannot change which bits a lane ends with.
#pragma once

#include <cstddef>
#include <cstdint>

#include "isa/module.h"

namespace polymer::loops {

// Rewrites k.code[begin, end) (structured kernel code: its if/else/loop
// blocks close inside the range) and its lines. A lane's final mask is the
// same as before, whatever path it takes:
// - the items of a straight run, up to and including the first that may
//   leave it (a break or continue, or an if holding one), all start when the
//   run does, so the bits any of them sets on every path through it (an if:
//   those both its parts set; a loop: those its body sets before it can
//   leave) are one `ori` at the first item that sets one;
// - an `ori` whose bits are all set already on every path to it goes.
// Returns the new end.
std::size_t place_mask_bits(Kernel& k, std::size_t begin, std::size_t end, std::uint8_t mask);

}  // namespace polymer::loops
