// saxpy from C++: fills two regions, passes `a` in a register, runs a Polymer
// kernel and reads the result back (docs/embedding.md).
//
//   saxpy_embed [cpu|vulkan|auto] [N]
//
// Prints the program's own line, then z[0], z[N-1] and the sum, and checks
// every element against the same sum computed here. Exit status 1 on a
// mismatch or an error.
#include <polymer/polymer.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

// z = a * x + y over the host's arrays, whatever their length: the host
// writes xs and ys and puts a in f1 (the first float argument).
constexpr const char* kSaxpy = R"(
.region xs f32[0]
.region ys f32[0]
.region zs f32[0]

.kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        ffma    f3, f2, f0, f1  ; f3 = a * x + y
        stf     z[r0], f3
.end

.proc main
        len     r1, xs
        alloc   zs, r1
        launch  saxpy, r1, xs, ys, zs, f1
        vsum    f1, zs          ; the result register: the sum of z
        prints  "saxpy over "
        print   r1
        prints  " elements\n"
        halt
.end
)";

}  // namespace

int main(int argc, char** argv) {
    const std::string backend = argc > 1 ? argv[1] : "auto";
    const std::size_t n = argc > 2 ? std::stoul(argv[2]) : 1000;
    polymer::InstanceOptions options;
    options.backend = backend == "cpu"      ? polymer::BackendChoice::cpu
                      : backend == "vulkan" ? polymer::BackendChoice::vulkan
                                            : polymer::BackendChoice::automatic;
    std::ostringstream printed;
    options.output = polymer::write_to(printed);
    try {
        polymer::Instance vm(polymer::Program::assemble(kSaxpy, "saxpy.pasm"), options);
        std::vector<float> x(n), y(n);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = static_cast<float>(i);
            y[i] = static_cast<float>(i % 7);
        }
        vm.write("xs", x);
        vm.write("ys", y);
        vm.set_float_register(1, 2.0);
        polymer::RunOutcome done = vm.run();
        if (!done) {
            std::cerr << "saxpy_embed: " << done.message << "\n";
            return 1;
        }
        std::span<const float> z = vm.region<float>("zs");
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (z[i] != 2.0f * x[i] + y[i]) {
                std::cerr << "saxpy_embed: z[" << i << "] = " << z[i] << ", expected " << 2.0f * x[i] + y[i] << "\n";
                return 1;
            }
            sum += z[i];
        }
        std::cout.precision(10);
        std::cout << "program printed: " << printed.str();
        std::cout << "z[0] = " << z[0] << ", z[" << n - 1 << "] = " << z[n - 1] << "\n";
        std::cout << "sum of z: " << vm.float_register(1) << " (program), " << sum << " (C++)\n";
        std::cout << "backend: " << vm.backend_description() << "\n";
    } catch (const polymer::ProgramError& e) {
        std::cerr << "saxpy_embed: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
