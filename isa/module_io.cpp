// The .pbc reader and writer. Layout: docs/module-format.md. Each section has
// one writer and one reader, listed together in kSections below.
#include "isa/module_io.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <array>

#include "isa/byte_io.h"
#include "isa/verifier.h"

namespace polymer {
namespace {

using pbc::ByteReader;
using pbc::ByteWriter;
using pbc::cat;
using pbc::Hex;

constexpr std::array<std::uint8_t, 4> kMagic = {'P', 'L', 'M', 'R'};
constexpr std::size_t kHeaderBytes = 16;
constexpr std::size_t kChecksumAt = 12;  // the header's u32 checksum field
constexpr std::size_t kTableEntryBytes = 24;
constexpr std::uint16_t kFlagOptional = 1;  // a reader that does not know the id may skip it
constexpr std::size_t kSectionAlignment = 8;

// --- writers ---------------------------------------------------------------

void write_info(ByteWriter& w, const Module& m) {
    w.str(m.name);
    w.str(m.source_file);
}

void write_code(ByteWriter& w, const Module& m) {
    for (Word word : m.code) w.u64(word);
}

void write_locs(ByteWriter& w, const std::vector<SourceLoc>& locs) {
    for (const SourceLoc& loc : locs) {
        w.u32(loc.line);
        w.u32(loc.col);
    }
}

void write_lines(ByteWriter& w, const Module& m) { write_locs(w, m.lines); }

void write_procs(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.procs.size()));
    for (const Procedure& p : m.procs) {
        w.str(p.name);
        w.u32(p.start);
        w.u32(p.length);
    }
}

void write_int_consts(ByteWriter& w, const Module& m) {
    for (std::int64_t v : m.int_consts) w.i64(v);
}

void write_float_consts(ByteWriter& w, const Module& m) {
    for (double v : m.float_consts) w.f64(v);
}

void write_strings(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.strings.size()));
    for (const std::string& s : m.strings) w.str(s);
}

void write_regions(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.regions.size()));
    for (const RegionDecl& r : m.regions) {
        w.str(r.name);
        w.u8(static_cast<std::uint8_t>(r.type));
        w.u8(static_cast<std::uint8_t>(r.init));
        w.u8(r.distributed ? 1 : 0);  // 3.5
        w.u8(0);
        w.u64(r.length);
        w.i64(r.int_value0);
        w.i64(r.int_value1);
        w.f64(r.float_value0);
        w.f64(r.float_value1);
        w.u64(r.data.size());
        w.bytes(r.data);
    }
}

void write_kernels(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.kernels.size()));
    for (const Kernel& k : m.kernels) {
        w.str(k.name);
        w.u8(k.requirements.requires_gpu ? 1 : 0);
        w.u8(k.requirements.prefers_gpu ? 1 : 0);
        w.u8(k.wide ? 1 : 0);
        w.u8(0);
        w.u64(k.requirements.min_memory);
        w.u32(static_cast<std::uint32_t>(k.params.size()));
        for (const KernelParam& p : k.params) {
            w.str(p.name);
            w.u8(static_cast<std::uint8_t>(p.kind));
            w.u8(static_cast<std::uint8_t>(p.access));
            w.u8(static_cast<std::uint8_t>(p.type));
            w.u8(static_cast<std::uint8_t>(p.indexing));
            if (p.indexing == Indexing::Window) {  // 3.4
                w.i64(p.window_lo);
                w.i64(p.window_hi);
            }
        }
        w.u32(static_cast<std::uint32_t>(k.code.size()));
        for (Word word : k.code) w.u64(word);
        w.u32(static_cast<std::uint32_t>(k.lines.size()));
        write_locs(w, k.lines);
    }
}

void write_launches(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.launches.size()));
    for (const LaunchSite& s : m.launches) {
        w.u32(s.kernel);
        w.u32(static_cast<std::uint32_t>(s.args.size()));
        for (const LaunchArg& a : s.args) {
            w.u8(static_cast<std::uint8_t>(a.kind));
            w.u8(a.index);
        }
    }
}

