#pragma once

// fedactor's public API, for applications: `#include <fedactor/fedactor.hpp>`
// and link `fedactor::fedactor` (find_package(fedactor)).
//
//   fedactor::federation      starts a federation (simulate, serve, join,
//                             relay) from settings or code and shuts it
//                             down by itself              cli/federation.hpp
//   fedactor::trainer         your own local training  runtime/training/trainer.hpp
//   fedactor::dataset         your own data, and loaders for IDX, CSV and
//                             NumPy files          runtime/data/dataset_loader.hpp
//   fedactor::strategy        your own sampling and aggregation rules
//                             (start from fedactor::fedavg)
//                                               runtime/aggregation/strategy.hpp
//   fedactor::node_config     every setting (TOML keys, flags)
//                                                    runtime/core/config.hpp

#include "cli/federation.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "runtime/aggregation/strategy.hpp"
#include "runtime/aggregation/strategy_registry.hpp"
#include "runtime/core/config.hpp"
#include "runtime/core/config_map.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/data/dataset.hpp"
#include "runtime/data/dataset_loader.hpp"
#include "runtime/data/partition.hpp"
#include "runtime/training/trainer.hpp"
