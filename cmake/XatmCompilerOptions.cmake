# Compiler settings for xatm's own targets. Sanitizers apply to everything we build, so that
# instrumented and uninstrumented code never mix within one binary.
if(XATM_SANITIZE)
  add_compile_options(-fsanitize=${XATM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${XATM_SANITIZE})
endif()

# Strict warnings on a target of ours (never on third-party code).
function(xatm_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()
