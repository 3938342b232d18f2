# Includes point one way, and the check fails naming the file, the line and the include.
#   Layers:  common ← policy ← audit ← gateway
#   Stages inside gateway/, in the order a request meets them (docs/architecture.md):
#     config ← route ← metrics ← http ← authn ← authz ← auditlog ← forward ← admin ← server ← cli
#   A file may include headers of its own layer or stage and of earlier ones. One exception:
#   a types-only header (name ending in -t.h, declaring no function) may be included from any
#   stage — the request's state (server/request-t.h) is read by every stage it passes.
#   cmake -DSOURCE_DIR=<repo> -P tests/layering.cmake
set(allowed_common common)
set(allowed_policy common policy)
set(allowed_audit common policy audit)
set(stages config route metrics http authn authz auditlog forward admin server cli)
set(problems "")

foreach(layer common policy audit)
  file(GLOB_RECURSE srcs ${SOURCE_DIR}/${layer}/*.c ${SOURCE_DIR}/${layer}/*.h)
  foreach(src ${srcs})
    file(STRINGS ${src} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"[a-z_]+/")
    foreach(line ${lines})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([a-z_]+)/.*" "\\1" target "${line}")
      list(FIND allowed_${layer} ${target} found)
      if(found EQUAL -1)
        file(RELATIVE_PATH rel ${SOURCE_DIR} ${src})
        string(APPEND problems "${rel}: ${line} (${layer}/ may include only ${allowed_${layer}})\n")
      endif()
    endforeach()
  endforeach()
endforeach()

# Every source file of gateway/ is in a stage folder (main.c and limits.h excepted).
file(GLOB loose ${SOURCE_DIR}/gateway/*.c ${SOURCE_DIR}/gateway/*.h)
foreach(src ${loose})
  get_filename_component(name ${src} NAME)
  if(NOT name MATCHES "^(main\\.c|limits\\.h)$")
    string(APPEND problems "gateway/${name}: not in a stage folder (${stages})\n")
  endif()
endforeach()

list(LENGTH stages nstages)
math(EXPR last "${nstages} - 1")
foreach(i RANGE ${last})
  list(GET stages ${i} stage)
  file(GLOB srcs ${SOURCE_DIR}/gateway/${stage}/*.c ${SOURCE_DIR}/gateway/${stage}/*.h)
  foreach(src ${srcs})
    file(RELATIVE_PATH rel ${SOURCE_DIR} ${src})
    file(STRINGS ${src} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"gateway/[a-z_]+/")
    foreach(line ${lines})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"gateway/([a-z_]+)/([^\"]*)\".*" "\\1;\\2"
             parts "${line}")
      list(GET parts 0 target)
      list(GET parts 1 header)
      list(FIND stages ${target} j)
      if(j EQUAL -1)
        string(APPEND problems "${rel}: ${line} (gateway/${target}/ is not a stage)\n")
      elseif(j GREATER i AND NOT header MATCHES "-t\\.h$")
        string(APPEND problems "${rel}: ${line} (${stage}/ comes before ${target}/)\n")
      endif()
    endforeach()
    # A types-only header declares no function: no line of it starts a prototype (in this
    # tree's style a declaration starts at column 0: "type name(").
    if(src MATCHES "-t\\.h$")
      file(STRINGS ${src} protos REGEX "^[A-Za-z_][A-Za-z0-9_ *]*[ *][a-z_][a-z0-9_]*\\(")
      foreach(p ${protos})
        if(NOT p MATCHES "^typedef ")
          string(APPEND problems "${rel}: declares a function in a types-only header: ${p}\n")
        endif()
      endforeach()
    endif()
  endforeach()
endforeach()

if(problems)
  message(FATAL_ERROR "layering broken:\n${problems}")
endif()
message(STATUS "layering holds: common <- policy <- audit <- gateway; inside gateway/: ${stages}")