// Per loop kernel: the kernel, the loop's words and test, then its arguments,
// reductions, checked accesses and divisors (isa/module.h, LoopKernel).
void write_loop_kernels(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.loop_kernels.size()));
    for (const LoopKernel& l : m.loop_kernels) {
        w.u32(l.kernel);
        w.u32(l.header);
        w.u32(l.end);
        w.u8(l.induction);
        w.u8(l.bound);
        w.u8(static_cast<std::uint8_t>(l.compare));
        w.u8(l.tested_first ? 1 : 0);
        w.i64(l.step);
        w.u64(l.chunk);
        w.u32(static_cast<std::uint32_t>(l.args.size()));
        for (const LoopArg& a : l.args) {
            w.u8(static_cast<std::uint8_t>(a.kind));
            w.u32(a.index);
        }
        w.u32(static_cast<std::uint32_t>(l.reductions.size()));
        for (const LoopReduction& r : l.reductions) {
            w.u8(r.is_float ? 1 : 0);
            w.u8(r.reg);
            w.u8(static_cast<std::uint8_t>(r.op));
        }
        w.u32(static_cast<std::uint32_t>(l.accesses.size()));
        for (const LoopAccess& a : l.accesses) {
            w.u8(a.region);
            w.u8(a.writes ? 1 : 0);
            w.u8(a.has_offset_reg ? 1 : 0);
            w.u8(a.offset_reg);
            w.i64(a.scale);
            w.i64(a.offset);
        }
        w.u32(static_cast<std::uint32_t>(l.divisors.size()));
        for (std::uint8_t d : l.divisors) w.u8(d);
    }
}

// Per channel: name, u32 capacity; per barrier: name, u32 parties (3.6).
void write_channels(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.channels.size()));
    for (const ChannelDecl& c : m.channels) {
        w.str(c.name);
        w.u32(c.capacity);
    }
}

void write_barriers(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.barriers.size()));
    for (const BarrierDecl& b : m.barriers) {
        w.str(b.name);
        w.u32(b.parties);
    }
}

bool has_proc_entry(const Procedure& p) { return p.requirements.any() || p.launches_cluster; }

// Only the procedures that have requirements or `.launches cluster`, in
// procedure order.
void write_proc_requirements(ByteWriter& w, const Module& m) {
    std::uint32_t n = 0;
    for (const Procedure& p : m.procs) n += has_proc_entry(p) ? 1 : 0;
    w.u32(n);
    for (std::size_t i = 0; i < m.procs.size(); ++i) {
        if (!has_proc_entry(m.procs[i])) continue;
        const ProcRequirements& q = m.procs[i].requirements;
        w.u32(static_cast<std::uint32_t>(i));
        w.u8(q.gpu ? 1 : 0);
        w.u8(m.procs[i].launches_cluster ? 1 : 0);
        w.u16(0);
        w.u64(q.min_memory);
        w.str(q.node);
    }
}

void write_labels(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.labels.size()));
    for (const Label& l : m.labels) {
        w.str(l.name);
        w.u32(l.pc);
    }
}

// Per block: u32 start word, u32 word count, u8 width, then one frame index
// per word, `width` bytes each: 1 when every index of the block is below 256
// (nearly always), else 2. The narrowest width is the only valid one.
std::uint8_t frame_width(const BlockFrames& b) {
    for (std::uint16_t f : b.frame)
        if (f > 0xFF) return 2;
    return 1;
}

void write_frames(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.frames.size()));
    for (const BlockFrames& b : m.frames) {
        w.u32(b.start);
        w.u32(static_cast<std::uint32_t>(b.frame.size()));
        const std::uint8_t width = frame_width(b);
        w.u8(width);
        for (std::uint16_t f : b.frame) width == 1 ? w.u8(static_cast<std::uint8_t>(f)) : w.u16(f);
    }
}

