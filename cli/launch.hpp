#pragma once

#include <string>

#include "cli/cluster_file.hpp"

namespace fl::cli {

/// `fl-node launch`: with `print_only`, prints one command per node
/// (grouped by host), writes the Slurm batch script
/// <log_dir>/<cluster file name>.sbatch and returns. Otherwise starts every
/// node (servers, then schedulers, then clients, each once its upstream
/// listens): local ones as processes, remote ones over ssh (their output
/// comes back through the connection); writes each node's log to log_dir,
/// streams a merged progress view, says when every member has joined, and
/// stops everything on Ctrl-C or once the server exits. A node that fails
/// before training starts stops the launch.
/// Returns the server's exit code (1 when the launch failed, 130 after
/// Ctrl-C).
int run_launch(const std::string& path, bool print_only,
               const std::string& fl_node);

} // namespace fl::cli
