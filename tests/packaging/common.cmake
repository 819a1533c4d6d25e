# Shared by the packaging drivers: argument checks and a step runner that stops the test
# with the failing command.
function(require_vars)
  foreach(var IN LISTS ARGN)
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "${CMAKE_CURRENT_LIST_FILE} needs -D${var}=...")
    endif()
  endforeach()
endfunction()

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGV}")
    message(FATAL_ERROR "packaging test step failed (${rc}): ${cmd}")
  endif()
endfunction()
