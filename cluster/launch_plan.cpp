#include "cluster/launch_plan.h"

#include "isa/encoding.h"
#include "isa/opcodes.h"

namespace polymer::cluster {

LaunchPlan plan_launch(const Kernel& kernel) {
    LaunchPlan plan;
    const std::size_t n = kernel.params.size();
    std::vector<bool> stored(n), loaded(n), added(n);
    for (Word w : kernel.code) {
        if (!is_valid_kop(word_op(w))) continue;
        const std::size_t param = word_c(w);
        if (param >= n) continue;
        switch (kop_effect(static_cast<KOp>(word_op(w)))) {
        case KEffect::Store: stored[param] = true; break;
        case KEffect::Load: loaded[param] = true; break;
        case KEffect::Atomic: added[param] = true; break;
        case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::If: case KEffect::Else:
        case KEffect::Loop: case KEffect::End: case KEffect::Break: case KEffect::Continue: case KEffect::Exit:
            break;
        }
    }
    for (std::size_t p = 0; p < n; ++p) {
        const KernelParam& param = kernel.params[p];
        if (param.kind != ParamKind::Buffer || param.indexing != Indexing::Broadcast || param.access == Access::In) continue;
        if (stored[p] || loaded[p] || !added[p] || param.type == ElemType::F32) {
            plan.splittable = false;
            continue;
        }
        plan.partial_params.push_back(static_cast<std::uint32_t>(p));
    }
    return plan;
}

}  // namespace polymer::cluster
