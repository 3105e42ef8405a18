# Reads the "# @@ E(...)" lines that compat_emit.h (COMPAT_ASM) leaves in
# the assembler output of an -m32 -S compile and writes them as table rows.
#   cmake -DIN=<file.s> -DOUT=<file.inc> -P extract32.cmake
file(STRINGS "${IN}" lines REGEX "@@ E\\(")
list(LENGTH lines n)
if(n EQUAL 0)
  message(FATAL_ERROR "${IN}: no compat entries found")
endif()
set(text "/* Generated from ${IN} by extract32.cmake; do not edit. */\n")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^.*@@ " "" row "${line}")
  string(APPEND text "${row}\n")
endforeach()
file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
