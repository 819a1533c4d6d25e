# ctest driver: a meson project that pulls gdn in as a subproject (dependency('gdn')),
# builds and runs. The consumer is copied so the source tree stays untouched.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
require_vars(GDN_SOURCE_DIR WORK_DIR MESON)

file(REMOVE_RECURSE ${WORK_DIR})
file(COPY ${GDN_SOURCE_DIR}/tests/packaging/meson_consumer/ DESTINATION ${WORK_DIR}/src)
file(COPY ${GDN_SOURCE_DIR}/tests/packaging/consumer.cpp DESTINATION ${WORK_DIR}/src)
file(MAKE_DIRECTORY ${WORK_DIR}/src/subprojects)
file(CREATE_LINK ${GDN_SOURCE_DIR} ${WORK_DIR}/src/subprojects/gdn SYMBOLIC)
run(${MESON} setup ${WORK_DIR}/build ${WORK_DIR}/src)
run(${MESON} compile -C ${WORK_DIR}/build)
run(${WORK_DIR}/build/gdn_consumer)
