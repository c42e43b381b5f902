# Per-target compiler flags (never global): warnings, -Werror on request,
# sanitizers on request.

function(fl_enable_warnings target)
  # C++ sources only: nvcc takes other flags.
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor>)
  if(FL_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
endfunction()

function(fl_enable_sanitizers target)
  if(FL_SANITIZE)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer>)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# fl_target_defaults(<target>): the flags every fedactor target gets.
function(fl_target_defaults target)
  fl_enable_warnings(${target})
  fl_enable_sanitizers(${target})
endfunction()
