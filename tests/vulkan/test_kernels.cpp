#include "tests/vulkan/test_kernels.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace polymer::test {

Kernel load_kernel(const std::string& name, std::vector<KernelParam> params) {
    std::string path = std::string(POLYMER_TEST_KERNEL_DIR) + "/" + name + ".spv";
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Kernel k;
    k.name = name;
    k.params = std::move(params);
    k.spirv.resize(bytes.size() / 4);
    std::memcpy(k.spirv.data(), bytes.data(), k.spirv.size() * 4);
    return k;
}

KernelParam buffer_param(const char* name, Access access, ElemType type) {
    KernelParam p;
    p.name = name;
    p.kind = ParamKind::Buffer;
    p.access = access;
    p.type = type;
    return p;
}

KernelParam uniform_param(const char* name, ElemType type) {
    KernelParam p;
    p.name = name;
    p.kind = ParamKind::Uniform;
    p.type = type;
    return p;
}

KernelArg uniform_arg(std::uint32_t bits) {
    KernelArg a;
    a.uniform = bits;
    return a;
}

}  // namespace polymer::test
