// The MISS browser crypto core: what pages import. Mirrors caducee.instant in Python.
export * from "./errors.js";
export * from "./bytes.js";
export { Kem, generateKeyPair, importKeyPair, seal, open } from "./hpke.js";
export { messageKey, messageSeed, nextChainKey } from "./ratchet.js";
export { generateSigningKey, importSigningKey, sign, verify } from "./signing.js";
export {
  DeviceKeys,
  DevicePublicKeys,
  endorseDevice,
  parseDeviceStatement,
  parseEndorsement,
  parseListedDevice,
  verifyDeviceStatement,
  verifyEndorsement,
  verifyListedDevice,
} from "./device.js";
export * from "./formats.js";
export { Reader, field, fields, integer, text } from "./wire.js";
export { SenderKeyGroup } from "./sender_keys.js";
export { DATABASE, forgetDevice, loadDevice, pinRoot, pinnedRoot, saveDevice } from "./keystore.js";
export {
  Certificate,
  Crl,
  WHY,
  ecdsaDerToP1363,
  readCrl,
  readRoot,
  sha256Hex,
  signedBy,
  validatePersonCertificate,
} from "./x509.js";
