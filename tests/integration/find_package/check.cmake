# Installs the build tree into a scratch prefix, builds a user project
# against it with find_package(troupe), runs it and checks its output.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G Ninja
                        -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the user project failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the user project failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/user_hello RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "hello, world")
  message(FATAL_ERROR "user_hello printed '${out}' (exit ${rc})")
endif()
execute_process(COMMAND ${WORK_DIR}/build/user_io RESULT_VARIABLE rc OUTPUT_VARIABLE io_out)
if(NOT rc EQUAL 0 OR NOT io_out MATCHES "echo over tcp")
  message(FATAL_ERROR "user_io printed '${io_out}' (exit ${rc})")
endif()
execute_process(COMMAND ${WORK_DIR}/build/user_net_testing RESULT_VARIABLE rc OUTPUT_VARIABLE nt_out)
if(NOT rc EQUAL 0 OR NOT nt_out MATCHES "node user@127.0.0.1 simulated 42")
  message(FATAL_ERROR "user_net_testing printed '${nt_out}' (exit ${rc})")
endif()
message(STATUS "find_package(troupe) works: ${out}${io_out}${nt_out}")
