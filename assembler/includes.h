// `.include "file.pasm"`: the included file's lines take the place of the
// directive in the program's SourceText, so every later stage sees one
// sequence of lines and each line still knows its own file.
#pragma once

#include <string_view>

#include "assembler/assembler.h"
#include "assembler/diagnostics.h"
#include "assembler/source_text.h"

namespace polymer::asm_detail {

// Appends `main_text` (file 0 of `source`) with its includes expanded.
// A file is searched relative to the including file, then in
// options.include_dirs; a file already included is not read again (so two
// files may both include a library); a cycle, a missing file or a binary
// one is an error at the including line. Returns false when an included
// file could not be read (the program is incomplete).
bool read_with_includes(SourceText& source, std::string_view main_text, const AssembleOptions& options,
                        DiagnosticSink& sink);

}  // namespace polymer::asm_detail
