// The in-memory form of a Polymer module: what one .pasm file assembles to and
// what a .pbc file holds. The assembler builds it, module_io writes and reads
// it, the verifier checks it, the VM runs it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "isa/elem_type.h"
#include "isa/encoding.h"

namespace polymer {

// Module format version (see docs/module-format.md). A reader accepts its own
// major version and any minor version up to its own. 3.7: the
// proc-requirements section (Procedure::requirements, `.requires` inside a
// `.proc`). 3.6: the opcodes spawn,
// join, send, sendf, recv, recvf, barrier and the channels and barriers
// sections (ChannelDecl, BarrierDecl). 3.5: the region
// entry's distributed flag (RegionDecl::distributed). 3.4: window buffer
// parameters (Indexing::Window, `x: f32[i-1..i+1]`). 3.3: the loop-kernel
// reduction `fadd` of a `.reassociate` procedure. 3.2: wide kernels
// (Kernel::wide), the opcode kloop and the loop-kernels section. 3.1: the optional
// source-files section (programs of several files, `.include`), the kernel
// opcodes neg, not, andi, ori, xori, shli, shri, sari, ltu, leu, divu, remu;
// the opcode rgn and handle operands (region operands 224..255 are @r0..@r31);
// argc, argi, argf, args, readln, readi, readf, printfd, printw; 3.0: a CRC-32 of the
// file in the header; kernels store no GLSL or SPIR-V (Vulkan runs what their
// IR lowers to); 2.1: popcnt, clz, ctz; 2.0: opcode numbers are an explicit
// column of the opcode tables, pinned by a test (the numbers themselves are
// those of 1.1); 1.1 added the frame table.
inline constexpr std::uint16_t kModuleVersionMajor = 3;
inline constexpr std::uint16_t kModuleVersionMinor = 8;

struct SourceLoc {
    std::uint32_t line = 0;  // 1-based; 0 = unknown
    std::uint32_t col = 0;   // 1-based; 0 = unknown
    std::uint32_t file = 0;  // 0 = Module::source_file, k = Module::include_files[k - 1]
    friend bool operator==(const SourceLoc&, const SourceLoc&) = default;
};

// Where `spawn` may place a procedure (`.requires` inside a `.proc`,
// docs/language.md "On the nodes"): only on a node that meets all of them,
// never on the home. None given: anywhere.
struct ProcRequirements {
    bool gpu = false;              // `.requires gpu`: a GPU-class node (docs/cluster.md)
    std::uint64_t min_memory = 0;  // `.requires mem >= SIZE`: bytes the node lets one home hold; 0 = none
    std::string node;              // `.requires node NAME`: the node's advertised name; "" = any
    bool any() const { return gpu || min_memory != 0 || !node.empty(); }
    friend bool operator==(const ProcRequirements&, const ProcRequirements&) = default;
};

// The longest name `.requires node` may give (a host name has at most 253
// bytes), so that a module cannot make every placement message huge.
inline constexpr std::size_t kMaxNodeNameBytes = 255;

// A procedure is a contiguous run of words in Module::code.
struct Procedure {
    std::string name;
    std::uint32_t start = 0;   // index of the first word
    std::uint32_t length = 0;  // number of words (at least 1)
    ProcRequirements requirements;  // (3.7)
    // `.launches cluster` (3.8): on a node too, its vector ops and kernels
    // go over the cluster, not only that node (docs/language.md, "On the nodes").
    bool launches_cluster = false;
    friend bool operator==(const Procedure&, const Procedure&) = default;
};

enum class RegionInit : std::uint8_t {
    Zeros,   // all elements 0
    Fill,    // every element = value0
    Range,   // element i = value0 + i * value1
    List,    // elements given in `data`
    String,  // u8 bytes given in `data`
};

struct RegionDecl {
    std::string name;
    ElemType type = ElemType::I32;
    std::uint64_t length = 0;
    RegionInit init = RegionInit::Zeros;
    // Fill/Range values, kept as the element type's domain: integers in
    // int_value*, floats in float_value*.
    std::int64_t int_value0 = 0, int_value1 = 0;
    double float_value0 = 0, float_value1 = 0;
    // List/String: `length` elements, little-endian, elem_size(type) bytes each.
    std::vector<std::uint8_t> data;
    // `.region NAME T[N] distributed` (docs/language.md): on a cluster the
    // region starts on the nodes, split between them, and may be larger
    // than the home's memory (docs/cluster.md, "Placement"). Zeros only.
    // On one machine it is an ordinary region.
    bool distributed = false;
    friend bool operator==(const RegionDecl&, const RegionDecl&) = default;
};

// A channel between procedures (`.channel NAME CAPACITY`, docs/language.md
// "Procedures"): send waits while it holds `capacity` messages.
struct ChannelDecl {
    std::string name;
    std::uint32_t capacity = 1;  // at least 1
    friend bool operator==(const ChannelDecl&, const ChannelDecl&) = default;
};

// A barrier (`.barrier NAME PARTIES`): `barrier NAME` waits until `parties`
// procedures have reached it.
struct BarrierDecl {
    std::string name;
    std::uint32_t parties = 1;  // at least 1
    friend bool operator==(const BarrierDecl&, const BarrierDecl&) = default;
};

// The most channels and barriers a module may declare: an operand holds an 8-bit index.
inline constexpr unsigned kMaxChannels = 256;
inline constexpr unsigned kMaxBarriers = 256;
// The largest capacity and party count a declaration may give (the
// assembler and the verifier check them): a full channel's messages stay
// well inside memory, and a barrier waits for at most this many procedures.
inline constexpr std::uint32_t kMaxChannelCapacity = 1u << 20;
inline constexpr std::uint32_t kMaxBarrierParties = 1024;

enum class ParamKind : std::uint8_t { Buffer, Uniform };
enum class Access : std::uint8_t { In, Out, InOut };
// `x: f32[i]` (the lane's own element), `x: f32[]` (anywhere in the buffer),
// or `x: f32[i-1..i+1]`: a window of elements around the lane's own, from
// gid + window_lo to gid + window_hi (an `in` buffer only; a stencil's
// neighbours: a cluster sends each chunk its slice and the halo around it).
enum class Indexing : std::uint8_t { Element, Broadcast, Window };

struct KernelParam {
    std::string name;
    ParamKind kind = ParamKind::Buffer;
    Access access = Access::In;          // buffers only; uniforms are In
    ElemType type = ElemType::F32;       // buffers: i32/u32/f32; uniforms: i32/f32
    Indexing indexing = Indexing::Element;  // buffers only
    std::int64_t window_lo = 0, window_hi = 0;  // Window only: element offsets from gid, window_lo <= window_hi
    friend bool operator==(const KernelParam&, const KernelParam&) = default;
};

// `in`, `out`, `inout`: how a buffer's access is written.
inline std::string_view access_text(Access a) {
    switch (a) {
    case Access::In: return "in";
    case Access::Out: return "out";
    case Access::InOut: return "inout";
    }
    return "?";
}

// The largest |window_lo| and |window_hi|: a window reaches at most 2^31 - 1
// elements either way, so that gid + offset is exact in 64 bits and a narrow
// kernel's checks need no wider arithmetic than its 32-bit lanes have.
inline constexpr std::int64_t kMaxWindowOffset = 0x7FFF'FFFF;

// Whether element j is inside the window of lane `gid` (gid + window_lo <=
// j <= gid + window_hi); whether j is inside the buffer is another check.
// Exact for any j: gid < 2^32 and |offsets| <= kMaxWindowOffset.
inline bool in_window(const KernelParam& p, std::int64_t gid, std::int64_t j) {
    return j >= gid + p.window_lo && j <= gid + p.window_hi;
}

// How a buffer parameter's indexing is written after its type: "[i]", "[]",
// or a window "[i-1..i+1]", "[i..i+4096]" (the assembler's syntax, which the
// disassembler, the GLSL comments and the trap messages print).
inline std::string indexing_text(const KernelParam& p) {
    if (p.indexing == Indexing::Element) return "[i]";
    if (p.indexing != Indexing::Window) return "[]";
    auto end = [](std::int64_t offset) {
        if (offset == 0) return std::string("i");
        const auto magnitude = offset < 0 ? 0 - static_cast<std::uint64_t>(offset) : static_cast<std::uint64_t>(offset);
        return (offset < 0 ? "i-" : "i+") + std::to_string(magnitude);
    };
    return "[" + end(p.window_lo) + ".." + end(p.window_hi) + "]";
}

struct KernelRequirements {
    bool requires_gpu = false;
    bool prefers_gpu = false;
    std::uint64_t min_memory = 0;  // bytes; `.requires mem >= 4G`
    friend bool operator==(const KernelRequirements&, const KernelRequirements&) = default;
};

// A kernel is its IR and nothing derived from it: the GLSL and SPIR-V that
// Vulkan runs are lowered from the verified IR where it runs
// (assembler/kernel_spirv.h), never read from a module.
struct Kernel {
    std::string name;
    std::vector<KernelParam> params;
    KernelRequirements requirements;
    // `.wide` (docs/kernels.md, "Wide kernels"): lane registers are 64-bit
    // integers and binary64 floats, as a procedure's are, and buffers and
    // uniforms may be i64/f64. The kernels made from loops are wide.
    bool wide = false;
    std::vector<Word> code;          // kernel IR (KOp words)
    std::vector<SourceLoc> lines;    // one per word of code, or empty
    friend bool operator==(const Kernel&, const Kernel&) = default;
};

struct LaunchArg {
    enum class Kind : std::uint8_t { Region, IntReg, FloatReg };
    Kind kind = Kind::Region;
    std::uint8_t index = 0;  // region operand (an index, or a handle operand: isa/encoding.h) or register number
    friend bool operator==(const LaunchArg&, const LaunchArg&) = default;
};

// `launch kernel, rCount, args...`: the instruction names its site by index.
struct LaunchSite {
    std::uint32_t kernel = 0;
    std::vector<LaunchArg> args;  // one per kernel parameter, in order
    friend bool operator==(const LaunchSite&, const LaunchSite&) = default;
};

// A loop the assembler turned into a kernel (docs/loop-kernels.md). The
// `kloop` word just before the loop's first word names its entry; the scalar
// loop stays in the code. When kloop runs the kernel, the kernel does every
// iteration but the last, kloop sets the induction register to the last
// iteration's value and each reduction register to its running value, and
// the scalar loop runs the last iteration itself, so every register the loop
// leaves behind is what the scalar loop would leave.
enum class LoopCompare : std::uint8_t { Lt, Le, Gt, Ge, Ltu, Leu, Gtu, Geu, Ne };
inline constexpr unsigned kLoopCompareCount = 9;

// What a reduction register accumulates, in program order: R or F := R or F op value.
enum class ReduceOp : std::uint8_t {
    Add,   // add (wrapping), integer
    Min,   // min, signed integer
    Max,   // max, signed integer
    Fadd,  // fadd once an iteration: folded in iteration order, exact
    Fmin,  // fmin (only when the procedure allows reassociation: `.reassociate`)
    Fmax,  // fmax (likewise)
    // Not reductions: a register the loop writes in some iterations only and
    // that is read after the loop. kloop sets it from the last lane (iteration)
    // that wrote it, which that lane's LastMask partial says.
    Last,      // R or F := the value the last iteration that wrote it left
    LastMask,  // bit j: this lane wrote the loop's j-th Last register (reg unused, 0)
    // (format 3.3) fadd in a `.reassociate` procedure: kloop may fold the
    // lanes in another fixed order (vm/loop_kernel.cpp, Fold), the same on
    // every backend.
    FaddAnyOrder,
};
inline constexpr unsigned kReduceOpCount = 9;
inline constexpr unsigned kMaxLastValues = 31;  // a LastMask bit each, set by `ori` with a positive immediate

// One argument of a loop kernel, one per kernel parameter.
struct LoopArg {
    enum class Kind : std::uint8_t {
        Region,      // a buffer: index = region operand (a region index or a handle operand)
        IntReg,      // an i64 uniform: R[index] when kloop runs
        FloatReg,    // an f64 uniform: F[index] when kloop runs
        IntConst,    // an i64 uniform: Module::int_consts[index]
        FloatConst,  // an f64 uniform: Module::float_consts[index]
        Iterations,  // an i64 uniform: how many iterations the kernel runs
        Partials,    // an out buffer kloop provides: reductions[index]'s partial per lane
    };
    Kind kind = Kind::Region;
    std::uint32_t index = 0;
    friend bool operator==(const LoopArg&, const LoopArg&) = default;
};
inline constexpr unsigned kLoopArgKindCount = 7;

struct LoopReduction {
    bool is_float = false;     // F[reg] or R[reg]
    std::uint8_t reg = 0;
    ReduceOp op = ReduceOp::Add;
    friend bool operator==(const LoopReduction&, const LoopReduction&) = default;
};

// A region element the loop touches at an index affine in the induction
// register: scale * i + offset (+ R[offset_reg] when has_offset_reg), checked
// against the region's length for the first and last iteration before the
// kernel runs (an index out of range: the scalar loop runs and traps there).
struct LoopAccess {
    std::uint8_t region = 0;  // region operand (index or handle operand)
    bool writes = false;
    std::int64_t scale = 0;
    std::int64_t offset = 0;
    bool has_offset_reg = false;
    std::uint8_t offset_reg = 0;
    friend bool operator==(const LoopAccess&, const LoopAccess&) = default;
};

struct LoopKernel {
    std::uint32_t kernel = 0;   // the generated wide kernel, in Module::kernels
    std::uint32_t header = 0;   // the scalar loop's first word (the word after kloop)
    std::uint32_t end = 0;      // one past the scalar loop's last word
    std::uint8_t induction = 0; // r register, stepped once per iteration
    std::uint8_t bound = 0;     // r register the loop compares it with
    LoopCompare compare = LoopCompare::Lt;  // the loop goes on while R[induction] compare R[bound]
    bool tested_first = true;   // the test comes before the body (0 iterations possible), else after the step
    std::int64_t step = 1;      // added to R[induction] once per iteration, never 0
    std::uint64_t chunk = 1;    // iterations per lane (1 unless there are reductions)
    std::vector<LoopArg> args;  // one per kernel parameter
    std::vector<LoopReduction> reductions;
    std::vector<LoopAccess> accesses;
    std::vector<std::uint8_t> divisors;  // r registers the loop divides by: all must be nonzero
    friend bool operator==(const LoopKernel&, const LoopKernel&) = default;
};

struct Label {
    std::string name;
    std::uint32_t pc = 0;  // word index in Module::code
    friend bool operator==(const Label&, const Label&) = default;
};

// The frames of one basic block (docs/frames.md): frame[i] is the frame of
// word start + i. Frame k holds the instructions whose longest dependency path
// from the block start is k; isa/frame_analysis.h computes them.
struct BlockFrames {
    std::uint32_t start = 0;             // the block's first word in Module::code
    std::vector<std::uint16_t> frame;    // one per word of the block
    friend bool operator==(const BlockFrames&, const BlockFrames&) = default;
};

struct Module {
    std::string name;              // `.module name`, or the file's stem
    std::string source_file;       // for diagnostics and the line table
    std::vector<std::string> include_files;  // the other files a SourceLoc may name (`.include`)
    std::vector<Word> code;        // all procedures' words
    std::vector<SourceLoc> lines;  // one per word of code, or empty
    std::vector<Procedure> procs;
    std::vector<std::int64_t> int_consts;
    std::vector<double> float_consts;
    std::vector<std::string> strings;  // string literals used by prints
    std::vector<RegionDecl> regions;
    std::vector<Kernel> kernels;
    std::vector<LaunchSite> launches;
    std::vector<LoopKernel> loop_kernels;  // named by kloop words
    std::vector<ChannelDecl> channels;     // named by send/recv operands
    std::vector<BarrierDecl> barriers;     // named by barrier operands
    std::vector<Label> labels;     // code labels, for the disassembler and debugger
    // Basic blocks in code order with their frames; empty = absent (a module
    // written without the optional table, or built by hand): compute_frames()
    // gives them.
    std::vector<BlockFrames> frames;
    friend bool operator==(const Module&, const Module&) = default;
};

// The file a source location is in (SourceLoc::file), or "" when unknown.
inline const std::string& source_file_of(const Module& m, const SourceLoc& loc) {
    static const std::string kUnknown;
    if (loc.file == 0) return m.source_file;
    return loc.file <= m.include_files.size() ? m.include_files[loc.file - 1] : kUnknown;
}

}  // namespace polymer
