// The assembler pass that turns loops into kernels (docs/loop-kernels.md):
// for each loop of each procedure, outermost first, the analysis proves it
// or says why not; a proved loop gets a wide kernel, a loop-kernel entry and
// a `kloop` word in front of its header. The scalar loop stays as it was.
#pragma once

#include <string>
#include <vector>

#include "isa/module.h"

namespace polymer::loops {

struct LoopReport {
    SourceLoc at;      // the loop's first word
    std::string text;  // "loop turned into kernel main.loop12 (...)" or "not turned into a kernel: why"
};

// `reassociate[p]`: procedure p has `.reassociate`. Returns one report per
// loop considered, in code order (a loop inside a turned one is not considered).
std::vector<LoopReport> make_loop_kernels(Module& m, const std::vector<bool>& reassociate);

// "file:line: text", as `polymer-as --report-loops` prints it.
std::string format_loop_report(const Module& m, const LoopReport& r);

}  // namespace polymer::loops
