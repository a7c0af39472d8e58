// Polymer's embedding API: assemble a program (or load a .pbc module), run it
// on the CPU or a Vulkan device in any execution mode, and read and write its
// regions and registers from C++ (docs/embedding.md).
//
// The one header the installed package ships (find_package(Polymer), target
// Polymer::polymer). It names nothing of the VM's internals: a Program and an
// Instance each hold their state behind a pointer.
//
//     polymer::Program program = polymer::Program::from_file("saxpy.pasm");
//     polymer::Instance vm(program, {.backend = polymer::BackendChoice::cpu});
//     vm.write<float>("xs", xs);              // any length: the region takes it
//     vm.set_float_register(1, 2.0);          // arguments, as the calling convention passes them
//     polymer::RunOutcome done = vm.run();    // "main"
//     std::span<const float> zs = vm.region<float>("zs");
//
// Errors in using the API (source that does not assemble, a module that does
// not verify, a region or procedure that does not exist, a type that does not
// match) throw ProgramError with a one-line (or, for assembly, GCC-style)
// message. What the program does (halting, trapping) is a RunOutcome.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace polymer {

// A misuse of the API or a program that cannot be loaded; what() says what and where.
class ProgramError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Element types of regions, named as in the language.
enum class ElementType : std::uint8_t { u8, i32, u32, i64, f32, f64 };

std::string_view to_string(ElementType type);  // "u8", "i32", ...

// The C++ type of each element type: region<float> reads an f32 region.
template <class T>
inline constexpr bool is_element_v =
    std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::uint32_t> ||
    std::is_same_v<T, std::int64_t> || std::is_same_v<T, float> || std::is_same_v<T, double>;

template <class T>
constexpr ElementType element_type_of() {
    static_assert(is_element_v<T>, "regions hold uint8_t, int32_t, uint32_t, int64_t, float or double");
    if constexpr (std::is_same_v<T, std::uint8_t>) return ElementType::u8;
    else if constexpr (std::is_same_v<T, std::int32_t>) return ElementType::i32;
    else if constexpr (std::is_same_v<T, std::uint32_t>) return ElementType::u32;
    else if constexpr (std::is_same_v<T, std::int64_t>) return ElementType::i64;
    else if constexpr (std::is_same_v<T, float>) return ElementType::f32;
    else return ElementType::f64;
}

struct RegionInfo {
    std::string name;
    ElementType type = ElementType::i32;
    std::uint64_t length = 0;  // elements
};

// An assembled or loaded module, verified. Immutable; copies share it.
class Program {
public:
    // Assembles source text. `filename` names it in messages (and is where
    // the line table says the code came from). Throws ProgramError carrying
    // every diagnostic, as polymer-as prints them.
    static Program assemble(std::string_view source, std::string_view filename = "<input>");
    // A .pbc module's bytes, checked and verified as polymer-run does.
    static Program load(std::span<const std::byte> bytes, std::string_view filename = "<module>");
    // A file: .pbc is loaded, anything else assembled (as polymer-run decides).
    static Program from_file(const std::filesystem::path& path);

    std::string name() const;                 // `.module NAME`, or the file's stem
    std::vector<std::string> procedures() const;
    std::vector<RegionInfo> regions() const;  // as declared
    std::vector<std::byte> bytecode() const;  // the .pbc file's bytes (what polymer-as writes)

