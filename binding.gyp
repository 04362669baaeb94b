{
  # Native SM2 backend (optional): protocol/crypto/native/. Built by `npm install`
  # (scripts/build-native.mjs); when it is absent the pure-JS backend is used.
  "targets": [
    {
      "target_name": "cardpost_crypto",
      "sources": [
        "protocol/crypto/native/cardpost_crypto.c",
        "protocol/crypto/native/cp_sm2.c",
        "protocol/crypto/native/cp_hash_md.c",
        "protocol/crypto/native/ec_field.c",
        "protocol/crypto/native/ec_field_mul.c",
        "protocol/crypto/native/ec_point.c",
        "protocol/crypto/native/ec_mul.c",
        "protocol/crypto/native/ec_mul_var.c",
        "protocol/crypto/native/ec_scalar.c",
        "protocol/crypto/native/ec_sm2p256.c"
      ],
      "dependencies": ["cardpost_crypto_hot"],
      # The only OpenSSL symbol used is RAND_priv_bytes (nonces). It is resolved
      # against the node binary at load time, with the headers node ships
      # (include/node/openssl, on node-gyp's include path); nothing is linked.
      # OPENSSL_API_COMPAT hides the deprecated OpenSSL 1.x API from the headers,
      # so no deprecation warnings can appear and none can be silently used.
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000"],
      # CP_SM2_FAST_VERIFY: the host-only variable-time verification (ec_verify_sm2.h), tuned
      # for x86-64 (its carry chains are intrinsics there); the Cortex-M4 image never has it.
      "conditions": [
        ["target_arch=='x64'", {"defines": ["CP_SM2_FAST_VERIFY=1"]}]
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O2", "-Wall"]
      }
    },
    {
      # The two hot spots of a verification with a new key, built with their own flags (linked
      # into cardpost_crypto): the variable-time verification (ec_verify_sm2.c) and SM3 (Z_A and
      # e on every call). node's Release defaults (-O3 -fno-omit-frame-pointer) cost them 5-40%:
      # the frame pointer takes a register the 4-limb field arithmetic spills for, and GCC's loop
      # vectoriser slows SM3's message expansion and the field code (measured, GCC 12, x86-64).
      # Flags only: the same sources, built apart (gyp has no per-file flags).
      "target_name": "cardpost_crypto_hot",
      "type": "static_library",
      "sources": [
        "protocol/crypto/native/ec_verify_sm2.c",
        "protocol/crypto/native/cp_sm3.c"
      ],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-tree-vectorize"],
      "configurations": {
        "Release": {"cflags!": ["-fno-omit-frame-pointer"]}
      },
      "conditions": [
        ["target_arch=='x64'", {"defines": ["CP_SM2_FAST_VERIFY=1"]}],
        # GCC only (clang has no such options): register pressure decides the speed of the inlined
        # 4-limb arithmetic, and these cut GCC 12's spills and false dependencies there (-5.5% per
        # verification, measured).
        ["clang==0", {"cflags": ["-fno-tree-ter", "-fschedule-insns", "-fsched-pressure", "-frename-registers"]}]
      ],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O2", "-Wall"]
      }
    },
    {
      # The C card applet in-process (firmware-bindings/node/, docs/firmware.md "Node binding"):
      # the glue, the portable core and the crypto, listed by card-sources.mjs as files come and go.
      # Optional like the crypto addon: scripts/build-native.mjs builds it on its own, so its failure
      # costs only `--firmware native`. Randomness: RAND_priv_bytes from node, as above.
      "target_name": "cardpost_card",
      "sources": ["<!@(node firmware-bindings/node/card-sources.mjs)"],
      "include_dirs": [
        "firmware-bindings/core/include",
        "firmware-bindings/core/src",
        "firmware-bindings/node",
        "protocol/crypto/native"
      ],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_c": ["-std=c99"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O2", "-Wall", "-std=c99"]
      }
    }
  ]
}
