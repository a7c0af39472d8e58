// Hand-built modules for the isa tests and the fuzz seed corpus: valid, and
// together they fill every section of the .pbc format.
#pragma once

#include "isa/module.h"
#include "isa/opcodes.h"

namespace polymer::testing {

inline Word op(Op o, std::uint8_t a = 0, std::uint8_t b = 0, std::uint8_t c = 0, std::int32_t imm = 0) {
    return make_word(static_cast<std::uint8_t>(o), a, b, c, imm);
}
inline Word kop(KOp o, std::uint8_t a = 0, std::uint8_t b = 0, std::uint8_t c = 0, std::int32_t imm = 0) {
    return make_word(static_cast<std::uint8_t>(o), a, b, c, imm);
}

// The smallest useful module: one procedure that halts.
inline Module tiny_module() {
    Module m;
    m.name = "tiny";
    m.code = {op(Op::Li, 1, 0, 0, 42), op(Op::Print, 1), op(Op::Halt)};
    m.procs = {{"main", 0, 3}};
    return m;
}

// Uses every section: pools, strings, all region initializers and a
// distributed region, a kernel with
// every parameter kind, structured control flow, a launch
// site, labels and line tables.
inline Module full_module() {
    Module m;
    m.name = "full";
    m.source_file = "full.pasm";
    m.int_consts = {5000000000LL, -7};
    m.float_consts = {0.5, -0.0, 1e300};
    m.strings = {"hello\n", "", std::string("a\0b", 3)};

    RegionDecl xs{"xs", ElemType::F32, 4, RegionInit::Range};
    xs.float_value0 = 0;
    xs.float_value1 = 0.5;
    RegionDecl ys{"ys", ElemType::F32, 4, RegionInit::Fill};
    ys.float_value0 = 1.0;
    RegionDecl zs{"zs", ElemType::F32, 4};
    RegionDecl primes{"primes", ElemType::I32, 3, RegionInit::List};
    primes.data = {2, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0};
    RegionDecl msg{"msg", ElemType::U8, 2, RegionInit::String};
    msg.data = {'h', 'i'};
    RegionDecl big{"big", ElemType::I64, 10, RegionInit::Range};
    big.int_value0 = -3;
    big.int_value1 = 2;
    RegionDecl ds{"ds", ElemType::F64, 2};
    ds.distributed = true;  // format 3.5
    m.regions = {xs, ys, zs, primes, msg, big, ds};

    Kernel saxpy;
    saxpy.name = "saxpy";
    saxpy.params = {
        {"x", ParamKind::Buffer, Access::In, ElemType::F32, Indexing::Element},
        {"y", ParamKind::Buffer, Access::In, ElemType::F32, Indexing::Broadcast},
        {"z", ParamKind::Buffer, Access::Out, ElemType::F32, Indexing::Element},
        {"a", ParamKind::Uniform, Access::In, ElemType::F32, Indexing::Element},
        {"n", ParamKind::Uniform, Access::In, ElemType::I32, Indexing::Element},
        {"h", ParamKind::Buffer, Access::InOut, ElemType::I32, Indexing::Broadcast},
    };
    saxpy.requirements = {false, true, 1u << 20};
    saxpy.code = {
        kop(KOp::Gid, 0),
        kop(KOp::Ldf, 0, 0, 0),      // f0 = x[r0]
        kop(KOp::Ldf, 1, 0, 1),      // f1 = y[r0]
        kop(KOp::Ldpf, 2, 3),        // f2 = a
        kop(KOp::Ffma, 3, 2, 0, 1),  // f3 = f2 * f0 + f1
        kop(KOp::Stf, 3, 0, 2),      // z[r0] = f3
        kop(KOp::Ldp, 1, 4),         // r1 = n
        kop(KOp::Lt, 2, 0, 1),
        kop(KOp::If, 2),
        kop(KOp::Loop),
        kop(KOp::Break),
        kop(KOp::End),
        kop(KOp::Else),
        kop(KOp::Li, 3, 0, 0, 1),
        kop(KOp::AtAdd, 3, 0, 5),    // h[r0] += r3
        kop(KOp::End),
        kop(KOp::Blen, 4, 5),
    };
    for (std::uint32_t i = 0; i < saxpy.code.size(); ++i) saxpy.lines.push_back({100 + i, 9});
    m.kernels = {saxpy};

    m.launches = {{0,
                   {{LaunchArg::Kind::Region, 0},
                    {LaunchArg::Kind::Region, 1},
                    {LaunchArg::Kind::Region, 2},
                    {LaunchArg::Kind::FloatReg, 1},
                    {LaunchArg::Kind::IntReg, 2},
                    {LaunchArg::Kind::Region, 3}}}};

    // proc square: r1 = r1 * r1
    // proc main: loop over the regions, call, print, launch, wait, halt
    m.code = {
        op(Op::Mul, 1, 1, 1),          // 0 square
        op(Op::Ret),                   // 1
        op(Op::Liw, 2, 0, 0, 0),       // 2 main: r2 = K[0]
        op(Op::Lif, 1, 0, 0, 2),       // 3 f1 = K[2]
        op(Op::Li, 3, 0, 0, 0),        // 4
        op(Op::LdF32, 4, 3, 0),        // 5 loop: f4 = xs[r3]
        op(Op::StF32, 4, 3, 2),        // 6 zs[r3] = f4
        op(Op::LdI32, 5, 3, 3),        // 7 r5 = primes[r3]
        op(Op::Addi, 3, 3, 0, 1),      // 8
        op(Op::Shli, 6, 3, 0, 63),     // 9
        op(Op::Bne, 3, 2, 0, 5),       // 10 -> loop
        op(Op::Call, 0, 0, 0, 0),      // 11 call square
        op(Op::Prints, 0, 0, 0, 0),    // 12
        op(Op::Vadd, 2, 0, 1),         // 13 zs = xs + ys
        op(Op::Vfma, 2, 0, 1, 2),      // 14
        op(Op::Vsum, 1, 2),            // 15
        op(Op::Vsumi, 1, 5),           // 16
        op(Op::Vcmplt, 3, 0, 1),       // 17 primes = xs < ys
        op(Op::Vselect, 2, 3, 0, 1),   // 18
        op(Op::Vfill, 5, 1),           // 19
        op(Op::Vscale, 6, 6, 1),       // 20
        op(Op::Launch, 7, 0, 0, 0),    // 21 launch saxpy, r7, ...
        op(Op::Wait),                  // 22
        op(Op::Printr, 4, 1, 2),       // 23
        op(Op::Halt),                  // 24
    };
    m.procs = {{"square", 0, 2}, {"main", 2, 23}};
    for (std::uint32_t i = 0; i < m.code.size(); ++i) m.lines.push_back({i + 1, i % 3 + 1});
    m.labels = {{"loop", 5}, {"done", 24}};
    return m;
}

// full_module() as if its kernel and its first procedure came from an
// included file (`.include`): the optional source-files section is written.
inline Module several_files_module() {
    Module m = full_module();
    m.include_files = {"lib/square.pasm", "lib/kernels.pasm"};
    if (m.lines.empty()) m.lines.resize(m.code.size(), SourceLoc{1, 1});
    m.lines[0].file = 1;
    m.lines[1].file = 1;
    for (SourceLoc& loc : m.kernels[0].lines) loc.file = 2;
    return m;
}

// full_module() with its broadcast input y read through a window
// `y: f32[i-1..i+4096]` (format 3.4): the kernel reads y[gid], inside it.
inline Module window_module() {
    Module m = full_module();
    KernelParam& y = m.kernels[0].params[1];
    y.indexing = Indexing::Window;
    y.window_lo = -1;
    y.window_hi = 4096;
    return m;
}

// A loop the assembler turned into a kernel (docs/loop-kernels.md): `kloop 0`
// before a copy loop, its wide kernel, and the loop-kernels section with an
// entry of every part (arguments, checked accesses, a divisor).
inline Module loop_kernel_module() {
    Module m;
    m.name = "loops";
    m.source_file = "loops.pasm";
    m.regions = {{"xs", ElemType::I32, 8, RegionInit::Range}, {"ys", ElemType::I32, 8}};
    m.regions[0].int_value1 = 1;
    Kernel k;
    k.name = "main.loop4";
    k.wide = true;
    k.params = {{"x", ParamKind::Buffer, Access::In, ElemType::I32, Indexing::Broadcast},
                {"y", ParamKind::Buffer, Access::Out, ElemType::I32, Indexing::Broadcast}};
    k.code = {kop(KOp::Gid, 1), kop(KOp::Ld, 3, 1, 0), kop(KOp::St, 3, 1, 1)};
    m.kernels = {k};
    m.code = {
        op(Op::Li, 1, 0, 0, 0),     // 0
        op(Op::Li, 2, 0, 0, 8),     // 1
        op(Op::Kloop, 0, 0, 0, 0),  // 2 kloop 0
        op(Op::LdI32, 3, 1, 0),     // 3 loop: r3 = xs[r1]
        op(Op::StI32, 3, 1, 1),     // 4 ys[r1] = r3
        op(Op::Addi, 1, 1, 0, 1),   // 5
        op(Op::Blt, 1, 2, 0, 3),    // 6 -> loop
        op(Op::Halt),               // 7
    };
    m.procs = {{"main", 0, 8}};
    m.lines = {{1, 9}, {2, 9}, {4, 9}, {4, 9}, {5, 9}, {6, 9}, {7, 9}, {8, 9}};
    m.labels = {{"loop", 3}};
    LoopKernel l;
    l.kernel = 0;
    l.header = 3;
    l.end = 7;
    l.induction = 1;
    l.bound = 2;
    l.compare = LoopCompare::Lt;
    l.tested_first = false;
    l.args = {{LoopArg::Kind::Region, 0}, {LoopArg::Kind::Region, 1}};
    l.accesses = {{0, false, 1, 0, true, 0}, {1, true, 1, 0, false, 0}};
    l.divisors = {2};
    m.loop_kernels = {l};
    return m;
}

// Procedures that talk (format 3.6): two channels and a barrier, and every
// procs opcode. main spawns worker, sends it a number, takes a float back,
// meets it at the barrier and joins it.
inline Module procs_module() {
    Module m;
    m.name = "procs";
    m.source_file = "procs.pasm";
    m.channels = {{"pings", 4}, {"results", kMaxChannelCapacity}};
    m.barriers = {{"step", 2}};
    m.code = {
        op(Op::Recv, 1, 0),           // 0 worker: recv r1, pings
        op(Op::Itof, 1, 1),           // 1 f1 = r1
        op(Op::Sendf, 1, 1),          // 2 sendf results, f1
        op(Op::Barrier, 0),           // 3 barrier step
        op(Op::Ret),                  // 4
        op(Op::Li, 2, 0, 0, -1),      // 5 main: r2 = -1 (any participant)
        op(Op::Spawn, 9, 2, 0, 0),    // 6 spawn r9, worker, r2
        op(Op::Li, 1, 0, 0, 7),       // 7
        op(Op::Send, 0, 1),           // 8 send pings, r1
        op(Op::Recvf, 2, 1),          // 9 recvf f2, results
        op(Op::Barrier, 0),           // 10 barrier step
        op(Op::Join, 3, 3, 9),        // 11 join r3, f3, r9
        op(Op::Halt),                 // 12
    };
    m.procs = {{"worker", 0, 5}, {"main", 5, 8}};
    return m;
}

// procs_module() with requirements on where worker may go (format 3.7):
// a GPU node with 4 GiB for one home, named box3.
inline Module placed_procs_module() {
    Module m = procs_module();
    m.name = "placed";
    m.procs[0].requirements = {true, std::uint64_t{4} << 30, "box3"};
    return m;
}

}  // namespace polymer::testing