// Which file each line-table entry is in, for programs of several files
// (`.include`): the other files' names, then one u32 file index per entry of
// the procedure line table and of each kernel's, each list either empty (all
// in the module's own file) or as long as its line table.
void write_file_indices(ByteWriter& w, const std::vector<SourceLoc>& locs) {
    bool any = false;
    for (const SourceLoc& loc : locs) any = any || loc.file != 0;
    w.u32(any ? static_cast<std::uint32_t>(locs.size()) : 0);
    if (any)
        for (const SourceLoc& loc : locs) w.u32(loc.file);
}

void write_source_files(ByteWriter& w, const Module& m) {
    w.u32(static_cast<std::uint32_t>(m.include_files.size()));
    for (const std::string& f : m.include_files) w.str(f);
    write_file_indices(w, m.lines);
    w.u32(static_cast<std::uint32_t>(m.kernels.size()));
    for (const Kernel& k : m.kernels) write_file_indices(w, k.lines);
}

// --- readers ---------------------------------------------------------------
// Each reads one whole section; the caller checks r.ok() and the section end.

// Sections that are plain arrays (code, lines, pools) have no count: the
// section size gives it, and must be a whole number of elements.
std::size_t array_count(ByteReader& r, std::size_t elem_bytes, const char* what) {
    if (r.remaining() % elem_bytes != 0) {
        r.fail(cat("size ", r.remaining(), " is not a multiple of ", elem_bytes, " (the size of one ", what, ")"));
        return 0;
    }
    return r.remaining() / elem_bytes;
}

void read_info(ByteReader& r, Module& m) {
    m.name = r.str("module name");
    m.source_file = r.str("source file name");
}

void read_code(ByteReader& r, Module& m) {
    std::size_t n = array_count(r, 8, "instruction word");
    m.code.resize(n);
    for (Word& word : m.code) word = r.u64("instruction word");
}

void read_locs(ByteReader& r, std::vector<SourceLoc>& locs, std::size_t n) {
    locs.resize(n);
    for (SourceLoc& loc : locs) {
        loc.line = r.u32("line");
        loc.col = r.u32("column");
    }
}

void read_lines(ByteReader& r, Module& m) { read_locs(r, m.lines, array_count(r, 8, "line table entry")); }

void read_procs(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(12, "procedure count");
    m.procs.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("procedure", i);
        Procedure& p = m.procs[i];
        p.name = r.str("name");
        p.start = r.u32("start");
        p.length = r.u32("length");
    }
}

void read_int_consts(ByteReader& r, Module& m) {
    m.int_consts.resize(array_count(r, 8, "integer constant"));
    for (std::int64_t& v : m.int_consts) v = r.i64("integer constant");
}

void read_float_consts(ByteReader& r, Module& m) {
    m.float_consts.resize(array_count(r, 8, "float constant"));
    for (double& v : m.float_consts) v = r.f64("float constant");
}

void read_strings(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(4, "string count");
    m.strings.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("string", i);
        m.strings[i] = r.str("string");
    }
}

// Reads an enum stored as one byte, rejecting values past its last member.
template <class Enum>
Enum enum_byte(ByteReader& r, unsigned count, const char* what) {
    std::size_t at = r.pos();
    std::uint8_t v = r.u8(what);
    if (v >= count) r.fail_at(at, cat(what, " ", unsigned{v}, " is not valid (0..", count - 1, ")"));
    return static_cast<Enum>(v);
}

