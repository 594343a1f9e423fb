/**
 * A self-signed Ed25519 X.509 v3 certificate (RFC 5280), DER-encoded by hand
 * and signed with node:crypto, for the TLS identities of identity.ts.
 *
 * Peers authenticate each other only by the public key inside the
 * certificate (tls-socket.ts `peerPublicKey`, compared against the cluster
 * config; connections use `rejectUnauthorized: false`): the issuer, validity
 * and extensions are never checked. So the certificate carries no extensions
 * (RFC 5280 4.1.2.9: the field is optional, and when present must hold at
 * least one), only what every X.509 parser requires. Nothing here touches a
 * global; the only dependency is node:crypto.
 *
 * Encodings follow DER (ITU-T X.690 section 10: definite lengths in the
 * fewest octets, minimal INTEGERs) for the ASN.1 of RFC 5280 section 4.1:
 *
 * ```
 * Certificate  ::= SEQUENCE { tbsCertificate TBSCertificate,
 *                             signatureAlgorithm AlgorithmIdentifier,
 *                             signatureValue BIT STRING }
 * TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version (v3 = 2),
 *                               serialNumber INTEGER, signature AlgorithmIdentifier,
 *                               issuer Name, validity Validity, subject Name,
 *                               subjectPublicKeyInfo SubjectPublicKeyInfo }
 * ```
 *
 * @internal
 */
import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';

/** What the certificate says; the key is both the subject's and the issuer's. */
export interface SelfSignedCertificateOptions {
  /** The Ed25519 private key that signs; its public key goes in the certificate. */
  readonly privateKey: KeyObject;
  /** Subject and issuer common name, 1 to 64 characters (RFC 5280 ub-common-name). */
  readonly commonName: string;
  /** Start of validity; sub-second parts are dropped (RFC 5280 4.1.2.5: whole seconds). */
  readonly notBefore: Date;
  /** End of validity, inclusive; sub-second parts are dropped. */
  readonly notAfter: Date;
}

/** Bytes in the serial number (RFC 5280 4.1.2.2 allows up to 20). */
export const SERIAL_BYTES = 16;

/** Largest common name, in characters (RFC 5280 appendix A.1, ub-common-name). */
const COMMON_NAME_MAX = 64;

// Universal tags (X.690 8.1.2; constructed types have bit 6 set).
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OID = 0x06;
const TAG_UTF8_STRING = 0x0c;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;

/** id-Ed25519 (RFC 8410 section 3), used with absent parameters. */
const OID_ED25519 = '1.3.101.112';
/** id-at-commonName (RFC 5280 appendix A.1). */
const OID_COMMON_NAME = '2.5.4.3';

/**
 * The DER length octets for `length` content bytes (X.690 8.1.3, 10.1):
 * short form (one octet) below 128, else long form: 0x80 | the number of
 * length octets, then the length big-endian in as few octets as possible.
 */
