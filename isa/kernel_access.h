// Which buffer accesses of a kernel need a check at run time. The kernel
// memory contract (docs/kernels.md): an element-wise buffer (`[i]`) is read
// and written only at the lane's own element (index = gid), a window buffer
// (`[i-A..i+B]`) read only inside the lane's window and the buffer, a whole
// buffer anywhere inside its length; any other access traps. An access whose
// index register provably holds `gid` on an element-wise buffer, or on a
// window buffer whose window holds gid, is always inside the contract (a
// launch checks that such a buffer has at least `count` elements), so it
// needs no check: the GLSL lowering emits none, and the CPU
// backend tests nothing. Every other load, store and atomic is checked.
#pragma once

#include <vector>

#include "isa/module.h"

namespace polymer {

// One entry per word of k.code: true for a load, store or atomic that must
// be checked at run time; false for every other word and for the accesses
// proven to be at the lane's own element.
std::vector<bool> kernel_access_checks(const Kernel& k);

}  // namespace polymer
