# Writes plaster/version.h with the source tree's git revision, at every build (the `version`
# target in ../CMakeLists.txt runs it), so a record names the commit the binary was built from,
# not the one it was configured at. "-dirty" marks tracked files changed since that commit.
# configure_file rewrites the header only when its text changes, so an unchanged revision
# rebuilds nothing. Inputs: SOURCE_DIR, INPUT, OUTPUT, PROJECT_VERSION.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY "${SOURCE_DIR}"
                OUTPUT_VARIABLE PLASTER_GIT_REVISION OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rev_status ERROR_QUIET)
if(NOT rev_status EQUAL 0 OR NOT PLASTER_GIT_REVISION)
  set(PLASTER_GIT_REVISION "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD --
                  WORKING_DIRECTORY "${SOURCE_DIR}" RESULT_VARIABLE dirty ERROR_QUIET)
  if(dirty EQUAL 1)
    string(APPEND PLASTER_GIT_REVISION "-dirty")
  endif()
endif()
configure_file("${INPUT}" "${OUTPUT}" @ONLY)
