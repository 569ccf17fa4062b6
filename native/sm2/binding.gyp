# Built by `npm run build:native` (node-gyp rebuild -C native/sm2) against node's own headers, which include
# node's OpenSSL headers; the OpenSSL symbols resolve against the node binary at load time (no -lcrypto).
{
  "targets": [
    {
      "target_name": "sm2",
      "sources": ["sm2.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2"]
    }
  ]
}