void read_regions(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(56, "region count");
    m.regions.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("region", i);
        RegionDecl& g = m.regions[i];
        g.name = r.str("name");
        g.type = enum_byte<ElemType>(r, kElemTypeCount, "element type");
        g.init = enum_byte<RegionInit>(r, 5, "initializer kind");
        g.distributed = r.flag("distributed flag");  // a reserved 0 before 3.5
        r.reserved(1, "reserved field");
        g.length = r.u64("length");
        g.int_value0 = r.i64("integer value 0");
        g.int_value1 = r.i64("integer value 1");
        g.float_value0 = r.f64("float value 0");
        g.float_value1 = r.f64("float value 1");
        std::uint64_t size = r.u64("data size");
        std::span<const std::uint8_t> data = r.bytes(size, "data");
        g.data.assign(data.begin(), data.end());
    }
}

void read_kernel(ByteReader& r, Kernel& k) {
    k.name = r.str("name");
    k.requirements.requires_gpu = r.flag("requires-gpu flag");
    k.requirements.prefers_gpu = r.flag("prefers-gpu flag");
    k.wide = r.flag("wide flag");
    r.reserved(1, "reserved field");
    k.requirements.min_memory = r.u64("minimum memory");
    std::uint32_t params = r.count(8, "parameter count");
    k.params.resize(params);
    for (std::uint32_t j = 0; j < params && r.ok(); ++j) {
        r.sub_entry("param", j);
        KernelParam& p = k.params[j];
        p.name = r.str("name");
        p.kind = enum_byte<ParamKind>(r, 2, "parameter kind");
        p.access = enum_byte<Access>(r, 3, "access");
        p.type = enum_byte<ElemType>(r, kElemTypeCount, "element type");
        p.indexing = enum_byte<Indexing>(r, 3, "indexing");
        if (p.indexing == Indexing::Window) {
            p.window_lo = r.i64("window start");
            p.window_hi = r.i64("window end");
        }
    }
    r.sub_entry("code");
    std::uint32_t words = r.count(8, "IR word count");
    k.code.resize(words);
    for (Word& word : k.code) word = r.u64("IR word");
    r.sub_entry("line table");
    read_locs(r, k.lines, r.count(8, "line count"));
}

void read_kernels(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(28, "kernel count");
    m.kernels.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("kernel", i);
        read_kernel(r, m.kernels[i]);
    }
}

void read_launches(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(8, "launch site count");
    m.launches.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("launch site", i);
        LaunchSite& s = m.launches[i];
        s.kernel = r.u32("kernel index");
        std::uint32_t args = r.count(2, "argument count");
        s.args.resize(args);
        for (std::uint32_t j = 0; j < args && r.ok(); ++j) {
            r.sub_entry("argument", j);
            s.args[j].kind = enum_byte<LaunchArg::Kind>(r, 3, "argument kind");
            s.args[j].index = r.u8("argument index");
        }
    }
}

void read_loop_kernels(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(48, "loop kernel count");
    m.loop_kernels.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("loop kernel", i);
        LoopKernel& l = m.loop_kernels[i];
        l.kernel = r.u32("kernel index");
        l.header = r.u32("header");
        l.end = r.u32("end");
        l.induction = r.u8("induction register");
        l.bound = r.u8("bound register");
        l.compare = enum_byte<LoopCompare>(r, kLoopCompareCount, "comparison");
        l.tested_first = r.flag("tested-first flag");
        l.step = r.i64("step");
        l.chunk = r.u64("chunk");
        l.args.resize(r.count(5, "argument count"));
        for (std::size_t j = 0; j < l.args.size() && r.ok(); ++j) {
            r.sub_entry("argument", static_cast<std::uint32_t>(j));
            l.args[j].kind = enum_byte<LoopArg::Kind>(r, kLoopArgKindCount, "argument kind");
            l.args[j].index = r.u32("argument index");
        }
        l.reductions.resize(r.count(3, "reduction count"));
        for (std::size_t j = 0; j < l.reductions.size() && r.ok(); ++j) {
            r.sub_entry("reduction", static_cast<std::uint32_t>(j));
            l.reductions[j].is_float = r.flag("float flag");
            l.reductions[j].reg = r.u8("register");
            l.reductions[j].op = enum_byte<ReduceOp>(r, kReduceOpCount, "reduction op");
        }
        l.accesses.resize(r.count(20, "access count"));
        for (std::size_t j = 0; j < l.accesses.size() && r.ok(); ++j) {
            r.sub_entry("access", static_cast<std::uint32_t>(j));
            LoopAccess& a = l.accesses[j];
            a.region = r.u8("region operand");
            a.writes = r.flag("writes flag");
            a.has_offset_reg = r.flag("offset-register flag");
            a.offset_reg = r.u8("offset register");
            a.scale = r.i64("scale");
            a.offset = r.i64("offset");
        }
        l.divisors.resize(r.count(1, "divisor count"));
        for (std::size_t j = 0; j < l.divisors.size() && r.ok(); ++j) l.divisors[j] = r.u8("divisor register");
    }
}

