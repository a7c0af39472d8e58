// The verifier: everything the VM relies on is checked here, once, before a
// module runs. A verified module cannot make the interpreter read outside its
// code, registers, pools, regions or kernels.
#pragma once

#include <string>

#include "isa/module.h"
#include "isa/result.h"

namespace polymer {

struct Verified {};

// Returns the first problem as one line naming what and where, e.g.
// "proc 'main' word 12 (jmp): jump target 40 is outside the procedure [0, 20)".
Result<Verified> verify_module(const Module& m);

}  // namespace polymer
