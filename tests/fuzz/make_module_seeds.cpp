// Writes the hand-built test modules as .pbc files: the seed corpus for
// fuzz_module_reader. Usage: make_module_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "../isa/sample_modules.h"
#include "isa/module_io.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::pair<const char*, polymer::Module> seeds[] = {
        {"tiny.pbc", polymer::testing::tiny_module()},
        {"full.pbc", polymer::testing::full_module()},
        {"empty.pbc", polymer::Module{}},
        {"loops.pbc", polymer::testing::loop_kernel_module()},
        {"window.pbc", polymer::testing::window_module()},
        {"procs.pbc", polymer::testing::procs_module()},
    };
    for (const auto& [name, module] : seeds) {
        const std::vector<std::uint8_t> bytes = polymer::write_module(module);
        std::ofstream out(std::string(argv[1]) + "/" + name, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            std::fprintf(stderr, "cannot write %s/%s\n", argv[1], name);
            return 1;
        }
    }
    return 0;
}
