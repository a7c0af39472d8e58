// Only verified kernel code runs on a node: a Vulkan node runs the SPIR-V
// that the kernel IR it verified lowers to, whatever a home sends. Forged,
// corrupt and unrunnable modules are refused with a clear error to the home
// that sent them, and the node goes on serving a legitimate home.
#include <gtest/gtest.h>

#include <cstring>

#include "assembler/assembler.h"
#include "cluster/node_client.h"
#include "isa/encoding.h"
#include "isa/module_io.h"
#include "isa/opcodes.h"
#include "node_process.h"
#include "test_kernels.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;

namespace {

constexpr std::size_t kLanes = 256;

Module assembled(const std::string& source) {
    AssembleResult a = assemble(source);
    EXPECT_TRUE(a.ok()) << (a.diagnostics.empty() ? "" : format_diagnostic(a.diagnostics[0]));
    return a.ok() ? *a.module : Module{};
}

// A home: its own connection, x = 0, 1, 2, ..., y = 0.5, z the output.
struct Home {
    std::unique_ptr<NodeClient> client;
    explicit Home(NodeProcess& node) {
        auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
        EXPECT_TRUE(c) << c.error();
        if (!c) return;
        client = std::move(c).value();
        std::vector<float> x(kLanes), y(kLanes, 0.5f);
        for (std::size_t i = 0; i < kLanes; ++i) x[i] = static_cast<float>(i);
        EXPECT_TRUE(client->put_region(1, 1, kLanes * 4, 0, floats(x)));
        EXPECT_TRUE(client->put_region(2, 1, kLanes * 4, 0, floats(y)));
        EXPECT_TRUE(client->put_region(3, 1, kLanes * 4, 0, {}));
    }
    // Runs kernel 0 of `module` (saxpy's parameters) over every lane; z or the refusal.
    Result<std::vector<float>> run(const Sha256& module) {
        LaunchChunk l;
        l.module = module;
        l.count = l.end = kLanes;
        l.args = {Binding{Binding::Kind::Region, 1, 1, 0}, Binding{Binding::Kind::Region, 2, 1, 0},
                  Binding{Binding::Kind::Region, 3, 1, 0}, Binding{Binding::Kind::Uniform, 0, 0, bits(2.0f)}};
        auto r = client->launch(l);
        if (!r) return Error{r.error()};
        if (r.value().outputs.size() != 1 || r.value().outputs[0].data.size() != kLanes * 4)
            return Error{"unexpected outputs"};
        std::vector<float> z(kLanes);
        std::memcpy(z.data(), r.value().outputs[0].data.data(), kLanes * 4);
        return z;
    }
};

// The legitimate home: saxpy, z = 2x + 0.5, computed on the node's device.
void expect_saxpy_served(NodeProcess& node) {
    Home home(node);
    ASSERT_TRUE(home.client);
    auto hash = home.client->upload_module(write_module(assembled(kSaxpy)));
    ASSERT_TRUE(hash) << hash.error();
    auto z = home.run(hash.value());
    ASSERT_TRUE(z) << z.error() << node.log();
    for (std::size_t i = 0; i < kLanes; ++i) ASSERT_EQ(z.value()[i], 2.0f * static_cast<float>(i) + 0.5f) << i;
}

void expect_upload_refused(NodeClient& c, const Bytes& pbc, const std::string& why) {
    auto up = c.upload_module(pbc);
    ASSERT_FALSE(up);
    EXPECT_NE(up.error().find("bad-module"), std::string::npos) << up.error();
    EXPECT_NE(up.error().find(why), std::string::npos) << up.error();
    EXPECT_FALSE(c.have_module(sha256(pbc)).value());
}

}  // namespace

TEST(NodeForgedModule, AVulkanNodeRunsOnlyWhatTheVerifiedIrSays) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--backend", "vulkan"});
    Home forger(node);
    ASSERT_TRUE(forger.client);
    ASSERT_EQ(forger.client->capabilities().backend, "vulkan") << node.log();
    const Module saxpy = assembled(kSaxpy);

    // A module from before 3.0, which carried SPIR-V next to the IR: refused
    // by its version, whatever its kernels hold.
    Bytes old = write_module(saxpy);
    old[4] = 2;
    old[6] = 1;
    std::memset(old.data() + 12, 0, 4);
    expect_upload_refused(*forger.client, old, "module format version 2.1 is not supported");

    // The kernel's IR changed after the module was written: the checksum.
    Bytes changed = write_module(saxpy);
    const Module fmul = assembled(
        std::string(".module saxpy\n") +
        ".kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)\n gid r0\n ldf f0, x[r0]\n"
        " ldf f1, y[r0]\n ldpf f2, a\n fmul f3, f2, f0\n stf z[r0], f3\n.end\n.proc main\n halt\n.end\n");
    ASSERT_EQ(fmul.kernels.at(0).code.size(), saxpy.kernels.at(0).code.size());
    const Word ffma = saxpy.kernels[0].code[4], swapped = fmul.kernels[0].code[4];
    for (std::size_t at = 0; at + 8 <= changed.size(); ++at)
        if (std::memcmp(changed.data() + at, &ffma, 8) == 0) std::memcpy(changed.data() + at, &swapped, 8);
    ASSERT_NE(changed, write_module(saxpy));
    expect_upload_refused(*forger.client, changed, "checksum mismatch");

    // Sealed again, it is a module like any other: the node verifies its IR
    // and runs what that IR says (z = 2x), not anything else.
    auto forged = forger.client->upload_module(write_module(fmul));
    ASSERT_TRUE(forged) << forged.error();
    auto z = forger.run(forged.value());
    ASSERT_TRUE(z) << z.error();
    for (std::size_t i = 0; i < kLanes; ++i) ASSERT_EQ(z.value()[i], 2.0f * static_cast<float>(i)) << i;

    // IR that fails verification (a store into an `in` buffer): refused with the verifier's message.
    Module bad = saxpy;
    bad.kernels[0].code[5] = make_word(static_cast<std::uint8_t>(KOp::Stf), 3, 0, 0);  // stf x[r0], f3
    expect_upload_refused(*forger.client, write_module(bad), "is an `in` buffer and cannot be written");

    // Verified IR that Vulkan cannot run (29 parameters, past the push
    // constants): the launch is refused before any pipeline is made.
    Module wide = saxpy;
    for (int i = 0; i < 25; ++i)
        wide.kernels[0].params.push_back(KernelParam{.name = "u" + std::to_string(i), .kind = ParamKind::Uniform,
                                                     .type = ElemType::I32});
    wide.launches.clear();
    auto wide_hash = forger.client->upload_module(write_module(wide));
    ASSERT_TRUE(wide_hash) << wide_hash.error();
    LaunchChunk l;
    l.module = wide_hash.value();
    l.count = l.end = kLanes;
    l.args = {Binding{Binding::Kind::Region, 1, 1, 0}, Binding{Binding::Kind::Region, 2, 1, 0},
              Binding{Binding::Kind::Region, 3, 1, 0}, Binding{Binding::Kind::Uniform, 0, 0, bits(2.0f)}};
    l.args.resize(29, Binding{Binding::Kind::Uniform, 0, 0, 0});
    auto refused = forger.client->launch(l);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("unsupported"), std::string::npos) << refused.error();
    EXPECT_NE(refused.error().find("29 parameters"), std::string::npos) << refused.error();

    // The node still serves: the forger's connection, and a legitimate home.
    auto again = forger.run(forged.value());
    ASSERT_TRUE(again) << again.error();
    expect_saxpy_served(node);
}
