// Types of the vendored bundle hpke.js, for `tools/instant-vendor/check.sh` (tsc --checkJs).
export { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
export { XWing } from "@hpke/hybridkem-x-wing";
