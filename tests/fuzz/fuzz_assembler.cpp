// libFuzzer target: assemble() must never crash, hang or allocate hugely on
// any text, and whatever it accepts must pass the verifier and survive a
// disassemble -> assemble round trip unchanged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "assembler/assembler.h"
#include "assembler/disassembler.h"
#include "isa/verifier.h"

// Includes never touch the disk: "lib.pasm" (a constant and a procedure) and
// "self.pasm" (which includes itself) exist; anything else is missing.
polymer::Result<std::string> fuzz_include(const std::string& path) {
    if (path == "lib.pasm") return std::string(".equ K, 7\n.proc lib\n        li r1, K\n        ret\n.end\n");
    if (path == "self.pasm") return std::string(".include \"self.pasm\"\n");
    return polymer::Error{"No such file or directory"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view source(reinterpret_cast<const char*>(data), size);
    polymer::AssembleOptions options;
    options.read_include = fuzz_include;
    polymer::AssembleResult r = polymer::assemble(source, options);
    std::size_t total = 0;
    for (const polymer::Diagnostic& d : r.diagnostics) total += polymer::format_diagnostic(d).size();
    if (total == 0 && !r.ok()) {
        std::fprintf(stderr, "assembly failed without a diagnostic\n");
        std::abort();
    }
    if (!r.ok()) return 0;
    auto verified = polymer::verify_module(*r.module);
    if (!verified) {
        std::fprintf(stderr, "assembled module fails verification: %s\n", verified.error().c_str());
        std::abort();
    }
    std::string text = polymer::disassemble(*r.module);
    polymer::AssembleResult again = polymer::assemble(text);
    if (!again.ok() || !(*again.module == *r.module)) {
        for (const auto& d : again.diagnostics) std::fprintf(stderr, "%s", polymer::format_diagnostic(d).c_str());
        std::fprintf(stderr, "disassembly does not re-assemble to the same module:\n%s\n", text.c_str());
        std::abort();
    }
    return 0;
}
