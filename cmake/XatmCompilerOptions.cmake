# Compiler settings for xatm's own targets. Sanitizers apply to everything we build, so that
# instrumented and uninstrumented code never mix within one binary.
if(XATM_SANITIZE)
  add_compile_options(-fsanitize=${XATM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${XATM_SANITIZE})
endif()

# Strict warnings on a target of ours (never on third-party code). GCC 12's
# -Wmissing-field-initializers fires on C++20 designated initializers that leave defaulted
# members out, which is how xatm's option structs are meant to be written, so it is off.
# GCC 12's -Wmaybe-uninitialized reports std::optional<struct with std::string> falsely at -O2
# (GCC bugs 105562 and kin): it stays a warning, not an error. So does GCC 12's -Wrestrict, which
# reports std::string concatenation falsely at -O3 (GCC bug 105329), the Release level.
function(xatm_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror
                                           -Wno-missing-field-initializers
                                           $<$<CXX_COMPILER_ID:GNU>:-Wno-error=maybe-uninitialized>
                                           $<$<CXX_COMPILER_ID:GNU>:-Wno-error=restrict>)
endfunction()
