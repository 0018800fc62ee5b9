# SPDX-License-Identifier: Apache-2.0
# Writes OUT: a C++ source holding the shipped detection rules (conf/rules/*.yaml, in name
# order) as the built-in catalogue. Run by the build whenever one of them changes.
file(GLOB files LIST_DIRECTORIES false "${RULES_DIR}/*.yaml")
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(name "${f}" NAME)
  file(READ "${f}" text)
  string(FIND "${text}" ")ADOCK_RULES\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${f} contains the raw-string delimiter")
  endif()
  string(APPEND body "    {\"built-in:${name}\", R\"ADOCK_RULES(${text})ADOCK_RULES\"},\n")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from conf/rules/*.yaml by plugin/cmake/embed_rules.cmake. Do not edit.
#include \"rules/catalogue.hpp\"

namespace adock::rules {

const std::vector<std::pair<std::string, std::string>>& builtin_catalogue() {
    static const std::vector<std::pair<std::string, std::string>> files{
${body}    };
    return files;
}

}  // namespace adock::rules
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
