#include "tests/vulkan/test_kernels.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace polymer::test {

Kernel load_kernel(const std::string& name, std::vector<KernelParam> params) {
    if (!hand_written_spirv(Kernel{.name = name})) throw std::runtime_error("no kernels/" + name + ".spv");
    Kernel k;
    k.name = name;
    k.params = std::move(params);
    return k;
}

Result<SharedSpirv> hand_written_spirv(const Kernel& k) {
    std::string path = std::string(POLYMER_TEST_KERNEL_DIR) + "/" + k.name + ".spv";
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{"kernel '" + k.name + "' has no hand-written SPIR-V (" + path + ")"};
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SpirvWords words(bytes.size() / 4);
    std::memcpy(words.data(), bytes.data(), words.size() * 4);
    return std::make_shared<const SpirvWords>(std::move(words));
}

KernelParam buffer_param(const char* name, Access access, ElemType type, Indexing indexing) {
    KernelParam p;
    p.name = name;
    p.kind = ParamKind::Buffer;
    p.access = access;
    p.type = type;
    p.indexing = indexing;
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