// The counts' ranges are the verifier's (isa/verifier.cpp); here only bytes.
void read_channels(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(8, "channel count");
    m.channels.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("channel", i);
        m.channels[i].name = r.str("name");
        m.channels[i].capacity = r.u32("capacity");
    }
}

void read_barriers(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(8, "barrier count");
    m.barriers.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("barrier", i);
        m.barriers[i].name = r.str("name");
        m.barriers[i].parties = r.u32("parties");
    }
}

// Read after the procedures (sections are read in id order; in a file that
// lists them otherwise there are no procedures yet, and every entry is
// refused). Each entry names a later procedure than the one before and
// holds at least one requirement, so a module has one encoding.
void read_proc_requirements(ByteReader& r, Module& m) {
    const std::uint32_t n = r.count(20, "entry count");
    std::uint64_t next = 0;  // the least procedure index the next entry may name
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("entry", i);
        const std::size_t at = r.pos();
        const std::uint32_t proc = r.u32("procedure index");
        if (r.ok() && proc >= m.procs.size())
            return r.fail_at(at, cat("procedure index ", proc, " names no procedure (there are ", m.procs.size(), ")"));
        if (r.ok() && proc < next)
            return r.fail_at(at, cat("procedure index ", proc, " does not follow the previous entry's (",
                                     next - 1, "): entries are in procedure order, one per procedure"));
        next = std::uint64_t{proc} + 1;
        ProcRequirements q;
        q.gpu = r.flag("requires-gpu flag");
        const bool launches_cluster = r.flag("launches-cluster flag");  // a reserved 0 before 3.8
        r.reserved(2, "reserved field");
        q.min_memory = r.u64("minimum memory");
        q.node = r.str("node name");
        if (r.ok() && !q.any() && !launches_cluster)
            return r.fail_at(at, cat("procedure ", proc, " has an entry with no requirement and no .launches (leave it out)"));
        if (r.ok()) {
            m.procs[proc].requirements = std::move(q);
            m.procs[proc].launches_cluster = launches_cluster;
        }
    }
}

void read_labels(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(8, "label count");
    m.labels.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("label", i);
        m.labels[i].name = r.str("name");
        m.labels[i].pc = r.u32("pc");
    }
}

void read_frames(ByteReader& r, Module& m) {
    std::uint32_t n = r.count(9, "block count");
    m.frames.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("block", i);
        BlockFrames& b = m.frames[i];
        b.start = r.u32("start");
        const std::size_t words_at = r.pos();
        const std::uint32_t words = r.u32("word count");
        const std::size_t width_at = r.pos();
        const std::uint8_t width = r.u8("index width");
        if (!r.ok()) return;
        if (width != 1 && width != 2) return r.fail_at(width_at, cat("index width ", unsigned{width}, " is not 1 or 2"));
        if (std::uint64_t{words} * width > r.remaining())
            return r.fail_at(words_at, cat("word count: ", words, " entries need at least ",
                                           std::uint64_t{words} * width, " bytes but only ", r.remaining(),
                                           " are left in the section"));
        b.frame.resize(words);
        for (std::uint16_t& f : b.frame) f = width == 1 ? r.u8("frame index") : r.u16("frame index");
        if (width == 2 && frame_width(b) == 1)
            return r.fail_at(width_at, "index width 2, but every frame index fits one byte (width 1)");
    }
}

