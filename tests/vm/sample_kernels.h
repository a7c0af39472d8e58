// Loads a numbered sample (samples/NN-name.pasm) and assembles it, so tests
// and benchmarks run the very kernel text the lessons teach. POLYMER_SAMPLES_DIR
// is set by CMake.
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "assembler/assembler.h"
#include "isa/module.h"

namespace polymer::test {

// The module of samples/<file>, or nullopt (with the reason in `error`).
inline std::optional<Module> load_sample(const std::string& file, std::string* error = nullptr) {
    const std::string path = std::string(POLYMER_SAMPLES_DIR) + "/" + file;
    std::ifstream in(path);
    if (!in) {
        if (error) *error = "cannot read " + path;
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    AssembleOptions o;
    o.filename = path;
    AssembleResult r = assemble(text.str(), o);
    if (!r.ok()) {
        if (error) *error = r.diagnostics.empty() ? path + ": does not assemble" : format_diagnostic(r.diagnostics[0]);
        return std::nullopt;
    }
    return std::move(r.module);
}

// The index of the kernel called `name` in `m`, or -1.
inline int kernel_index(const Module& m, const std::string& name) {
    for (std::size_t i = 0; i < m.kernels.size(); ++i)
        if (m.kernels[i].name == name) return static_cast<int>(i);
    return -1;
}

}  // namespace polymer::test
