# OpenSSL's libcrypto for SHA-256 content hashes (src/osp/io/content_hash: model and adapter identity).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
target_link_libraries(osp_core PRIVATE OpenSSL::Crypto)
