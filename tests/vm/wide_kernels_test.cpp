// Wide kernels (`.wide`, docs/kernels.md "Wide kernels") on the CPU backend:
// every op against the procedure opcode of its name, run by the same VM on
// the same edge values (INT64_MIN, -1, shift counts 63/64/-1, NaN, -0.0,
// floats past int64 for ftoi, f32 rounding on stf); loads and stores of
// every buffer type; uniforms; the memory contract with 64-bit indices; and
// the "i0 + gid" sequence the kernels made from loops index with.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "isa/verifier.h"
#include "vm/machine.h"
#include "vm/output.h"
#include "vm/scalar_semantics.h"

namespace polymer {
namespace {

using i64 = std::int64_t;
constexpr i64 kMin = std::numeric_limits<i64>::min();
constexpr i64 kMax = std::numeric_limits<i64>::max();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

const std::vector<i64> kInts = {0,  1,       -1,      2,           3,          -7,         31,         32,
                                63, 64,      65,      -64,         kMin,       kMax,       kMin + 1,   INT32_MIN,
                                INT32_MAX,   0x100000000LL, 0xFFFFFFFFLL, 12345678901LL, -98765432109LL};
const std::vector<double> kFloats = {0.0,     -0.0,   1.0,  -1.5,   0.1,     3.0,      kNan,      kInf,
                                     -kInf,   1e308,  -1e308, 5e-324, 0x1p63, -0x1p63,  9.3e18,   -1e19,
                                     0x1p62,  2.5,    -2.5,   1.0 + 0x1p-24, 3.4028235677973366e38, 1e-40};

// A program assembled, verified and run once on the CPU backend, with its
// regions filled before `main` runs and read after.
class Program {
public:
    explicit Program(const std::string& source) {
        AssembleOptions options;
        options.filename = "wide.pasm";
        AssembleResult r = assemble(source, options);
        for (const Diagnostic& d : r.diagnostics) diagnostics_ += format_diagnostic(d);
        if (!r.ok()) return;
        module_ = std::make_unique<Module>(std::move(*r.module));
        Result<Verified> v = verify_module(*module_);
        if (!v.ok()) {
            diagnostics_ += "verifier: " + v.error();
            module_.reset();
            return;
        }
        out_ = std::make_unique<OutputBuffer>(&output_);
        auto m = Machine::create(*module_, *out_, MachineOptions{});
        if (!m.ok()) {
            diagnostics_ += m.error();
            module_.reset();
            return;
        }
        machine_ = std::move(m).value();
    }
    bool ok() const { return machine_ != nullptr; }
    const std::string& diagnostics() const { return diagnostics_; }

