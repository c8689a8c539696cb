# Writes OUT: a C++ file holding server/api/openapi.json (IN), served at /api/openapi.json.
file(READ ${IN} text)
set(body "// Generated from server/api/openapi.json by server/api/embed_openapi.cmake. Do not edit.\n")
string(APPEND body "#include \"server/api/api.hpp\"\n\nnamespace fleet::server::api {\n\n")
string(APPEND body "std::string_view openapi_text() {\n")
string(APPEND body "    static const char text[] = R\"fleetjson(${text})fleetjson\";\n")
string(APPEND body "    return {text, sizeof text - 1};\n}\n\n}  // namespace fleet::server::api\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
