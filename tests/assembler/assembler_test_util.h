// Helpers shared by the assembler suites.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "assembler/assembler.h"
#include "isa/verifier.h"

namespace polymer::testing {

inline std::string all_diagnostics(const AssembleResult& r) {
    std::string out;
    for (const Diagnostic& d : r.diagnostics) out += format_diagnostic(d);
    return out;
}

// Assembles text that must be correct; every module the assembler produces
// must also pass the verifier (the assembler's own sanity check).
inline Module assemble_ok(std::string_view source, std::string filename = "test.pasm") {
    AssembleOptions options;
    options.filename = std::move(filename);
    AssembleResult r = assemble(source, options);
    EXPECT_TRUE(r.ok()) << all_diagnostics(r);
    if (!r.ok()) return {};
    auto verified = verify_module(*r.module);
    EXPECT_TRUE(verified.ok()) << verified.error() << "\n" << source;
    return *r.module;
}

// `lines` as the body of a procedure `main` ending in halt: line 1 is
// `.proc main`, body line i is source line i + 1, indented by 8 spaces (so
// the first character of a body line is column 9).
inline std::string in_proc(std::initializer_list<std::string_view> lines) {
    std::string out = ".proc main\n";
    for (std::string_view l : lines) out += "        " + std::string(l) + "\n";
    return out + "        halt\n.end\n";
}

}  // namespace polymer::testing
