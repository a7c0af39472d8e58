// GLSL -> SPIR-V with the glslang library, then SPIRV-Tools validation.
#include "assembler/spirv_compiler.h"

#include <glslang/Public/ResourceLimits.h>
#include <glslang/Public/ShaderLang.h>
#include <glslang/SPIRV/GlslangToSpv.h>
#include <spirv-tools/libspirv.hpp>

#include <string>

namespace polymer {

namespace {

// glslang keeps process-wide tables: initialise them once, the first time a
// kernel is compiled (a function-local static is thread-safe).
void ensure_glslang_initialized() {
    static const bool initialized = [] { return glslang::InitializeProcess(); }();
    (void)initialized;
}

// The first message of a glslang log: its first "ERROR:" line, or its first line.
std::string first_message(const std::string& log) {
    std::size_t at = log.find("ERROR:");
    if (at == std::string::npos) at = 0;
    std::size_t end = log.find('\n', at);
    std::string line = log.substr(at, end == std::string::npos ? std::string::npos : end - at);
    return line.empty() ? "glslang gave no message" : line;
}

}  // namespace

Result<std::vector<std::uint32_t>> compile_glsl_to_spirv(std::string_view glsl) {
    ensure_glslang_initialized();
    glslang::TShader shader(EShLangCompute);
    const char* text = glsl.data();
    const int length = static_cast<int>(glsl.size());
    shader.setStringsWithLengths(&text, &length, 1);
    shader.setEnvInput(glslang::EShSourceGlsl, EShLangCompute, glslang::EShClientVulkan, 100);
    shader.setEnvClient(glslang::EShClientVulkan, glslang::EShTargetVulkan_1_0);
    shader.setEnvTarget(glslang::EShTargetSpv, glslang::EShTargetSpv_1_0);
    const auto messages = static_cast<EShMessages>(EShMsgSpvRules | EShMsgVulkanRules);
    if (!shader.parse(GetDefaultResources(), 450, false, messages))
        return Error{first_message(shader.getInfoLog())};
    glslang::TProgram program;
    program.addShader(&shader);
    if (!program.link(messages)) return Error{first_message(program.getInfoLog())};

    std::vector<std::uint32_t> words;
    glslang::SpvOptions options;
    options.generateDebugInfo = false;
    options.disableOptimizer = true;
    options.validate = false;  // SPIRV-Tools below gives the message
    spv::SpvBuildLogger logger;
    glslang::GlslangToSpv(*program.getIntermediate(EShLangCompute), words, &logger, &options);
    if (words.empty()) return Error{"glslang produced no SPIR-V: " + logger.getAllMessages()};

    if (std::string problem = spirv_problem(words); !problem.empty())
        return Error{"SPIR-V validation failed: " + problem};
    return words;
}

std::string spirv_problem(std::span<const std::uint32_t> words) {
    spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_0);
    std::string problem;
    tools.SetMessageConsumer([&](spv_message_level_t, const char*, const spv_position_t&, const char* message) {
        if (problem.empty()) problem = message;
    });
    if (tools.Validate(words.data(), words.size())) return {};
    return problem.empty() ? "no message" : problem;
}

}  // namespace polymer
