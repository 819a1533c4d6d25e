# ctest driver: install gdn from this build into a private prefix, then configure, build and
# run a separate consumer project that finds it with find_package(gdn CONFIG REQUIRED).
foreach(var GDN_SOURCE_DIR GDN_BINARY_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "cmake_consumer.cmake needs -D${var}=...")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGV}")
    message(FATAL_ERROR "packaging test step failed (${rc}): ${cmd}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${GDN_BINARY_DIR} --prefix ${prefix})
if(NOT EXISTS ${prefix}/include/gdn/gdn.hpp)
  message(FATAL_ERROR "install did not put gdn/gdn.hpp under ${prefix}/include")
endif()
run(${CMAKE_COMMAND} -S ${GDN_SOURCE_DIR}/tests/packaging/cmake_consumer -B ${WORK_DIR}/build
    -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/gdn_consumer)
