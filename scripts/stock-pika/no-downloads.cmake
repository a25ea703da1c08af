# Included by the build copy of Pika's CMakeLists.txt in place of `include(ExternalProject)`
# (scripts/stock-pika/build.sh does the swap). Pika's CMakeLists fetches every dependency with
# ExternalProject_Add(<name> URL https://...); this machine has no internet, and build.sh has
# already put each dependency where those calls would have installed it (the staged prefix
# <pika-src>/deps: Debian's static libraries, RocksDB and rediscache built from local trees).
# So each ExternalProject_Add only has to leave behind an empty target of its name, which the
# add_dependencies(...) calls in Pika's CMakeLists and src/*/CMakeLists.txt refer to.
function(ExternalProject_Add name)
  add_custom_target(${name})
endfunction()
