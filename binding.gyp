{
  # Native SM2 backend (optional): protocol/crypto/native/. Built by `npm install`
  # (scripts/build-native.mjs); when it is absent the pure-JS backend is used.
  "targets": [
    {
      "target_name": "cardpost_crypto",
      "sources": [
        "protocol/crypto/native/cardpost_crypto.c",
        "protocol/crypto/native/sm2p256.c"
      ],
      # The only OpenSSL symbol used is RAND_priv_bytes (nonces). It is resolved
      # against the node binary at load time, with the headers node ships
      # (include/node/openssl, on node-gyp's include path); nothing is linked.
      # OPENSSL_API_COMPAT hides the deprecated OpenSSL 1.x API from the headers,
      # so no deprecation warnings can appear and none can be silently used.
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O2", "-Wall"]
      }
    }
  ]
}