    struct Impl;  // defined where it is used, never in this header

private:
    explicit Program(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> impl_;
    friend class Instance;
};

// Where vector ops and kernels run: polymer-run --backend.
enum class BackendChoice : std::uint8_t {
    automatic,  // a GPU when there is one; lavapipe or the CPU by op size; the CPU without Vulkan
    vulkan,     // Vulkan device `device`; an error when there is none
    cpu,        // the CPU backend only
};

// How procedures run: polymer-run --exec (docs/execution.md). Every mode gives
// the same results; they differ in how much runs at once.
enum class ExecutionMode : std::uint8_t { in_order, frames, ooo, spec };

struct InstanceOptions {
    BackendChoice backend = BackendChoice::automatic;
    std::uint32_t device = 0;                       // the Vulkan device index (polymer-run --list-devices)
    ExecutionMode exec = ExecutionMode::ooo;        // polymer-run's default
    std::uint32_t rob_size = 64;                    // reorder buffer entries (ooo, spec)
    std::uint64_t max_steps = 0;                    // trap `step-limit` past this many instructions; 0: none
    std::uint32_t kernel_steps = 0;                 // loop iterations a kernel lane may start per launch; 0: polymer-run's default
    std::uint64_t memory_limit = std::uint64_t{4} << 30;  // bytes of region storage in all
    // Loops the assembler turned into kernels (docs/loop-kernels.md) run as
    // kernels when they have at least loop_kernel_min iterations (0: polymer-run's
    // default, 1024); loop_kernels = false runs them as their scalar loops
    // (polymer-run --no-loop-kernels).
    bool loop_kernels = true;
    std::uint64_t loop_kernel_min = 0;
    // A loop whose body is only launches and its counter runs as rounds on
    // the backend (docs/execution.md, "Loops of launches"); false runs it
    // launch by launch (polymer-run --no-launch-rounds).
    bool launch_rounds = true;
    // Receives what the program prints, in pieces, at the latest when run()
    // returns. Empty: standard output. write_to(stream) makes one for a stream.
    std::function<void(std::string_view)> output;
};

// An output callback that writes to `stream` (which must outlive the Instance).
std::function<void(std::string_view)> write_to(std::ostream& stream);

struct RunOutcome {
    enum class Status : std::uint8_t {
        halted,          // `halt`, or a return from the entry procedure
        trapped,         // a trap (division-by-zero, out-of-bounds, ...): `message` says which and where
        step_limit,      // max_steps or kernel_steps was reached
        interrupted,     // polymer's interrupt flag was raised (as Ctrl-C does in polymer-run)
        backend_failed,  // the Vulkan device failed an op; the regions the run wrote are undefined
    };
    Status status = Status::halted;
    std::string trap;     // "division-by-zero", ...; empty unless a trap stopped the run
    std::string message;  // one line, as polymer-run prints it; empty when halted
    std::uint64_t steps = 0;  // instructions executed
    bool ok() const { return status == Status::halted; }
    explicit operator bool() const { return ok(); }
};

// A program with its state: registers, regions, the backend it runs on.
// Registers and regions keep their values from one run() to the next.
// Not thread-safe: one thread at a time.
class Instance {
public:
    // Throws ProgramError when the backend cannot be had (`vulkan` without a
    // device) or the regions do not fit in memory_limit.
    explicit Instance(Program program, InstanceOptions options = {});
    ~Instance();
    Instance(Instance&&) noexcept;
    Instance& operator=(Instance&&) noexcept;

    // Runs procedure `entry` until it halts, returns, or traps; every long
    // operation it started has finished when run() returns. Throws
    // ProgramError when there is no such procedure.
    RunOutcome run(std::string_view entry = "main");

    // "cpu", "vulkan (llvmpipe ...)", "auto (...)": where long operations run.
    std::string backend_description() const;
    std::vector<RegionInfo> regions() const;  // with their current lengths (`alloc` changes them)

    // A region's elements in place, checked by name and type. Valid until the
    // next run() or write() (a program's `alloc`/`free` replaces storage).
    template <class T>
    std::span<T> region(std::string_view name) {
        std::size_t n = 0;
        void* p = region_data(name, element_type_of<T>(), n, true);
        return {static_cast<T*>(p), n};
    }
    template <class T>
    std::span<const T> region(std::string_view name) const {
        std::size_t n = 0;
        const void* p = region_data(name, element_type_of<T>(), n, false);
        return {static_cast<const T*>(p), n};
    }
    template <class T>
    std::vector<T> read(std::string_view name) const {
        std::span<const T> s = region<T>(name);
        return {s.begin(), s.end()};
    }
    // Copies `values` into the region; a different length gives the region
    // fresh storage of that length first (as `alloc` does).
    template <class T>
    void write(std::string_view name, std::span<const T> values) {
        std::size_t n = 0;
        void* p = region_resized(name, element_type_of<T>(), values.size(), n);
        if (!values.empty()) std::copy(values.begin(), values.end(), static_cast<T*>(p));
    }
    template <class T>
    void write(std::string_view name, const std::vector<T>& values) {
        write(name, std::span<const T>(values));
    }

    // Registers r0..r31 and f0..f31; a number out of range throws ProgramError.
    std::int64_t int_register(unsigned i) const;
    double float_register(unsigned i) const;
    void set_int_register(unsigned i, std::int64_t value);
    void set_float_register(unsigned i, double value);

    struct Impl;

private:
    // `for_write`: the caller may write the elements (a mutable span).
    void* region_data(std::string_view name, ElementType type, std::size_t& length, bool for_write) const;
    void* region_resized(std::string_view name, ElementType type, std::size_t length, std::size_t& got);
    std::unique_ptr<Impl> impl_;
};

}  // namespace polymer
