#pragma once

#include <string>

#include "cli/cluster_file.hpp"

namespace fl::cli {

/// A Slurm batch script that runs cluster `c` inside one allocation: the
/// file's distinct hosts, in order of appearance, become the job's nodes
/// (`scontrol show hostnames`), each node runs through `srun` on its host,
/// servers and schedulers listen on their port (7000 + the node's index
/// when the file leaves it 0), each waits for its upstream to listen, logs
/// go to log_dir, and the job ends with the server's exit code after
/// stopping the rest. `$FL_NODE` (default `fl_node`) is the fl-node to
/// run. `source` names the cluster file in the script's header.
std::string slurm_script(const cluster& c, const std::string& fl_node,
                         const std::string& source);

} // namespace fl::cli
