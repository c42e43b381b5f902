// Writes a small TorchScript module for the command-line tests:
//   fl_make_script_module PATH linear INPUTS OUTPUTS
//   fl_make_script_module PATH summing INPUTS
#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/script_modules.hpp"

int main(int argc, char** argv) {
  if (argc >= 5 && std::string{argv[2]} == "linear") {
    fl::test::save_linear_module(argv[1], std::atoll(argv[3]),
                                 std::atoll(argv[4]));
    return 0;
  }
  if (argc >= 4 && std::string{argv[2]} == "summing") {
    fl::test::save_summing_module(argv[1], std::atoll(argv[3]));
    return 0;
  }
  std::fprintf(stderr, "usage: %s PATH linear INPUTS OUTPUTS | PATH summing "
                       "INPUTS\n", argv[0]);
  return 2;
}
