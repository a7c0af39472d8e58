#include "service_notify.h"

#include <systemd/sd-daemon.h>

namespace polymer::tools {

// sd_notify's result is not checked: a manager that cannot be told is no
// reason for the node to stop serving, and systemd itself reports a unit that
// never became ready.
void notify_ready(const std::string& status) { sd_notify(0, ("READY=1\nSTATUS=" + status).c_str()); }

void notify_stopping() { sd_notify(0, "STOPPING=1\nSTATUS=shutting down"); }

}  // namespace polymer::tools
