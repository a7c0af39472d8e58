// Reading and writing .pbc files. The binary layout is documented in
// docs/module-format.md.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"

namespace polymer {

// Serialises a module. Deterministic: equal modules give equal bytes.
std::vector<std::uint8_t> write_module(const Module& m);

// Parses bytes into a module: checks the header, the section table and every
// length field against the bytes actually present (never allocates more than
// the input can justify). Does not check semantics: see verify_module.
Result<Module> read_module(std::span<const std::uint8_t> bytes);

// read_module + verify_module: what every tool uses to open a .pbc.
Result<Module> load_module(std::span<const std::uint8_t> bytes);

}  // namespace polymer
