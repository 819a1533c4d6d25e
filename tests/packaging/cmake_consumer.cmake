# ctest driver: install gdn from this build into a private prefix, then configure, build and
# run a separate consumer project that finds it with find_package(gdn CONFIG REQUIRED).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
require_vars(GDN_SOURCE_DIR GDN_BINARY_DIR WORK_DIR GENERATOR)

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
