#include "cluster/procedure_cluster.h"

#include <stdexcept>

#include "cluster/cluster_backend.h"
#include "cluster/log.h"
#include "isa/counted.h"

namespace polymer::cluster {

std::unique_ptr<Backend> ProcedureBackends::make(const Module& module, const std::vector<NodeAddress>& cluster) const {
    std::unique_ptr<Backend> own = local ? local() : std::make_unique<CpuBackend>();
    if (cluster.empty()) return own;
    ClusterOptions options;
    options.nodes = cluster;
    options.secret = secret;
    options.client.tls = tls;
    options.client.name = name;
    options.keep_data = false;
    options.min_nodes = 0;  // whoever answers now; the others are redialled meanwhile
    options.on_fatal = [](const std::string& why) -> void { throw std::runtime_error(why); };
    // Into this node's log, not as polymer-run would print them.
    options.say = [](LogLevel level, const std::string& text) { log(level, "a procedure's cluster: ", text); };
    auto made = ClusterBackend::create(module, *own, std::move(options));
    if (!made) {
        log(LogLevel::Warn, "a procedure's launches stay on this node: its cluster cannot be set up: ", made.error());
        return own;
    }
    log(LogLevel::Info, "a procedure's vector ops and kernels go over this node and ", counted(cluster.size(), "other node"));
    made.value()->keep_local(std::move(own));
    return std::move(made).value();
}

}  // namespace polymer::cluster
