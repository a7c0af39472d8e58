// Reading and writing .pbc files. The binary layout is documented in
// docs/module-format.md.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"

namespace polymer {

// Serialises a module. Deterministic: equal modules give equal bytes. The
// header carries the CRC-32 of the whole file (module_checksum).
std::vector<std::uint8_t> write_module(const Module& m);

// The CRC-32 (zlib's) of a .pbc file of at least 16 bytes: every byte except
// the header's own checksum field (bytes 12 to 15). Any single-bit flip, and
// any burst of up to 32 flipped bits, changes it.
std::uint32_t module_checksum(std::span<const std::uint8_t> file);

struct ReadOptions {
    // Refuse a file whose checksum does not match. Only the fuzz target turns
    // it off, so that mutated bytes reach the parser and the verifier; every
    // tool keeps it on.
    bool check_checksum = true;
};

// Parses bytes into a module: checks the header, the checksum, the section
// table and every length field against the bytes actually present (never
// allocates more than the input can justify). Does not check semantics: see
// verify_module.
Result<Module> read_module(std::span<const std::uint8_t> bytes, ReadOptions options = {});

// read_module + verify_module: what every tool uses to open a .pbc.
Result<Module> load_module(std::span<const std::uint8_t> bytes, ReadOptions options = {});

}  // namespace polymer