export function derLength(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad DER length ${length}`);
  if (length < 0x80) return Uint8Array.of(length);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return Uint8Array.of(0x80 | octets.length, ...octets);
}

/** A tag-length-value triple: `tag`, then the length of `contents` joined, then `contents`. */
export function derTlv(tag: number, ...contents: readonly Uint8Array[]): Uint8Array {
  const body = Buffer.concat(contents);
  return Buffer.concat([Uint8Array.of(tag), derLength(body.length), body]);
}

/** SEQUENCE of the given encodings, in order (X.690 8.9). */
export function derSequence(...elements: readonly Uint8Array[]): Uint8Array {
  return derTlv(TAG_SEQUENCE, ...elements);
}

/** SET of one or more encodings; DER sorts a SET OF's elements by encoding (X.690 10.3). */
function derSet(...elements: readonly Uint8Array[]): Uint8Array {
  return derTlv(TAG_SET, ...[...elements].sort((a, b) => Buffer.compare(a, b)));
}

/**
 * A constructed context-specific tag `[number] EXPLICIT` wrapping one
 * encoding (X.690 8.14; class bits 10, constructed bit set: 0xa0 | number).
 */
export function derExplicit(number: number, inner: Uint8Array): Uint8Array {
  if (!Number.isInteger(number) || number < 0 || number > 30) throw new RangeError(`bad context tag ${number}`);
  return derTlv(0xa0 | number, inner);
}

/**
 * A non-negative INTEGER from its big-endian magnitude (X.690 8.3, 10.1):
 * redundant leading zero octets dropped, and one zero octet added when the
 * top bit is set, so the two's-complement value stays positive.
 */
export function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const bytes = magnitude.length === 0 ? Uint8Array.of(0) : magnitude.subarray(start);
  return (bytes[0]! & 0x80) !== 0 ? derTlv(TAG_INTEGER, Uint8Array.of(0), bytes) : derTlv(TAG_INTEGER, bytes);
}

/**
 * An OBJECT IDENTIFIER from dotted decimal (X.690 8.19): the first two arcs
 * in one subidentifier 40 * a + b, every subidentifier in base 128, high bit
 * set on all its octets but the last.
 */
export function derOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((arc) => (/^(0|[1-9][0-9]*)$/.test(arc) ? Number(arc) : NaN));
  const [first, second, ...rest] = arcs;
  if (
    first === undefined ||
    second === undefined ||
    !arcs.every(Number.isSafeInteger) ||
    first > 2 ||
    (first < 2 && second > 39)
  ) {
    throw new RangeError(`bad object identifier ${dotted}`);
  }
  const octets: number[] = [];
  for (const subidentifier of [first * 40 + second, ...rest]) {
    const group = [subidentifier % 128];
    for (let value = Math.floor(subidentifier / 128); value > 0; value = Math.floor(value / 128)) group.unshift(0x80 | (value % 128));
    octets.push(...group);
  }
  return derTlv(TAG_OID, Uint8Array.from(octets));
}

/** A BIT STRING of whole octets: the unused-bits octet 0, then the octets (X.690 8.6). */
export function derBitString(octets: Uint8Array): Uint8Array {
  return derTlv(TAG_BIT_STRING, Uint8Array.of(0), octets);
}

/** A UTF8String (X.690 8.23; RFC 5280 4.1.2.4 requires it for new DirectoryStrings). */
export function derUtf8String(text: string): Uint8Array {
  return derTlv(TAG_UTF8_STRING, Buffer.from(text, 'utf8'));
}

/**
 * A certificate Time (RFC 5280 4.1.2.5): UTCTime `YYMMDDHHMMSSZ` for years
 * 1950 through 2049 (4.1.2.5.1; YY >= 50 means 19YY), GeneralizedTime
 * `YYYYMMDDHHMMSSZ` otherwise (4.1.2.5.2); always UTC, with seconds and
 * without fractions, so any milliseconds of `date` are dropped.
 */
export function derTime(date: Date): Uint8Array {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('bad certificate time: invalid date');
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`bad certificate time: year ${year} outside 0000-9999`);
  const two = (value: number): string => String(value).padStart(2, '0');
  const rest =
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds()) +
    'Z';
  return year >= 1950 && year < 2050
    ? derTlv(TAG_UTC_TIME, Buffer.from(two(year % 100) + rest, 'ascii'))
    : derTlv(TAG_GENERALIZED_TIME, Buffer.from(String(year).padStart(4, '0') + rest, 'ascii'));
}

/** AlgorithmIdentifier for Ed25519: the OID alone, parameters absent (RFC 8410 section 3). */
function ed25519Algorithm(): Uint8Array {
  return derSequence(derOid(OID_ED25519));
}

/** A Name of one RDN holding one attribute, commonName as UTF8String (RFC 5280 4.1.2.4). */
function commonNameName(commonName: string): Uint8Array {
  if (commonName.length < 1 || commonName.length > COMMON_NAME_MAX) {
    throw new RangeError(`common name must have 1 to ${COMMON_NAME_MAX} characters`);
  }
  return derSequence(derSet(derSequence(derOid(OID_COMMON_NAME), derUtf8String(commonName))));
}

/**
 * A random positive serial of {@link SERIAL_BYTES} bytes (RFC 5280 4.1.2.2):
 * the top bit cleared keeps it positive and the next bit set keeps its first
 * octet non-zero, so the DER INTEGER is always exactly that long (126 random bits).
 */
function randomSerial(): Uint8Array {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

/** The certificate in DER. @throws TypeError if the key is not an Ed25519 private key; RangeError on a bad name or time. */
export function selfSignedCertificateDer(options: SelfSignedCertificateOptions): Uint8Array {
  const { privateKey, commonName, notBefore, notAfter } = options;
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('a self-signed certificate needs an Ed25519 private key');
  }
  const name = commonNameName(commonName);
  const algorithm = ed25519Algorithm();
  // SubjectPublicKeyInfo (RFC 5280 4.1.2.7, RFC 8410 section 4) exactly as node:crypto encodes it.
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const tbs = derSequence(
    derExplicit(0, derUnsignedInteger(Uint8Array.of(2))), // version v3 (RFC 5280 4.1.2.1)
    derUnsignedInteger(randomSerial()),
    algorithm, // signature: must equal signatureAlgorithm (4.1.2.3)
    name, // issuer
    derSequence(derTime(notBefore), derTime(notAfter)), // validity (4.1.2.5)
    name, // subject
    spki,
  );
  // Ed25519 signs the message itself, no digest (RFC 8410 section 6).
  const signature = sign(null, tbs, privateKey);
  return derSequence(tbs, algorithm, derBitString(signature));
}

/** The certificate as PEM (RFC 7468 section 5: base64 in lines of 64, `CERTIFICATE` labels). */
export function selfSignedCertificatePem(options: SelfSignedCertificateOptions): string {
  const base64 = Buffer.from(selfSignedCertificateDer(options)).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
