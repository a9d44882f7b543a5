# cmake -DGEN_DIR=dir -DSRC_DIR=dir -DOUT=file -P java_sources.cmake
# Writes every .java file under both folders to OUT, one per line: a javac @argfile.
# Runs at build time because SWIG's generated file names are only known then.
set(lines "")
foreach(dir ${GEN_DIR} ${SRC_DIR})
  file(GLOB_RECURSE found ${dir}/*.java)
  list(SORT found)
  foreach(f ${found})
    string(APPEND lines "\"${f}\"\n")
  endforeach()
endforeach()
file(WRITE ${OUT} "${lines}")