    Region& region(std::string_view name) {
        for (std::size_t i = 0; i < machine_->regions().size(); ++i)
            if (machine_->regions()[i].name == name) return machine_->regions()[i];
        ADD_FAILURE() << "no region " << name;
        return machine_->regions()[0];
    }
    template <class T>
    void fill(std::string_view name, const std::vector<T>& values) {
        Region& g = region(name);
        ASSERT_EQ(g.length, values.size()) << name;
        std::memcpy(g.data, values.data(), values.size() * sizeof(T));
    }
    template <class T>
    std::vector<T> read(std::string_view name) {
        Region& g = region(name);
        return std::vector<T>(g.as<T>(), g.as<T>() + g.length);
    }
    RunResult run() {
        RunResult r = machine_->run(*machine_->find_proc("main"));
        out_->flush();
        return r;
    }
    Machine& machine() { return *machine_; }

private:
    std::string diagnostics_, output_;
    std::unique_ptr<Module> module_;
    std::unique_ptr<OutputBuffer> out_;
    std::unique_ptr<Machine> machine_;
};

// Every pair of `values`, repeated until there are at least 600 lanes (two
// whole 256-lane blocks and a partial one).
template <class T, class U>
void all_pairs(const std::vector<T>& xs, const std::vector<U>& ys, std::vector<T>& bs, std::vector<U>& cs) {
    while (bs.size() < 600)
        for (T x : xs)
            for (U y : ys) bs.push_back(x), cs.push_back(y);
}

bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::bit_cast<i64>(a) == std::bit_cast<i64>(b); }

// `OP dst, b, c` as a wide kernel over buffers bs, cs into kz, and as the
// procedure opcode in a loop over the same regions into pz. Types: 'i' i64
// (integer registers), 'f' f64 (float registers).
std::string binary_program(const std::string& op, char dst, char src, bool skip_zero_divisor) {
    const std::string d = dst == 'f' ? "f64" : "i64", s = src == 'f' ? "f64" : "i64";
    const std::string ld = src == 'f' ? "ldf" : "ld", st = dst == 'f' ? "stf" : "st";
    const std::string rb = src == 'f' ? "f1" : "r1", rc = src == 'f' ? "f2" : "r2", ra = dst == 'f' ? "f3" : "r3";
    std::string text = ".region bs " + s + "[N]\n.region cs " + s + "[N]\n.region kz " + d + "[N]\n.region pz " + d + "[N]\n";
    text += ".kernel k (in b: " + s + "[i], in c: " + s + "[i], out z: " + d + "[i])\n        .wide\n"
            "        gid     r0\n        " + ld + " " + rb + ", b[r0]\n        " + ld + " " + rc + ", c[r0]\n"
            "        " + op + " " + ra + ", " + rb + ", " + rc + "\n        " + st + " z[r0], " + ra + "\n.end\n";
    text += ".proc main\n        len r9, bs\n        launch k, r9, bs, cs, kz\n        wait\n        li r0, 0\n"
            "next:\n        ld." + s + " " + rb + ", bs[r0]\n        ld." + s + " " + rc + ", cs[r0]\n";
    if (skip_zero_divisor) text += "        bz r2, skip\n";
    text += "        " + op + " " + ra + ", " + rb + ", " + rc + "\n        st." + d + " pz[r0], " + ra + "\n";
    text += "skip:\n        addi r0, r0, 1\n        blt r0, r9, next\n        halt\n.end\n";
    return text;
}

std::string with_length(std::string text, std::size_t n) {
    for (std::size_t at = text.find("[N]"); at != std::string::npos; at = text.find("[N]", at))
        text.replace(at, 3, "[" + std::to_string(n) + "]");
    return text;
}

TEST(WideKernels, IntegerOpsMeanTheProcedureOpcodes) {
    for (const char* op : {"add", "sub", "mul", "and", "or", "xor", "shl", "shr", "sar", "min", "max", "eq", "ne", "lt",
                           "le", "ltu", "leu", "div", "rem", "divu", "remu"}) {
        const bool divides = std::string(op).starts_with("div") || std::string(op).starts_with("rem");
        std::vector<i64> bs, cs;
        all_pairs(kInts, kInts, bs, cs);
        Program p(with_length(binary_program(op, 'i', 'i', divides), bs.size()));
        ASSERT_TRUE(p.ok()) << op << "\n" << p.diagnostics();
        p.fill("bs", bs);
        p.fill("cs", cs);
        ASSERT_EQ(p.run().status, RunStatus::Halted) << op;
        const std::vector<i64> kz = p.read<i64>("kz"), pz = p.read<i64>("pz");
        for (std::size_t i = 0; i < bs.size(); ++i) {
            // Procedures trap on a zero divisor (skipped); a kernel gives 0.
            const i64 want = divides && cs[i] == 0 ? 0 : pz[i];
            ASSERT_EQ(kz[i], want) << op << " " << bs[i] << ", " << cs[i] << " (lane " << i << ")";
        }
    }
}

TEST(WideKernels, FloatOpsMeanTheProcedureOpcodes) {
    for (const char* op : {"fadd", "fsub", "fmul", "fdiv", "fmin", "fmax"}) {
        std::vector<double> bs, cs;
        all_pairs(kFloats, kFloats, bs, cs);
        Program p(with_length(binary_program(op, 'f', 'f', false), bs.size()));
        ASSERT_TRUE(p.ok()) << op << "\n" << p.diagnostics();
        p.fill("bs", bs);
        p.fill("cs", cs);
        ASSERT_EQ(p.run().status, RunStatus::Halted) << op;
        const std::vector<double> kz = p.read<double>("kz"), pz = p.read<double>("pz");
        for (std::size_t i = 0; i < bs.size(); ++i)
            ASSERT_TRUE(same_value(kz[i], pz[i])) << op << " " << bs[i] << ", " << cs[i] << ": kernel " << kz[i]
                                                  << ", procedure " << pz[i];
    }
    for (const char* op : {"feq", "flt", "fle"}) {
        std::vector<double> bs, cs;
        all_pairs(kFloats, kFloats, bs, cs);
        Program p(with_length(binary_program(op, 'i', 'f', false), bs.size()));
        ASSERT_TRUE(p.ok()) << op << "\n" << p.diagnostics();
        p.fill("bs", bs);
        p.fill("cs", cs);
        ASSERT_EQ(p.run().status, RunStatus::Halted) << op;
        EXPECT_EQ(p.read<i64>("kz"), p.read<i64>("pz")) << op;
    }
}

// Every float binary op on each kind of operand the interpreter reads its
// own way (docs/kernels.md, "The CPU backend"): an f32 load (a view), an f64
// buffer read in place, and a value every lane holds (ldpf), on either side,
// against the procedure opcodes; the uniform is each of the float edges.
TEST(WideKernels, FloatOpsOnF32LoadsAndUniformsMeanTheProcedureOpcodes) {
    const std::size_t n = 1300;
    const char* kCases[][2] = {{"f2", "f1"}, {"f1", "f2"}, {"f3", "f1"}, {"f1", "f3"}, {"f2", "f3"}, {"f2", "f2"}};
    for (const char* op : {"fadd", "fsub", "fmul", "fdiv", "fmin", "fmax", "feq", "flt", "fle"}) {
        const bool compare = op[1] != 'a' && op[1] != 's' && op[1] != 'm' && op[1] != 'd';
        const std::string t = compare ? "i64" : "f64", st = compare ? "st" : "stf";
        std::string text = ".region xs f32[N]\n.region ds f64[N]\n.region us f64[1]\n";
        std::string params, launch, kernel_ops, proc_ops;
        for (std::size_t c = 0; c < std::size(kCases); ++c) {
            const std::string z = std::to_string(c), dst = (compare ? "r" : "f") + std::to_string(c + 10);
            text += ".region k" + z + " " + t + "[N]\n.region p" + z + " " + t + "[N]\n";
            params += ", out z" + z + ": " + t + "[i]";
            launch += ", k" + z;
            const std::string insn = std::string(op) + " " + dst + ", " + kCases[c][0] + ", " + kCases[c][1];
            kernel_ops += "        " + insn + "\n        " + st + " z" + z + "[r0], " + dst + "\n";
            proc_ops += "        " + insn + "\n        st." + t + " p" + z + "[r0], " + dst + "\n";
        }
        text += ".kernel k (in x: f32[i], in d: f64[i]" + params + ", u: f64)\n        .wide\n        gid     r0\n"
                "        ldpf    f1, u\n        ldf     f2, x[r0]\n        ldf     f3, d[r0]\n" + kernel_ops + ".end\n";
        text += ".proc main\n        li r0, 0\n        ld.f64 f1, us[r0]\n        len r9, xs\n        launch k, r9, xs, ds" + launch +
                ", f1\n        wait\nnext:\n        ld.f32 f2, xs[r0]\n        ld.f64 f3, ds[r0]\n" + proc_ops +
                "        addi r0, r0, 1\n        blt r0, r9, next\n        halt\n.end\n";
        for (double u : {2.0, -0.0, kNan, kInf, 1e-310, -1.5}) {
            Program p(with_length(text, n));
            ASSERT_TRUE(p.ok()) << op << "\n" << p.diagnostics();
            std::vector<float> x(n);
            std::vector<double> d(n);
            for (std::size_t i = 0; i < n; ++i) {
                x[i] = static_cast<float>(kFloats[i % kFloats.size()]);
                d[i] = kFloats[(i / kFloats.size()) % kFloats.size()];
            }
            p.fill("xs", x);
            p.fill("ds", d);
            p.fill("us", std::vector<double>{u});
            ASSERT_EQ(p.run().status, RunStatus::Halted) << op;
            for (std::size_t c = 0; c < std::size(kCases); ++c) {
                const std::string z = std::to_string(c);
                if (compare) {
                    EXPECT_EQ(p.read<i64>("k" + z), p.read<i64>("p" + z)) << op << " " << kCases[c][0] << ", " << kCases[c][1] << " u " << u;
                    continue;
                }
                const std::vector<double> kz = p.read<double>("k" + z), pz = p.read<double>("p" + z);
                for (std::size_t i = 0; i < n; ++i)
                    ASSERT_TRUE(same_value(kz[i], pz[i])) << op << " " << kCases[c][0] << ", " << kCases[c][1] << " u " << u
                                                          << " lane " << i << ": kernel " << kz[i] << ", procedure " << pz[i];
            }
        }
    }
}

// `OP dst, src` (or `OP dst, src, IMM`) one lane per value.
std::string unary_program(const std::string& op, char dst, char src, const std::string& imm = "") {
    const std::string d = dst == 'f' ? "f64" : "i64", s = src == 'f' ? "f64" : "i64";
    const std::string ld = src == 'f' ? "ldf" : "ld", st = dst == 'f' ? "stf" : "st";
    const std::string rb = src == 'f' ? "f1" : "r1", ra = dst == 'f' ? "f3" : "r3";
    const std::string insn = op + " " + ra + ", " + rb + (imm.empty() ? "" : ", " + imm);
    std::string text = ".region bs " + s + "[N]\n.region kz " + d + "[N]\n.region pz " + d + "[N]\n";
    text += ".kernel k (in b: " + s + "[i], out z: " + d + "[i])\n        .wide\n        gid r0\n        " + ld + " " +
            rb + ", b[r0]\n        " + insn + "\n        " + st + " z[r0], " + ra + "\n.end\n";
    text += ".proc main\n        len r9, bs\n        launch k, r9, bs, kz\n        wait\n        li r0, 0\nnext:\n"
            "        ld." + s + " " + rb + ", bs[r0]\n        " + insn + "\n        st." + d + " pz[r0], " + ra + "\n"
            "        addi r0, r0, 1\n        blt r0, r9, next\n        halt\n.end\n";
    return text;
}

template <class In, class Out>
void expect_unary_agrees(const std::string& op, char dst, char src, const std::vector<In>& values, const std::string& imm = "") {
    std::vector<In> bs;
    while (bs.size() < 600) bs.insert(bs.end(), values.begin(), values.end());
    Program p(with_length(unary_program(op, dst, src, imm), bs.size()));
    ASSERT_TRUE(p.ok()) << op << " " << imm << "\n" << p.diagnostics();
    p.fill("bs", bs);
    ASSERT_EQ(p.run().status, RunStatus::Halted) << op;
    const std::vector<Out> kz = p.read<Out>("kz"), pz = p.read<Out>("pz");
    for (std::size_t i = 0; i < bs.size(); ++i) {
        if constexpr (std::is_same_v<Out, double>)
            ASSERT_TRUE(same_value(kz[i], pz[i])) << op << " " << imm << " of " << bs[i] << ": kernel " << kz[i] << ", procedure " << pz[i];
        else
            ASSERT_EQ(kz[i], pz[i]) << op << " " << imm << " of " << bs[i];
    }
}

TEST(WideKernels, UnaryAndImmediateOpsMeanTheProcedureOpcodes) {
    expect_unary_agrees<i64, i64>("neg", 'i', 'i', kInts);
    expect_unary_agrees<i64, i64>("not", 'i', 'i', kInts);
    expect_unary_agrees<i64, i64>("mov", 'i', 'i', kInts);
    for (const char* op : {"addi", "muli", "andi", "ori", "xori"})
        for (const char* imm : {"-1", "0", "5", "2147483647", "-2147483648"})
            expect_unary_agrees<i64, i64>(op, 'i', 'i', kInts, imm);
    for (const char* op : {"shli", "shri", "sari"})
        for (const char* imm : {"0", "1", "31", "32", "63"}) expect_unary_agrees<i64, i64>(op, 'i', 'i', kInts, imm);
    for (const char* op : {"fneg", "fabs", "fsqrt", "ffloor", "fmov"}) expect_unary_agrees<double, double>(op, 'f', 'f', kFloats);
    expect_unary_agrees<i64, double>("itof", 'f', 'i', kInts);
    expect_unary_agrees<double, i64>("ftoi", 'i', 'f', kFloats);
}

TEST(WideKernels, ConstantsAreSignExtendedAndWidened) {
    Program p(R"(
.region out i64[4]
.region fout f64[2]
.kernel k (out o: i64[], out f: f64[])
        .wide
        li      r1, -1
        li      r2, 0
        st      o[r2], r1
        li      r1, -2147483648
        li      r2, 1
        st      o[r2], r1
        li      r1, 2147483647
        li      r2, 2
        st      o[r2], r1
        count   r1
        li      r2, 3
        st      o[r2], r1
        lif     f1, 0.1
        li      r2, 0
        stf     f[r2], f1
        lif     f1, -0.0
        li      r2, 1
        stf     f[r2], f1
.end
.proc main
        li      r1, 1
        launch  k, r1, out, fout
        wait
        halt
.end
)");
    ASSERT_TRUE(p.ok()) << p.diagnostics();
    ASSERT_EQ(p.run().status, RunStatus::Halted);
    EXPECT_EQ(p.read<i64>("out"), (std::vector<i64>{-1, INT32_MIN, INT32_MAX, 1}));
    const std::vector<double> f = p.read<double>("fout");
    EXPECT_EQ(f[0], static_cast<double>(0.1f));  // the binary32 literal, widened
    EXPECT_TRUE(std::signbit(f[1]) && f[1] == 0.0);
}

// Loads widen and stores narrow as the procedure's ld.T / st.T do.
TEST(WideKernels, LoadsAndStoresOfEveryBufferType) {
    const std::vector<i64> wide_ints = {0, -1, 1, kMin, kMax, INT32_MIN, INT32_MAX, 0x180000001LL, 0xFFFFFFFFLL, -0x80000001LL};
    const std::vector<double> wide_floats = {0.0, -0.0, 0.1, 1e300, -1e300, 1.0 + 0x1p-24, 1.0 + 0x1p-23 + 0x1p-24,
                                             kNan, kInf, 1e-40, 3.4028235677973366e38, -2.5};
    const std::size_t n = std::max(wide_ints.size(), wide_floats.size());
    std::string text = with_length(R"(
.region a i32[N]
.region b u32[N]
.region c i64[N]
.region d f32[N]
.region e f64[N]
.region ka i64[N]
.region kb i64[N]
.region kc i64[N]
.region kd f64[N]
.region ke f64[N]
.region pa i64[N]
.region pb i64[N]
.region pc i64[N]
.region pd f64[N]
.region pe f64[N]
.region k32 i32[N]
.region ku32 u32[N]
.region kf32 f32[N]
.region p32 i32[N]
.region pu32 u32[N]
.region pf32 f32[N]
.kernel loads (in a: i32[], in b: u32[], in c: i64[], in d: f32[], in e: f64[], out xa: i64[], out xb: i64[], out xc: i64[], out xd: f64[], out xe: f64[])
        .wide
        gid     r0
        ld      r1, a[r0]
        st      xa[r0], r1
        ld      r1, b[r0]
        st      xb[r0], r1
        ld      r1, c[r0]
        st      xc[r0], r1
        ldf     f1, d[r0]
        stf     xd[r0], f1
        ldf     f1, e[r0]
        stf     xe[r0], f1
.end
.kernel stores (in c: i64[i], in e: f64[i], out y32: i32[i], out yu32: u32[i], out yf32: f32[i])
        .wide
        gid     r0
        ld      r1, c[r0]
        st      y32[r0], r1
        st      yu32[r0], r1
        ldf     f1, e[r0]
        stf     yf32[r0], f1
.end
.proc main
        len     r9, a
        launch  loads, r9, a, b, c, d, e, ka, kb, kc, kd, ke
        launch  stores, r9, c, e, k32, ku32, kf32
        wait
        li      r0, 0
next:
        ld.i32  r1, a[r0]
        st.i64  pa[r0], r1
        ld.u32  r1, b[r0]
        st.i64  pb[r0], r1
        ld.i64  r1, c[r0]
        st.i64  pc[r0], r1
        st.i32  p32[r0], r1
        st.u32  pu32[r0], r1
        ld.f32  f1, d[r0]
        st.f64  pd[r0], f1
        ld.f64  f1, e[r0]
        st.f64  pe[r0], f1
        st.f32  pf32[r0], f1
        addi    r0, r0, 1
        blt     r0, r9, next
        halt
.end
)", n);
    Program p(text);
    ASSERT_TRUE(p.ok()) << p.diagnostics();
    std::vector<std::int32_t> a(n);
    std::vector<std::uint32_t> b(n);
    std::vector<i64> c(n);
    std::vector<float> d(n);
    std::vector<double> e(n);
    for (std::size_t i = 0; i < n; ++i) {
        c[i] = wide_ints[i % wide_ints.size()];
        a[i] = static_cast<std::int32_t>(c[i]);
        b[i] = static_cast<std::uint32_t>(c[i]);
        e[i] = wide_floats[i % wide_floats.size()];
        d[i] = static_cast<float>(e[i]);
    }
    p.fill("a", a);
    p.fill("b", b);
    p.fill("c", c);
    p.fill("d", d);
    p.fill("e", e);
    ASSERT_EQ(p.run().status, RunStatus::Halted);
    for (const char* x : {"a", "b", "c"}) EXPECT_EQ(p.read<i64>(std::string("k") + x), p.read<i64>(std::string("p") + x)) << x;
    for (const char* x : {"d", "e"}) {
        const std::vector<double> k = p.read<double>(std::string("k") + x), q = p.read<double>(std::string("p") + x);
        for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(same_value(k[i], q[i])) << x << "[" << i << "]";
    }
    EXPECT_EQ(p.read<std::int32_t>("k32"), p.read<std::int32_t>("p32"));
    EXPECT_EQ(p.read<std::uint32_t>("ku32"), p.read<std::uint32_t>("pu32"));
    const std::vector<float> kf = p.read<float>("kf32"), pf = p.read<float>("pf32");
    for (std::size_t i = 0; i < n; ++i) {
        EXPECT_TRUE((std::isnan(kf[i]) && std::isnan(pf[i])) || std::bit_cast<std::uint32_t>(kf[i]) == std::bit_cast<std::uint32_t>(pf[i])) << i;
        if (!std::isnan(e[i])) {
            EXPECT_EQ(kf[i], static_cast<float>(e[i])) << i;  // round to nearest even
        }
    }
    EXPECT_EQ(p.read<i64>("ka")[7], -0x7FFFFFFF);  // 0x180000001 as i32: its low 32 bits 0x80000001, sign-extended
    EXPECT_EQ(p.read<i64>("kb")[1], 0xFFFFFFFFLL);  // -1 as u32, zero-extended
}

TEST(WideKernels, UniformsOfEveryType) {
    Program p(R"(
.region ints i64[2]
.region floats f64[2]
.kernel k (a: i64, b: i32, c: f64, d: f32, out x: i64[], out y: f64[])
        .wide
        li      r0, 0
        li      r1, 1
        ldp     r2, a
        st      x[r0], r2
        ldp     r2, b
        st      x[r1], r2
        ldpf    f2, c
        stf     y[r0], f2
        ldpf    f2, d
        stf     y[r1], f2
.end
.proc main
        li      r1, 0x123456789ABCDEF0
        li      r2, -5
        lif     f1, 0.1
        li      r9, 1
        launch  k, r9, r1, r2, f1, f1, ints, floats
        wait
        halt
.end
)");
    ASSERT_TRUE(p.ok()) << p.diagnostics();
    ASSERT_EQ(p.run().status, RunStatus::Halted);
    EXPECT_EQ(p.read<i64>("ints"), (std::vector<i64>{0x123456789ABCDEF0LL, -5}));
    EXPECT_EQ(p.read<double>("floats"), (std::vector<double>{0.1, static_cast<double>(0.1f)}));
}

// An i32 uniform of a wide kernel still traps when the register does not fit.
TEST(WideKernels, AnI32UniformStillTrapsWhenTheValueDoesNotFit) {
    Program p(R"(
.region x i64[1]
.kernel k (b: i32, out x: i64[i])
        .wide
        gid     r0
        ldp     r1, b
        st      x[r0], r1
.end
.proc main
        li      r1, 0x100000000
        li      r9, 1
        launch  k, r9, r1, x
        wait
        halt
.end
)");
    ASSERT_TRUE(p.ok()) << p.diagnostics();
    const RunResult r = p.run();
    ASSERT_TRUE(r.trap.has_value());
    EXPECT_EQ(r.trap->kind, TrapKind::BadLaunch);
}

// The memory contract holds for 64-bit indices: one past 2^32 is not index 1.
TEST(WideKernels, NegativeAndHugeIndicesFault) {
    for (const char* index : {"-1", "4294967297", "-9223372036854775808", "8"}) {
        Program p(std::string(R"(
.region xs i64[8]
.region ys i64[8]
.kernel k (in x: i64[], out y: i64[i], at: i64)
        .wide
        gid     r0
        ldp     r1, at
        ld      r2, x[r1]
        st      y[r0], r2
.end
.proc main
        li      r1, )") + index + R"(
        li      r9, 3
        launch  k, r9, xs, ys, r1
        wait
        halt
.end
)");
        ASSERT_TRUE(p.ok()) << p.diagnostics();
        const RunResult r = p.run();
        ASSERT_TRUE(r.trap.has_value()) << index;
        EXPECT_EQ(r.trap->kind, TrapKind::OutOfBounds) << index;
        EXPECT_NE(r.trap->detail.find("kernel k: lane 0 loaded x[" + std::string(index) + "], outside x (length 8) (wide.pasm:8)"),
                  std::string::npos)
            << r.trap->detail;
    }
}

// i = i0 + gid (the kernels made from loops): results right for any i0,
// including ones where the sequence would leave int64 (it then wraps, as
// `add` does, and the accesses fault or not lane by lane).
TEST(WideKernels, OffsetGidIndexing) {
    for (i64 i0 : {i64{0}, i64{5}, i64{-3}, i64{900}, kMax - 2}) {
        Program p(R"(
.region xs f64[1200]
.region ys f64[1200]
.kernel k (in x: f64[], inout y: f64[], i0: i64, a: f64)
        .wide
        gid     r1
        ldp     r2, i0
        add     r2, r2, r1
        ldf     f1, x[r2]
        ldf     f2, y[r2]
        ldpf    f3, a
        fmul    f1, f1, f3
        fadd    f1, f1, f2
        stf     y[r2], f1
.end
.proc main
        li      r1, 1000
        lif     f1, 0.5
        launch  k, r1, xs, ys, r3, f1
        wait
        halt
.end
)");
        ASSERT_TRUE(p.ok()) << p.diagnostics();
        std::vector<double> x(1200), y(1200);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.1 * static_cast<double>(i), y[i] = 3.0 - static_cast<double>(i);
        p.fill("xs", x);
        p.fill("ys", y);
        p.machine().set_int_reg(3, i0);
        const RunResult r = p.run();
        const std::vector<double> out = p.read<double>("ys");
        const bool faults = i0 < 0 || i0 > 200;  // lanes 0..999 index i0..i0+999 of 1200
        ASSERT_EQ(r.trap.has_value(), faults) << i0;
        if (faults) {
            EXPECT_EQ(r.trap->kind, TrapKind::OutOfBounds) << i0;
            continue;
        }
        for (std::size_t i = 0; i < x.size(); ++i) {
            const bool touched = static_cast<i64>(i) >= i0 && static_cast<i64>(i) < i0 + 1000;
            EXPECT_EQ(out[i], touched ? x[i] * 0.5 + y[i] : y[i]) << "i0 " << i0 << " element " << i;
        }
    }
}

// Divergent control flow on 64-bit lanes: Collatz steps, against a loop in C++.
TEST(WideKernels, DivergentLoopsOn64BitLanes) {
    Program p(R"(
.region starts i64[700]
.region steps i64[700]
.kernel collatz (in s: i64[i], out n: i64[i])
        .wide
        gid     r0
        ld      r1, s[r0]
        li      r2, 0
        li      r5, 1
        loop
            le      r3, r1, r5
            if      r3
                break
            end
            andi    r4, r1, 1
            if      r4
                muli    r1, r1, 3
                addi    r1, r1, 1
            else
                sari    r1, r1, 1
            end
            addi    r2, r2, 1
        end
        st      n[r0], r2
.end
.proc main
        li      r1, 700
        launch  collatz, r1, starts, steps
        wait
        halt
.end
)");
    ASSERT_TRUE(p.ok()) << p.diagnostics();
    std::vector<i64> starts(700);
    for (std::size_t i = 0; i < starts.size(); ++i) starts[i] = static_cast<i64>(i) * 7919 + 0x100000001LL;
    p.fill("starts", starts);
    ASSERT_EQ(p.run().status, RunStatus::Halted);
    const std::vector<i64> steps = p.read<i64>("steps");
    for (std::size_t i = 0; i < starts.size(); ++i) {
        i64 v = starts[i], want = 0;
        while (v > 1) v = (v & 1) ? 3 * v + 1 : v >> 1, ++want;
        ASSERT_EQ(steps[i], want) << starts[i];
    }
}

// A wide kernel's atadd adds the low 32 bits to an i32 buffer.
TEST(WideKernels, AtomicAddOnI32Buffers) {
    Program p(R"(
.region hist i32[4]
.kernel k (inout h: i32[])
        .wide
        gid     r0
        andi    r1, r0, 3
        li      r2, 0x100000001
        atadd   h[r1], r2
.end
.proc main
        li      r1, 1000
        launch  k, r1, hist
        wait
        halt
.end
)");
    EXPECT_FALSE(p.ok());  // 0x100000001 is not a 32-bit immediate
    Program q(R"(
.region hist i32[4]
.kernel k (inout h: i32[])
        .wide
        gid     r0
        andi    r1, r0, 3
        li      r2, 1
        shli    r2, r2, 40
        addi    r2, r2, 1
        atadd   h[r1], r2
.end
.proc main
        li      r1, 1000
        launch  k, r1, hist
        wait
        halt
.end
)");
    ASSERT_TRUE(q.ok()) << q.diagnostics();
    ASSERT_EQ(q.run().status, RunStatus::Halted);
    EXPECT_EQ(q.read<std::int32_t>("hist"), (std::vector<std::int32_t>{250, 250, 250, 250}));
}

// An op whose result only the next store takes writes it into the buffer
// itself (docs/kernels.md, "The CPU backend"); into a 32-bit buffer it
// narrows each lane as the store would: the low 32 bits, the f32 rounded to
// nearest even. 1300 lanes: whole blocks and a partial one.
TEST(WideKernels, FusedStoresNarrowAsTheStoreWould) {
    const std::size_t n = 1300;
    Program p(with_length(R"(
.region as i64[N]
.region bs i64[N]
.region fs f64[N]
.region gs f64[N]
.region ys i32[N]
.region us u32[N]
.region zs f32[N]
.kernel k (in a: i64[i], in b: i64[i], in f: f64[i], in g: f64[i], out y: i32[i], out u: u32[i], out z: f32[i])
        .wide
        gid     r0
        ld      r1, a[r0]
        ld      r2, b[r0]
        add     r3, r1, r2
        st      y[r0], r3
        mul     r4, r1, r2
        st      u[r0], r4
        ldf     f1, f[r0]
        ldf     f2, g[r0]
        fadd    f3, f1, f2
        stf     z[r0], f3
.end
.proc main
        len     r9, as
        launch  k, r9, as, bs, fs, gs, ys, us, zs
        wait
        halt
.end
)", n));
    ASSERT_TRUE(p.ok()) << p.diagnostics();
    std::vector<i64> a(n), b(n);
    std::vector<double> f(n), g(n);
    for (std::size_t i = 0; i < n; ++i) {
        a[i] = kInts[i % kInts.size()];
        b[i] = kInts[(i / kInts.size()) % kInts.size()];
        f[i] = kFloats[i % kFloats.size()];
        g[i] = i % 3 == 0 ? 0x1p-30 : kFloats[(i / kFloats.size()) % kFloats.size()];
    }
    p.fill("as", a);
    p.fill("bs", b);
    p.fill("fs", f);
    p.fill("gs", g);
    ASSERT_EQ(p.run().status, RunStatus::Halted);
    const std::vector<std::int32_t> y = p.read<std::int32_t>("ys");
    const std::vector<std::uint32_t> u = p.read<std::uint32_t>("us");
    const std::vector<float> z = p.read<float>("zs");
    for (std::size_t i = 0; i < n; ++i) {
        EXPECT_EQ(y[i], static_cast<std::int32_t>(sem::add(a[i], b[i]))) << i;
        EXPECT_EQ(u[i], static_cast<std::uint32_t>(sem::mul(a[i], b[i]))) << i;
        const float want = static_cast<float>(f[i] + g[i]);
        EXPECT_TRUE((std::isnan(z[i]) && std::isnan(want)) ||
                    std::bit_cast<std::uint32_t>(z[i]) == std::bit_cast<std::uint32_t>(want))
            << i << ": " << f[i] << " + " << g[i];
    }
}

// An f32 load in a whole block is read from the buffer by the op that uses
// it (a view, widened as the load would); a store to that buffer, fused into
// an op or not, must not change what the register holds. Only f32 buffers:
// 512-lane blocks.
TEST(WideKernels, F32LoadsKeepTheirValuesWhenTheBufferIsStored) {
    for (i64 i0 : {i64{0}, i64{3}}) {
        const std::size_t n = 1300;
        Program p(with_length(R"(
.region xs f32[N]
.region ys f32[N]
.region ws f32[N]
.region zs f32[N]
.kernel k (in x: f32[], inout y: f32[], out w: f32[], out z: f32[], i0: i64)
        .wide
        gid     r0
        ldp     r1, i0
        add     r1, r1, r0
        ldf     f1, y[r1]
        ldf     f2, x[r1]
        lif     f5, 0.5
        fmul    f3, f1, f5
        stf     y[r1], f3       ; fused, while f1 holds the old y
        fadd    f4, f1, f2
        stf     w[r1], f4       ; the old y + x
        ldf     f6, y[r1]
        fadd    f6, f6, f2      ; reads the elements it writes
        stf     y[r1], f6
        ldf     f8, y[r1]
        fadd    f9, f8, f5
        stf     y[r1], f9       ; not fused: f9 is read below
        fsub    f10, f9, f5
        stf     z[r1], f8       ; y before that store
        stf     w[r1], f10
.end
.proc main
        li      r9, 1297
        launch  k, r9, xs, ys, ws, zs, r8
        wait
        halt
.end
)", n));
        ASSERT_TRUE(p.ok()) << p.diagnostics();
        std::vector<float> x(n), y(n);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = static_cast<float>(kFloats[i % kFloats.size()]);
            y[i] = 0.1f * static_cast<float>(i) - 7.0f;
        }
        p.fill("xs", x);
        p.fill("ys", y);
        p.machine().set_int_reg(8, i0);
        ASSERT_EQ(p.run().status, RunStatus::Halted) << i0;
        const std::vector<float> ky = p.read<float>("ys"), kw = p.read<float>("ws");
        const std::vector<float> kz = p.read<float>("zs");
        auto same32 = [](float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); };
        for (std::size_t i = 0; i < n; ++i) {
            const bool lane = static_cast<i64>(i) >= i0 && static_cast<i64>(i) < i0 + 1297;
            if (!lane) {
                EXPECT_EQ(ky[i], y[i]) << i;
                continue;
            }
            const double y0 = y[i], xi = x[i];
            const float y1 = static_cast<float>(static_cast<float>(y0 * 0.5) + xi);  // after the second store
            const float y2 = static_cast<float>(static_cast<double>(y1) + 0.5);
            EXPECT_TRUE(same32(ky[i], y2)) << "i0 " << i0 << " element " << i;
            EXPECT_TRUE(same32(kz[i], y1)) << "i0 " << i0 << " element " << i;
            EXPECT_TRUE(same32(kw[i], static_cast<float>((static_cast<double>(y1) + 0.5) - 0.5))) << "i0 " << i0 << " element " << i;
        }
    }
}

// A lane that faults leaves the rest of its block running with some lanes
// off: f32 loads made while every lane ran are then widened before a
// partial write, and the other lanes' results are still right.
TEST(WideKernels, F32LoadsInABlockWhereALaneFaults) {
    const std::size_t n = 1300;
    Program p(with_length(R"(
.region xs f32[N]
.region ys f32[N]
.region idx i64[N]
.region ts f64[7]
.kernel k (in x: f32[], inout y: f32[], in ix: i64[], in t: f64[])
        .wide
        gid     r0
        ldf     f1, x[r0]
        ldf     f2, y[r0]
        ld      r1, ix[r0]
        ldf     f3, t[r1]       ; lane 700 faults
        fadd    f4, f1, f3
        fadd    f2, f2, f4
        stf     y[r0], f2
.end
.proc main
        len     r9, xs
        launch  k, r9, xs, ys, idx, ts
        wait
        halt
.end
)", n));
    ASSERT_TRUE(p.ok()) << p.diagnostics();
    std::vector<float> x(n), y(n);
    std::vector<i64> ix(n);
    const std::vector<double> t = {0.5, -1.25, 1e10, 3.0, 0x1p-40, -0.0, 7.5};
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = 0.3f * static_cast<float>(i);
        y[i] = 100.0f - static_cast<float>(i);
        ix[i] = static_cast<i64>(i % t.size());
    }
    ix[700] = 99;
    p.fill("xs", x);
    p.fill("ys", y);
    p.fill("idx", ix);
    p.fill("ts", t);
    const RunResult r = p.run();
    ASSERT_TRUE(r.trap.has_value());
    EXPECT_EQ(r.trap->kind, TrapKind::OutOfBounds);
    const std::vector<float> ky = p.read<float>("ys");
    for (std::size_t i = 0; i < 700; ++i)
        EXPECT_EQ(ky[i], static_cast<float>(static_cast<double>(y[i]) + (static_cast<double>(x[i]) + t[i % t.size()]))) << i;
    EXPECT_EQ(ky[700], y[700]);
}

// An f32 load in a whole block, then written in some lanes only: the other
// lanes keep the loaded values.
TEST(WideKernels, F32LoadsWrittenInSomeLanes) {
    const std::size_t n = 1300;
    Program p(with_length(R"(
.region xs f32[N]
.region ys f32[N]
.kernel k (in x: f32[i], inout y: f32[i])
        .wide
        gid     r0
        ldf     f1, x[r0]
        ldf     f2, y[r0]
        andi    r1, r0, 1
        if      r1
            fadd    f2, f1, f1
        end
        stf     y[r0], f2
.end
.proc main
        len     r9, xs
        launch  k, r9, xs, ys
        wait
        halt
.end
)", n));
    ASSERT_TRUE(p.ok()) << p.diagnostics();
    std::vector<float> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = 0.3f * static_cast<float>(i), y[i] = 100.0f - static_cast<float>(i);
    p.fill("xs", x);
    p.fill("ys", y);
    ASSERT_EQ(p.run().status, RunStatus::Halted);
    const std::vector<float> ky = p.read<float>("ys");
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(ky[i], i % 2 == 1 ? x[i] + x[i] : y[i]) << i;
}

}  // namespace
}  // namespace polymer
