# One libFuzzer smoke run, as a ctest test (fuzz/CMakeLists.txt, SLUICE_FUZZ):
#   cmake -DFUZZER=<binary> -DSEEDS=<fuzz/corpus/name> -DWORK=<dir> -DSECONDS=<n>
#         -P smoke.cmake
# Starts from the seed corpus, writes what it finds into WORK (emptied first,
# so the seeds in the tree stay as they are) and fails on any crash, leak,
# sanitizer report or fuzz contract violation, naming the reproducer.
foreach(var FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "smoke.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
# The first directory receives new inputs; the seeds are only read.
execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -print_final_stats=1 -timeout=10
          -rss_limit_mb=2048 "-artifact_prefix=${WORK}/artifacts/" "${WORK}/corpus" "${SEEDS}"
  RESULT_VARIABLE status)
file(GLOB crashes "${WORK}/artifacts/*")
if(NOT status EQUAL 0 OR crashes)
  message(FATAL_ERROR
    "fuzz smoke failed (exit ${status}); reproducer(s): ${crashes}\n"
    "Replay one with: ${FUZZER} <file>; fix the parser and add the file to ${SEEDS}/ "
    "under a name that says what it was (docs/testing.md).")
endif()