void read_file_indices(ByteReader& r, std::vector<SourceLoc>& locs, std::size_t file_count, const char* table) {
    const std::size_t at = r.pos();
    const std::uint32_t n = r.count(4, "file index count");
    if (!r.ok()) return;
    if (n != 0 && n != locs.size())
        return r.fail_at(at, cat("file index count ", n, " is neither 0 nor the size of the ", table, " (",
                                 locs.size(), ")"));
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        const std::size_t index_at = r.pos();
        const std::uint32_t file = r.u32("file index");
        if (file > file_count)
            return r.fail_at(index_at, cat("file index ", file, " names no file (there are ", file_count + 1, ")"));
        locs[i].file = file;
    }
}

// Read after the line tables (sections are read in id order).
void read_source_files(ByteReader& r, Module& m) {
    const std::uint32_t n = r.count(4, "file count");
    m.include_files.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("file", i);
        m.include_files[i] = r.str("file name");
    }
    r.no_entry();
    read_file_indices(r, m.lines, n, "procedure line table");
    const std::size_t kernels_at = r.pos();
    const std::uint32_t kernels = r.count(4, "kernel count");
    if (!r.ok()) return;
    if (kernels != m.kernels.size())
        return r.fail_at(kernels_at, cat("kernel count ", kernels, " is not the module's ", m.kernels.size()));
    for (std::uint32_t i = 0; i < kernels && r.ok(); ++i) {
        r.entry("kernel", i);
        read_file_indices(r, m.kernels[i].lines, n, "line table");
    }
}

// --- the section list ----------------------------------------------------------

struct SectionCodec {
    std::uint16_t id;
    const char* name;
    void (*write)(ByteWriter&, const Module&);
    void (*read)(ByteReader&, Module&);
    std::uint16_t flags = 0;  // kFlagOptional: older readers skip it
    // Null: always written; else written only when it says so (a section
    // most modules have no use for stays out of their bytes).
    bool (*present)(const Module&) = nullptr;
};

bool has_include_files(const Module& m) { return !m.include_files.empty(); }
bool has_loop_kernels(const Module& m) { return !m.loop_kernels.empty(); }
bool has_channels(const Module& m) { return !m.channels.empty(); }
bool has_barriers(const Module& m) { return !m.barriers.empty(); }
bool has_proc_requirements(const Module& m) {
    return std::any_of(m.procs.begin(), m.procs.end(), [](const Procedure& p) { return has_proc_entry(p); });
}

// Ids are part of the format: never renumber; new sections take the next id.
// The frame table (added in 1.1) and the source files (3.1) are optional:
// the code runs without them. The source files are written only for a
// program of several files; loop kernels, channels and barriers only for a
// module that has them, and not optional (their words need them); the
// procedures' requirements (3.7) only for a module with some, and not
// optional (an old reader would place the procedures anywhere).
constexpr SectionCodec kSections[] = {
    {1, "module", write_info, read_info},
    {2, "code", write_code, read_code},
    {3, "lines", write_lines, read_lines},
    {4, "procs", write_procs, read_procs},
    {5, "int-consts", write_int_consts, read_int_consts},
    {6, "float-consts", write_float_consts, read_float_consts},
    {7, "strings", write_strings, read_strings},
    {8, "regions", write_regions, read_regions},
    {9, "kernels", write_kernels, read_kernels},
    {10, "launches", write_launches, read_launches},
    {11, "labels", write_labels, read_labels},
    {12, "frames", write_frames, read_frames, kFlagOptional},
    {13, "source-files", write_source_files, read_source_files, kFlagOptional, has_include_files},
    {14, "loop-kernels", write_loop_kernels, read_loop_kernels, 0, has_loop_kernels},
    {15, "channels", write_channels, read_channels, 0, has_channels},
    {16, "barriers", write_barriers, read_barriers, 0, has_barriers},
    {17, "proc-requirements", write_proc_requirements, read_proc_requirements, 0, has_proc_requirements},
};
constexpr std::size_t kSectionCount = std::size(kSections);

