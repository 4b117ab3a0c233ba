# Writes OUTPUT, a C++ file defining `const char NAME[]` (in NAMESPACE) with
# the bytes of INPUT and a terminating zero: static assets built into the
# library, so a page is served with no file beside the binary.
#   cmake -DINPUT=... -DOUTPUT=... -DNAME=... -DNAMESPACE=... -P embed_file.cmake
file(READ "${INPUT}" bytes HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_file.cmake; do not edit.\n"
  "namespace ${NAMESPACE} {\nextern const char ${NAME}[];\nconst char ${NAME}[] = {${bytes}'\\0'};\n}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
