{
  # Native SM2 backend (optional): protocol/crypto/native/. Built by `npm install`
  # (scripts/build-native.mjs); when it is absent the pure-JS backend is used.
  "targets": [
    {
      "target_name": "cardpost_crypto",
      "sources": [
        "protocol/crypto/native/cardpost_crypto.c",
        "protocol/crypto/native/cp_sm2.c",
        "protocol/crypto/native/cp_sm3.c",
        "protocol/crypto/native/cp_hash_md.c",
        "protocol/crypto/native/ec_field.c",
        "protocol/crypto/native/ec_field_mul.c",
        "protocol/crypto/native/ec_point.c",
        "protocol/crypto/native/ec_mul.c",
        "protocol/crypto/native/ec_mul_var.c",
        "protocol/crypto/native/ec_scalar.c",
        "protocol/crypto/native/ec_sm2p256.c",
        "protocol/crypto/native/ec_verify_sm2.c"
      ],
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