const SectionCodec* find_section(std::uint16_t id) {
    for (const SectionCodec& s : kSections)
        if (s.id == id) return &s;
    return nullptr;
}

std::string section_label(const SectionCodec* codec, std::uint16_t id, std::uint64_t offset) {
    if (codec) return cat("section '", codec->name, "' at offset ", Hex{offset});
    return cat("section ", id, " at offset ", Hex{offset});
}

// The versions this reader reads: "2.0", or "2.0 to 2.3".
std::string readable_versions() {
    std::string first = cat(kModuleVersionMajor, ".0");
    if (kModuleVersionMinor == 0) return first;
    return cat(first, " to ", kModuleVersionMajor, ".", kModuleVersionMinor);
}

// A reader reads its own major version only (a major version changes what
// bytes mean), up to its own minor version (a minor version adds things an
// older reader cannot know).
std::string version_refusal(std::uint16_t major, std::uint16_t minor) {
    const std::string what = cat("module format version ", major, ".", minor, " is not supported: this reader reads ",
                                 readable_versions());
    if (major < kModuleVersionMajor) return what + " (an older major version: reassemble the module from its source)";
    if (major > kModuleVersionMajor) return what + " (a newer major version: it needs a newer reader)";
    return what + " (a newer minor version: it needs a newer reader)";
}

struct TableEntry {
    const SectionCodec* codec;  // null: an unknown optional section, skipped
    std::uint64_t offset;
    std::uint64_t size;
};

}  // namespace

