# The layers of the tree as its include lines show them; run by CTest (test "layering") as
#   cmake -DSOURCE_DIR=<tree> -P tests/layering.cmake
# and fails naming every line out of place.
#
# - Each folder includes only its own headers and those of the layers below it (kLayers:
#   folder, then what it may include besides itself). The pure layers (core, status, store,
#   http, ipc, acme, ocsp) never include CAF (<caf/...>), the actors or messages/.
# - httpd/: the module forks the engine, so httpd/engine_process.* and httpd/mod_mdactor.cpp
#   may include actors/; no other file there does, and none includes CAF itself (the Apache
#   parent's library, mdactor_httpd_conf, links neither: CMakeLists.txt checks that too).
# - Apache and APR headers only under httpd/.
# Not here: tests/ and bench/ (they put layers together on purpose), third-party headers other
# than CAF, Apache and APR.

cmake_minimum_required(VERSION 3.18)

if(NOT SOURCE_DIR)
  message(FATAL_ERROR "layering.cmake: pass -DSOURCE_DIR=<the source tree>")
endif()

set(kLayers
  "core:"
  "status:core"
  "store:core,status"
  "http:core"
  "cluster:core,status,store,http"
  "ipc:core,status,store"
  "acme:core,store,http"
  "ocsp:core,store,http"
  "messages:core,status,store,http,cluster,acme,ocsp"
  "actors:core,status,store,http,cluster,ipc,acme,ocsp,messages"
  "httpd:core,status,store,http,cluster,ipc,acme,ocsp"
  "tools:core,status,store,http,cluster,ipc,acme,ocsp,messages,actors")
# Files of httpd/ that may include actors/ (relative to SOURCE_DIR, as regular expressions).
set(kEngineStarters "^httpd/engine_process\\.(hpp|cpp)$" "^httpd/mod_mdactor\\.cpp$")
set(kPureLayers core status store http cluster ipc acme ocsp)
set(kApacheHeader "^(httpd|http_[a-z_]+|ap_[a-z_]+|apr[a-z_]*|mod_[a-z_]+|util_[a-z_]+)\\.h$")

set(problems "")
foreach(entry IN LISTS kLayers)
  string(REPLACE ":" ";" parts "${entry}")
  list(GET parts 0 folder)
  list(LENGTH parts n)
  set(allowed "${folder}")
  if(n GREATER 1)
    list(GET parts 1 below)
    string(REPLACE "," ";" below "${below}")
    list(APPEND allowed ${below})
  endif()
  file(GLOB_RECURSE files RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/${folder}/*.hpp"
       "${SOURCE_DIR}/${folder}/*.cpp")
  foreach(rel IN LISTS files)
    set(starter FALSE)
    foreach(re IN LISTS kEngineStarters)
      if(rel MATCHES "${re}")
        set(starter TRUE)
      endif()
    endforeach()
    file(STRINGS "${SOURCE_DIR}/${rel}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS lines)
      if(NOT line MATCHES "include[ \t]*([<\"])([^>\"]+)[>\"]")
        continue()
      endif()
      set(quoted "${CMAKE_MATCH_1}")
      set(header "${CMAKE_MATCH_2}")
      set(why "")
      if(header MATCHES "^caf/" AND folder IN_LIST kPureLayers)
        set(why "CAF in a layer without actors")
      elseif(header MATCHES "^caf/" AND folder STREQUAL "httpd")
        set(why "CAF in the Apache module (only the engine uses it, through actors/)")
      elseif(header MATCHES "${kApacheHeader}" AND NOT folder STREQUAL "httpd")
        set(why "an Apache or APR header outside httpd/")
      elseif(quoted STREQUAL "\"" AND header MATCHES "^([a-z_]+)/")
        set(target_folder "${CMAKE_MATCH_1}")
        if(folder STREQUAL "httpd" AND target_folder STREQUAL "actors" AND starter)
          # the module forks the engine
        elseif(NOT target_folder IN_LIST allowed)
          string(REPLACE ";" "/, " shown "${allowed}/")
          set(why "${folder}/ may include only ${shown}")
        endif()
      endif()
      if(why)
        string(STRIP "${line}" line)
        list(APPEND problems "${rel}: '${line}': ${why}")
      endif()
    endforeach()
  endforeach()
endforeach()

if(problems)
  list(LENGTH problems count)
  string(REPLACE ";" "\n  " text "${problems}")
  message(FATAL_ERROR "${count} include line(s) out of their layer:\n  ${text}")
endif()
message(STATUS "layering: every include line is in its layer")
