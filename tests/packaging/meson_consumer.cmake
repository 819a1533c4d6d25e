# ctest driver: a meson project that pulls gdn in as a subproject (dependency('gdn')),
# builds and runs. The consumer is copied so the source tree stays untouched.
foreach(var GDN_SOURCE_DIR WORK_DIR MESON)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "meson_consumer.cmake needs -D${var}=...")
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
file(COPY ${GDN_SOURCE_DIR}/tests/packaging/meson_consumer/ DESTINATION ${WORK_DIR}/src)
file(COPY ${GDN_SOURCE_DIR}/tests/packaging/consumer.cpp DESTINATION ${WORK_DIR}/src)
file(MAKE_DIRECTORY ${WORK_DIR}/src/subprojects)
file(CREATE_LINK ${GDN_SOURCE_DIR} ${WORK_DIR}/src/subprojects/gdn SYMBOLIC)
run(${MESON} setup ${WORK_DIR}/build ${WORK_DIR}/src)
run(${MESON} compile -C ${WORK_DIR}/build)
run(${WORK_DIR}/build/gdn_consumer)
