// Errors of the MISS browser core, one class per Python error of caducee.instant.errors,
// with the same `code`, so that both sides report a refusal the same way. The browser also
// validates certificates itself (x509.js), which Python does in caducee.crypto: one class,
// UntrustedCertificate, whose `why` is the code of the matching caducee.crypto.errors class.

/** The root: every refusal of outside input is one of these, never a TypeError. */
export class InstantCryptoError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = new.target.name;
    /** @type {string} */
    this.code = "instant-crypto-error";
  }
}

/** @param {string} code @returns {typeof InstantCryptoError} */
function kind(code) {
  return class extends InstantCryptoError {
    /** @param {string} message */
    constructor(message) {
      super(message);
      this.code = code;
    }
  };
}

/** Bytes from outside that do not parse. */
export class MalformedInstantData extends kind("instant-malformed") {}
/** An HPKE suite or wire version we do not speak. */
export class UnsupportedSuite extends kind("instant-unsupported-suite") {}
/** A device statement not signed by the person's certificate key, or for another address. */
export class ForgedDeviceStatement extends kind("instant-forged-device") {}
/** A message or a key distribution with a bad Ed25519 signature. */
export class InstantSignatureInvalid extends kind("instant-signature-invalid") {}
/** The AEAD (AES-GCM or HPKE) refuses the ciphertext. */
export class InstantDecryptionFailed extends kind("instant-decryption-failed") {}
/** A case or a device we are not in (or no longer). */
export class NotAMember extends kind("instant-not-a-member") {}
/** No sender key received yet for that device and generation. */
export class UnknownSenderKey extends kind("instant-unknown-sender-key") {}
/** A message counter already used. */
export class ReplayedMessage extends kind("instant-replayed") {}
/** Too old (its key is gone) or too far ahead (the skip bound). */
export class MessageOutOfWindow extends kind("instant-out-of-window") {}

/**
 * A person's certificate (or a CA certificate or CRL on its path) this browser refuses.
 * `why` is the code Python's caducee.crypto.errors gives the same refusal:
 * "certificate-expired" (also not yet valid), "certificate-revoked", "certificate-untrusted"
 * (not issued by the pinned CA, bad signature), "revocation-unknown" (CRL missing, stale or
 * forged), "key-usage-not-allowed", or "malformed-certificate" (bytes that do not parse).
 */
export class UntrustedCertificate extends kind("instant-untrusted-certificate") {
  /** @param {string} why @param {string} message */
  constructor(why, message) {
    super(message);
    /** @type {string} */
    this.why = why;
  }
}
