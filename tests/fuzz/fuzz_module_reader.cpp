// libFuzzer target: load_module on arbitrary bytes must return a module or a
// message, never crash, hang or allocate hugely; a module that loads must
// write and load back to the same bytes. The checksum is not checked, or
// nearly every mutant would stop there and the fuzzer would never reach the
// section readers and the verifier; the written bytes carry a right one.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "isa/module_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    polymer::Result<polymer::Module> m = polymer::load_module(std::span(data, size), {.check_checksum = false});
    if (!m) {
        if (m.error().empty()) std::abort();  // every rejection must say why
        return 0;
    }
    const std::vector<std::uint8_t> bytes = polymer::write_module(m.value());
    polymer::Result<polymer::Module> again = polymer::load_module(bytes);
    if (!again || polymer::write_module(again.value()) != bytes) std::abort();
    return 0;
}