std::vector<std::uint8_t> write_module(const Module& m) {
    std::vector<const SectionCodec*> written;
    for (const SectionCodec& s : kSections)
        if (!s.present || s.present(m)) written.push_back(&s);
    ByteWriter w;
    w.bytes(kMagic);
    w.u16(kModuleVersionMajor);
    w.u16(kModuleVersionMinor);
    w.u32(static_cast<std::uint32_t>(written.size()));
    w.u32(0);  // the checksum, set last
    std::size_t table = w.size();
    for (const SectionCodec* s : written) {
        w.u16(s->id);
        w.u16(s->flags);
        w.u32(0);
        w.u64(0);  // offset and size, patched below
        w.u64(0);
    }
    for (std::size_t i = 0; i < written.size(); ++i) {
        w.pad_to(kSectionAlignment);
        std::size_t start = w.size();
        written[i]->write(w, m);
        std::size_t entry = table + i * kTableEntryBytes;
        w.patch_u64(entry + 8, start);
        w.patch_u64(entry + 16, w.size() - start);
    }
    std::vector<std::uint8_t> file = w.take();
    const std::uint32_t crc = module_checksum(file);
    for (int i = 0; i < 4; ++i) file[kChecksumAt + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    return file;
}

std::uint32_t module_checksum(std::span<const std::uint8_t> file) {
    // Chained as zlib's crc32() is: the header before the field, then the rest.
    std::uint32_t crc = crc32_gzip_refl(0, file.data(), kChecksumAt);
    const std::size_t after = kChecksumAt + 4;
    return crc32_gzip_refl(crc, file.data() + after, file.size() - after);
}

Result<Module> read_module(std::span<const std::uint8_t> bytes, ReadOptions options) {
    const std::size_t file_size = bytes.size();
    if (file_size < kHeaderBytes)
        return Error{cat("file is ", file_size, " bytes, shorter than the ", kHeaderBytes, "-byte header")};
    if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin()))
        return Error{cat("not a Polymer module: the first 4 bytes are not the magic 'PLMR'")};

    ByteReader header(bytes, 4, kHeaderBytes, "header");
    std::uint16_t major = header.u16("major version");
    std::uint16_t minor = header.u16("minor version");
    std::uint32_t sections = header.u32("section count");
    const std::uint32_t stored = header.u32("checksum");
    if (!header.ok()) return Error{header.error()};
    if (major != kModuleVersionMajor || minor > kModuleVersionMinor) return Error{version_refusal(major, minor)};
    // Before anything else is read: a corrupt file is refused as corrupt,
    // whichever byte changed, rather than by whatever check it happens to trip.
    if (options.check_checksum)
        if (const std::uint32_t computed = module_checksum(bytes); computed != stored)
            return Error{cat("checksum mismatch (stored ", Hex{stored}, ", computed ", Hex{computed}, " over the file's ",
                             file_size, " bytes): the file was changed or cut short after it was written")};
    const std::uint64_t table_end = kHeaderBytes + std::uint64_t{sections} * kTableEntryBytes;
    if (table_end > file_size)
        return Error{cat("header: the section table (", sections, " entries of ", kTableEntryBytes,
                         " bytes) runs past the end of the file (", file_size, " bytes)")};

    // Check every entry before reading any section: sections lie after the
    // table, in offset order, without overlapping, inside the file.
    std::vector<TableEntry> entries;
    entries.reserve(sections);
    std::array<bool, kSectionCount> seen{};
    std::uint64_t previous_end = table_end;
    ByteReader table(bytes, kHeaderBytes, static_cast<std::size_t>(table_end), "section table");
    for (std::uint32_t i = 0; i < sections; ++i) {
        table.entry("entry", i);
        std::uint16_t id = table.u16("id");
        std::uint16_t flags = table.u16("flags");
        table.reserved(4, "reserved field");
        std::uint64_t offset = table.u64("offset");
        std::uint64_t size = table.u64("size");
        if (!table.ok()) return Error{table.error()};
        const SectionCodec* codec = find_section(id);
        std::string where = section_label(codec, id, offset);
        if ((flags & ~kFlagOptional) != 0)
            return Error{cat(where, ": unknown flags ", Hex{flags}, " (only bit 0, optional, is defined)")};
        if (offset > file_size || size > file_size - offset)
            return Error{cat(where, ": size ", size, " runs past the end of the file (", file_size, " bytes)")};
        if (offset < previous_end)
            return Error{cat(where, ": starts before the end of the ",
                             i == 0 ? "section table" : "previous section", " (", Hex{previous_end}, ")")};
        previous_end = offset + size;
        if (!codec) {
            if (flags & kFlagOptional) continue;
            return Error{cat(where, ": unknown section id ", id, " is not marked optional (this reader knows format ",
                             kModuleVersionMajor, ".", kModuleVersionMinor, ")")};
        }
        std::size_t index = static_cast<std::size_t>(codec - kSections);
        if (seen[index]) return Error{cat(where, ": a second '", codec->name, "' section")};
        seen[index] = true;
        entries.push_back({codec, offset, size});
    }

    Module m;
    for (const TableEntry& e : entries) {
        ByteReader r(bytes, static_cast<std::size_t>(e.offset), static_cast<std::size_t>(e.offset + e.size),
                     section_label(e.codec, e.codec->id, e.offset));
        e.codec->read(r, m);
        r.expect_end();
        if (!r.ok()) return Error{r.error()};
    }
    return m;
}

Result<Module> load_module(std::span<const std::uint8_t> bytes, ReadOptions options) {
    Result<Module> m = read_module(bytes, options);
    if (!m) return m;
    Result<Verified> v = verify_module(m.value());
    if (!v) return Error{v.error()};
    return m;
}

}  // namespace polymer
