var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// ../../node_modules/paseto/index.js
var capabilityFactoryMarker = /* @__PURE__ */ Symbol.for("panva.paseto.capabilityFactory");
function validVersion(value) {
  return value === 1 || value === 2 || value === 3 || value === 4;
}
__name(validVersion, "validVersion");
function signatureLength(version) {
  switch (version) {
    case 1:
      return 256;
    case 2:
    case 4:
      return 64;
    case 3:
      return 96;
  }
}
__name(signatureLength, "signatureLength");
function createOperation(implementation, purpose, operation, adapt) {
  const factory = /* @__PURE__ */ __name(function() {
    if (implementation === null || typeof implementation !== "object") {
      throw new TypeError("implementation must be an object");
    }
    const version = implementation.version;
    const sourceRun = implementation.run;
    if (!validVersion(version)) {
      throw new TypeError("implementation has an invalid version");
    }
    if (typeof sourceRun !== "function") {
      throw new TypeError("implementation has an invalid run function");
    }
    const snapshot = Object.freeze({
      version,
      run: /* @__PURE__ */ __name((async (...args) => {
        const changed = /* @__PURE__ */ __name(() => implementation.version !== version || implementation.run !== sourceRun, "changed");
        if (changed()) {
          throw new TypeError("implementation version or run changed after composition");
        }
        const result = await Reflect.apply(
          sourceRun,
          implementation,
          args
        );
        if (changed()) {
          throw new TypeError("implementation version or run changed after composition");
        }
        return result;
      }), "run")
    });
    const run = adapt(snapshot);
    if (typeof run !== "function") {
      throw new TypeError("capability adapter returned an invalid run function");
    }
    return Object.freeze({ purpose, version: snapshot.version, operation, run });
  }, "factory");
  Object.defineProperty(factory, capabilityFactoryMarker, { value: true });
  return factory;
}
__name(createOperation, "createOperation");
function implementationRun(implementation) {
  return implementation.run;
}
__name(implementationRun, "implementationRun");
function runTokenImplementation(version, run, parameters, implicitAssertion2) {
  if (version >= 3) parameters.push(implicitAssertion2);
  return Reflect.apply(run, void 0, parameters);
}
__name(runTokenImplementation, "runTokenImplementation");
function PublicVerify(implementation) {
  return createOperation(implementation, "public", "Verify", (value) => {
    return async (key, token, options) => {
      const resolved = optionsObject(options);
      const implicit = implicitAssertion(value.version, resolved);
      const { payload, footer } = parseToken(token, value.version, "public", resolved);
      const length = signatureLength(value.version);
      if (payload.byteLength <= length) {
        throw new InvalidTokenError("Truncated v" + value.version + ".public payload");
      }
      const message = payload.subarray(0, -length);
      const signature = payload.subarray(-length);
      if (await runTokenImplementation(
        value.version,
        value.run,
        [key, message, signature, footer],
        implicit
      ) !== true) {
        throw new InvalidTokenError("Token signature verification failed");
      }
      const claims = parseClaims(message);
      validateClaims(claims, resolved);
      return { claims, footer: copyBytes(footer) };
    };
  });
}
__name(PublicVerify, "PublicVerify");
function PublicImportPublicKey(implementation) {
  return createOperation(implementation, "public", "ImportPublicKey", implementationRun);
}
__name(PublicImportPublicKey, "PublicImportPublicKey");
var PasetoError = class extends Error {
  static {
    __name(this, "PasetoError");
  }
  code;
  constructor(code, message, options) {
    super(message, options);
    this.code = code;
    this.name = this.constructor.name;
  }
};
var InvalidTokenError = class extends PasetoError {
  static {
    __name(this, "InvalidTokenError");
  }
  constructor(message = "Invalid token", options) {
    super("ERR_PASETO_INVALID_TOKEN", message, options);
  }
};
var InvalidPASERKError = class extends PasetoError {
  static {
    __name(this, "InvalidPASERKError");
  }
  constructor(message = "Invalid PASERK", options) {
    super("ERR_PASERK_INVALID", message, options);
  }
};
var InvalidKeyError = class extends PasetoError {
  static {
    __name(this, "InvalidKeyError");
  }
  constructor(message = "Invalid key", options) {
    super("ERR_PASETO_INVALID_KEY", message, options);
  }
};
var ClaimValidationError = class extends PasetoError {
  static {
    __name(this, "ClaimValidationError");
  }
  claim;
  constructor(message, claim, options) {
    super("ERR_PASETO_CLAIM_VALIDATION", message, options);
    if (claim !== void 0) this.claim = claim;
  }
};
var UnsupportedAlgorithmError = class extends PasetoError {
  static {
    __name(this, "UnsupportedAlgorithmError");
  }
  constructor(message, options) {
    super("ERR_PASETO_UNSUPPORTED_ALGORITHM", message, options);
  }
};
function normalizePasetoError(cause) {
  if (cause instanceof PasetoError || cause === null || typeof cause !== "object") return cause;
  const error = cause;
  if (typeof error.message !== "string") return cause;
  const options = { cause };
  switch (error.code) {
    case "ERR_PASETO_INVALID_TOKEN":
      return new InvalidTokenError(error.message, options);
    case "ERR_PASERK_INVALID":
      return new InvalidPASERKError(error.message, options);
    case "ERR_PASETO_INVALID_KEY":
      return new InvalidKeyError(error.message, options);
    case "ERR_PASETO_CLAIM_VALIDATION":
      return new ClaimValidationError(
        error.message,
        typeof error.claim === "string" ? error.claim : void 0,
        options
      );
    case "ERR_PASETO_UNSUPPORTED_ALGORITHM":
      return new UnsupportedAlgorithmError(error.message, options);
    default:
      return cause;
  }
}
__name(normalizePasetoError, "normalizePasetoError");
var decoder = /* @__PURE__ */ new TextDecoder("utf-8", { fatal: true });
var empty = /* @__PURE__ */ new Uint8Array();
function checkBytes(value, name, length) {
  if (!(value instanceof Uint8Array) || !(value.buffer instanceof ArrayBuffer)) {
    throw new TypeError(`"${name}" must be a Uint8Array backed by an ArrayBuffer`);
  }
  if (length !== void 0 && value.byteLength !== length) {
    throw new TypeError(`"${name}" must be ${length} bytes`);
  }
}
__name(checkBytes, "checkBytes");
function copyBytes(value) {
  return new Uint8Array(value);
}
__name(copyBytes, "copyBytes");
function optionalBytes(value, name) {
  if (value === void 0) return empty;
  checkBytes(value, name);
  return copyBytes(value);
}
__name(optionalBytes, "optionalBytes");
function concat(...pieces) {
  let length = 0;
  for (const piece of pieces) length += piece.byteLength;
  const output = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    output.set(piece, offset);
    offset += piece.byteLength;
  }
  return output;
}
__name(concat, "concat");
function equalBytes(left, right) {
  let mismatch = left.byteLength ^ right.byteLength;
  const length = Math.max(left.byteLength, right.byteLength);
  for (let i = 0; i < length; i++) {
    mismatch |= (left[i % Math.max(left.byteLength, 1)] ?? 0) ^ (right[i % Math.max(right.byteLength, 1)] ?? 0);
  }
  return mismatch === 0;
}
__name(equalBytes, "equalBytes");
function fromBase64(input) {
  input = input.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(input);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}
__name(fromBase64, "fromBase64");
function toBase64Url(input) {
  let binary = "";
  const chunk = 32768;
  for (let offset = 0; offset < input.byteLength; offset += chunk) {
    binary += String.fromCharCode(...input.subarray(offset, offset + chunk));
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/u, "");
}
__name(toBase64Url, "toBase64Url");
function toB64u(input) {
  return input.toBase64?.({ alphabet: "base64url", omitPadding: true }) || toBase64Url(input);
}
__name(toB64u, "toB64u");
function b64u(input) {
  return Uint8Array.fromBase64?.(input, { alphabet: "base64url" }) || fromBase64(input);
}
__name(b64u, "b64u");
function decodeBase64url(input, name) {
  if (typeof input !== "string" || !/^[A-Za-z0-9_-]*$/u.test(input) || input.length % 4 === 1) {
    throw new InvalidTokenError(`Invalid base64url in ${name}`);
  }
  try {
    const output = b64u(input);
    if (toB64u(output) !== input) throw new Error("non-canonical");
    return output;
  } catch (cause) {
    throw new InvalidTokenError(`Invalid base64url in ${name}`, { cause });
  }
}
__name(decodeBase64url, "decodeBase64url");
function le64(value) {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError("value must be a safe integer");
  const output = new Uint8Array(8);
  let remainder = value;
  for (let i = 0; i < 8; i++) {
    output[i] = remainder & 255;
    remainder = Math.floor(remainder / 256);
  }
  output[7] = output[7] & 127;
  return output;
}
__name(le64, "le64");
function PAE(pieces) {
  if (!Array.isArray(pieces)) throw new TypeError('"pieces" must be an array');
  const encoded = [le64(pieces.length)];
  for (const [index, piece] of pieces.entries()) {
    checkBytes(piece, `pieces[${index}]`);
    encoded.push(le64(piece.byteLength), piece);
  }
  return concat(...encoded);
}
__name(PAE, "PAE");
function parseClaims(input) {
  let json2;
  try {
    json2 = decoder.decode(input);
  } catch (cause) {
    throw new InvalidTokenError("Claims are not valid UTF-8", { cause });
  }
  let claims;
  try {
    claims = JSON.parse(json2);
  } catch (cause) {
    throw new InvalidTokenError("Claims are not valid JSON", { cause });
  }
  if (claims === null || typeof claims !== "object" || Array.isArray(claims)) {
    throw new InvalidTokenError("Claims must be a JSON object");
  }
  return claims;
}
__name(parseClaims, "parseClaims");
function nonnegativeNumber(value, name) {
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`"${name}" must be a non-negative number`);
  return value;
}
__name(nonnegativeNumber, "nonnegativeNumber");
function optionsObject(value) {
  if (value === void 0) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError('"options" must be an object');
  }
  return value;
}
__name(optionsObject, "optionsObject");
function booleanOption(value, name, defaultValue) {
  if (value === void 0) return defaultValue;
  if (typeof value !== "boolean") throw new TypeError(`"${name}" must be a boolean`);
  return value;
}
__name(booleanOption, "booleanOption");
function stringOption(value, name) {
  if (value === void 0) return void 0;
  if (typeof value !== "string") throw new TypeError(`"${name}" must be a string`);
  return value;
}
__name(stringOption, "stringOption");
function currentDate(value) {
  const date = value === void 0 ? /* @__PURE__ */ new Date() : value;
  if (!(date instanceof Date) || Number.isNaN(date.valueOf()))
    throw new TypeError('"now" must be a valid Date');
  return new Date(date);
}
__name(currentDate, "currentDate");
var rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/u;
function validDay(year, month, day) {
  if (month < 1 || month > 12 || day < 1) return false;
  const leapYear = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? leapYear ? 29 : 28 : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= days;
}
__name(validDay, "validDay");
function claimDate(claims, name) {
  const value = claims[name];
  if (value === void 0) return void 0;
  if (typeof value !== "string") {
    throw new ClaimValidationError(`"${name}" must be an RFC 3339 date-time string`, name);
  }
  const match = rfc3339.exec(value);
  if (match === null) {
    throw new ClaimValidationError(`"${name}" must be an RFC 3339 date-time string`, name);
  }
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  const offsetHour = match[10] === void 0 ? 0 : Number(match[10]);
  const offsetMinute = match[11] === void 0 ? 0 : Number(match[11]);
  if (!validDay(year, month, day) || hour > 23 || minute > 59 || second > 59 || offsetHour > 23 || offsetMinute > 59) {
    throw new ClaimValidationError(`"${name}" must be a valid RFC 3339 date-time`, name);
  }
  const milliseconds = Number((match[7] ?? "").padEnd(3, "0").slice(0, 3));
  const instant = /* @__PURE__ */ new Date(0);
  instant.setUTCFullYear(year, month - 1, day);
  instant.setUTCHours(hour, minute, second, milliseconds);
  let timestamp = instant.valueOf();
  if (match[8] !== "Z") {
    const direction = match[9] === "+" ? 1 : -1;
    timestamp -= direction * (offsetHour * 60 + offsetMinute) * 6e4;
  }
  return timestamp;
}
__name(claimDate, "claimDate");
function stringClaim(claims, name) {
  const value = claims[name];
  if (value === void 0) return void 0;
  if (typeof value !== "string")
    throw new ClaimValidationError(`"${name}" must be a string`, name);
  return value;
}
__name(stringClaim, "stringClaim");
function expectedValues(value) {
  if (typeof value === "string") return [value];
  if (!Array.isArray(value) || value.length === 0 || value.some((entry) => typeof entry !== "string")) {
    throw new TypeError("Expected claim values must be a string or non-empty array of strings");
  }
  return value;
}
__name(expectedValues, "expectedValues");
function validateClaims(claims, options) {
  const now = currentDate(options.now).valueOf();
  const tolerance = nonnegativeNumber(options.clockTolerance ?? 0, "clockTolerance") * 1e3;
  const allowNonExpiring = booleanOption(options.allowNonExpiring, "allowNonExpiring", false);
  const exp = claimDate(claims, "exp");
  const iat = claimDate(claims, "iat");
  const nbf = claimDate(claims, "nbf");
  for (const name of ["aud", "iss", "sub", "jti"]) stringClaim(claims, name);
  if (exp === void 0 && !allowNonExpiring) {
    throw new ClaimValidationError('Missing required "exp" claim', "exp");
  }
  if (exp !== void 0 && now > exp + tolerance) {
    throw new ClaimValidationError("Token has expired", "exp");
  }
  if (nbf !== void 0 && now + tolerance < nbf) {
    throw new ClaimValidationError("Token is not active yet", "nbf");
  }
  if (iat !== void 0 && now + tolerance < iat) {
    throw new ClaimValidationError("Token was issued in the future", "iat");
  }
  if (options.maxTokenAge !== void 0) {
    const maximum = nonnegativeNumber(options.maxTokenAge, "maxTokenAge") * 1e3;
    if (iat === void 0) throw new ClaimValidationError('Missing required "iat" claim', "iat");
    if (now - tolerance > iat + maximum) throw new ClaimValidationError("Token is too old", "iat");
  }
  const comparisons = [
    ["audience", "aud"],
    ["issuer", "iss"]
  ];
  for (const [option, claim] of comparisons) {
    const expected = options[option];
    if (expected !== void 0 && !expectedValues(expected).includes(claims[claim])) {
      throw new ClaimValidationError(`Unexpected "${claim}" claim`, claim);
    }
  }
  const subject = stringOption(options.subject, "subject");
  if (subject !== void 0 && claims.sub !== subject) {
    throw new ClaimValidationError('Unexpected "sub" claim', "sub");
  }
  const tokenIdentifier = stringOption(options.tokenIdentifier, "tokenIdentifier");
  if (tokenIdentifier !== void 0 && claims.jti !== tokenIdentifier) {
    throw new ClaimValidationError('Unexpected "jti" claim', "jti");
  }
  if (options.requiredClaims !== void 0) {
    if (!Array.isArray(options.requiredClaims) || options.requiredClaims.some((name) => typeof name !== "string")) {
      throw new TypeError('"requiredClaims" must be an array of strings');
    }
    for (const name of options.requiredClaims) {
      if (!Object.hasOwn(claims, name))
        throw new ClaimValidationError(`Missing required "${name}" claim`, name);
    }
  }
}
__name(validateClaims, "validateClaims");
function parseToken(token, version, purpose, options) {
  if (typeof token !== "string") throw new TypeError('"token" must be a string');
  const parts = token.split(".");
  if (parts.length !== 3 && parts.length !== 4) throw new InvalidTokenError("Malformed token");
  if (parts[0] !== `v${version}` || parts[1] !== purpose || parts[2] === "") {
    throw new InvalidTokenError(`Expected a v${version}.${purpose} token`);
  }
  if (parts.length === 4 && parts[3] === "") throw new InvalidTokenError("Empty footer segment");
  const payload = decodeBase64url(parts[2], "token payload");
  const footer = parts[3] === void 0 ? empty : decodeBase64url(parts[3], "token footer");
  if (options.footer !== void 0) {
    checkBytes(options.footer, "footer");
    if (!equalBytes(footer, options.footer))
      throw new InvalidTokenError("Token footer does not match");
  }
  return { payload, footer };
}
__name(parseToken, "parseToken");
function InspectFooter(token) {
  if (typeof token !== "string") throw new TypeError('"token" must be a string');
  const parts = token.split(".");
  if (parts.length !== 3 && parts.length !== 4) throw new InvalidTokenError("Malformed token");
  if (!/^v[1-4]$/u.test(parts[0]) || parts[1] !== "local" && parts[1] !== "public" || parts[2] === "") {
    throw new InvalidTokenError("Malformed token header");
  }
  if (parts.length === 4 && parts[3] === "") throw new InvalidTokenError("Empty footer segment");
  return parts[3] === void 0 ? copyBytes(empty) : decodeBase64url(parts[3], "token footer");
}
__name(InspectFooter, "InspectFooter");
function implicitAssertion(version, options) {
  if (version < 3 && "implicitAssertion" in options) {
    throw new TypeError(`v${version} does not support implicit assertions`);
  }
  const value = "implicitAssertion" in options ? options.implicitAssertion : void 0;
  return optionalBytes(value, "implicitAssertion");
}
__name(implicitAssertion, "implicitAssertion");
function loadCapability(value, purpose, version) {
  let operation;
  try {
    if (typeof value !== "function") throw new TypeError("capability factory must be a function");
    if (value[capabilityFactoryMarker] !== true) {
      throw new TypeError("capability factory is not recognized; use a paseto operation creator");
    }
    const capability = value();
    if (capability === null || typeof capability !== "object") {
      throw new TypeError("capability factory must return an object");
    }
    const record = capability;
    if (typeof record.operation !== "string" || record.operation.length === 0) {
      throw new TypeError("capability operation is invalid");
    }
    operation = record.operation;
    if (record.purpose !== purpose) throw new TypeError("capability purpose does not match");
    if (!validVersion(record.version)) throw new TypeError("capability version is invalid");
    if (version !== void 0 && record.version !== version) {
      throw new TypeError("capability version does not match");
    }
    if (typeof record.run !== "function") throw new TypeError("capability run must be a function");
    return record;
  } catch (cause) {
    throw new TypeError(
      operation === void 0 ? "Invalid capability factory" : `Invalid "${operation}" capability`,
      { cause }
    );
  }
}
__name(loadCapability, "loadCapability");
function installCapability(capability, methods) {
  if (Object.hasOwn(methods, capability.operation)) {
    throw new TypeError(`Duplicate "${capability.operation}" capability`);
  }
  methods[capability.operation] = async (...args) => {
    try {
      return await capability.run(...args);
    } catch (cause) {
      throw normalizePasetoError(cause);
    }
  };
}
__name(installCapability, "installCapability");
var PublicProtocolRuntime = class PublicProtocol {
  static {
    __name(this, "PublicProtocol");
  }
  version;
  purpose = "public";
  constructor(...factories) {
    if (factories.length === 0) throw new TypeError("at least one capability factory is required");
    const methods = {};
    let version;
    for (const factory of factories) {
      const capability = loadCapability(factory, "public", version);
      version ??= capability.version;
      installCapability(capability, methods);
    }
    this.version = version;
    Object.assign(this, methods);
    Object.freeze(this);
  }
};
var PublicProtocol2 = PublicProtocolRuntime;

// ../../node_modules/paseto/_internal/bytes.js
var encoder = /* @__PURE__ */ new TextEncoder();
function checkBytes2(value, name, length) {
  if (!(value instanceof Uint8Array)) throw new TypeError(`"${name}" must be a Uint8Array`);
  if (length !== void 0 && value.byteLength !== length) {
    throw new TypeError(`"${name}" must be ${length} bytes`);
  }
}
__name(checkBytes2, "checkBytes");
function copyBytes2(value) {
  return new Uint8Array(value);
}
__name(copyBytes2, "copyBytes");
function ascii(value) {
  return encoder.encode(value);
}
__name(ascii, "ascii");
function fromBase642(input, alphabet) {
  const decoded = Uint8Array.fromBase64?.(input, { alphabet });
  if (decoded !== void 0) return decoded;
  let binary;
  try {
    const normalized = alphabet === "base64url" ? input.replaceAll("-", "+").replaceAll("_", "/").padEnd(input.length + 3 & ~3, "=") : input;
    binary = atob(normalized);
  } catch (cause) {
    throw new InvalidTokenError("Invalid base64url", { cause });
  }
  const output = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) output[i] = binary.charCodeAt(i);
  return output;
}
__name(fromBase642, "fromBase64");
function toBase64(input) {
  const encoded = input.toBase64?.({ alphabet: "base64" });
  if (encoded !== void 0) return encoded;
  let binary = "";
  for (let i = 0; i < input.byteLength; i += 32768) {
    binary += String.fromCharCode(...input.subarray(i, i + 32768));
  }
  return btoa(binary);
}
__name(toBase64, "toBase64");
function toB64u2(input) {
  const encoded = input.toBase64?.({ alphabet: "base64url", omitPadding: true });
  if (encoded !== void 0) return encoded;
  return toBase64(input).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/u, "");
}
__name(toB64u2, "toB64u");
function b64u2(input) {
  if (!/^[A-Za-z0-9_-]*$/u.test(input) || input.length % 4 === 1) {
    throw new InvalidTokenError("Invalid base64url");
  }
  try {
    const output = fromBase642(input, "base64url");
    if (toB64u2(output) !== input) throw new Error("non-canonical");
    return output;
  } catch (cause) {
    throw new InvalidTokenError("Invalid base64url", { cause });
  }
}
__name(b64u2, "b64u");
function decodeBase64url2(input, name) {
  try {
    return b64u2(input);
  } catch (cause) {
    throw new InvalidTokenError(`Invalid ${name}`, { cause });
  }
}
__name(decodeBase64url2, "decodeBase64url");
function webCryptoBytes(input) {
  checkBytes2(input, "Web Cryptography input");
  return input;
}
__name(webCryptoBytes, "webCryptoBytes");

// ../../node_modules/paseto/_internal/keys.js
var publicKeys = /* @__PURE__ */ new WeakMap();
var PublicKeyImpl = class {
  static {
    __name(this, "PublicKeyImpl");
  }
  #brand;
  algorithm;
  type = "public";
  kind = "public";
  version;
  extractable;
  constructor(version, material, cryptoKey) {
    this.#brand = void 0;
    void this.#brand;
    this.algorithm = { name: `PASETO v${version}.public` };
    this.version = version;
    this.extractable = cryptoKey.extractable;
    publicKeys.set(this, {
      version,
      material: material === void 0 ? void 0 : copyBytes2(material),
      cryptoKey,
      extractable: this.extractable
    });
  }
};
function publicKeyData(key, version, name = "key") {
  const data = publicKeys.get(key);
  if (!data || data.version !== version) {
    throw new InvalidKeyError(`"${name}" is not a v${version} key for this operation`);
  }
  return data;
}
__name(publicKeyData, "publicKeyData");

// ../../node_modules/paseto/_internal/crypto.js
function isNotSupportedError(cause) {
  return cause !== null && typeof cause === "object" && "name" in cause && cause.name === "NotSupportedError";
}
__name(isNotSupportedError, "isNotSupportedError");
async function webCryptoOperation(algorithm, operation) {
  try {
    return await operation();
  } catch (cause) {
    if (cause instanceof UnsupportedAlgorithmError) throw cause;
    if (isNotSupportedError(cause)) {
      throw new UnsupportedAlgorithmError(
        `${algorithm} is not available from the Web Cryptography runtime API`,
        { cause }
      );
    }
    throw cause;
  }
}
__name(webCryptoOperation, "webCryptoOperation");
async function importEd25519PublicKey(version, material) {
  checkBytes2(material, "material", 32);
  let cryptoKey;
  try {
    cryptoKey = await webCryptoOperation(
      "Ed25519",
      () => crypto.subtle.importKey("raw", webCryptoBytes(material), "Ed25519", true, ["verify"])
    );
  } catch (cause) {
    if (cause instanceof UnsupportedAlgorithmError) throw cause;
    throw new InvalidKeyError(`Invalid v${version} public key`, { cause });
  }
  return new PublicKeyImpl(version, material, cryptoKey);
}
__name(importEd25519PublicKey, "importEd25519PublicKey");
function tokenHeader(version, purpose) {
  return ascii(`v${version}.${purpose}.`);
}
__name(tokenHeader, "tokenHeader");
async function verifyEd25519Public(data, signature, pieces) {
  const key = data.cryptoKey;
  try {
    return await webCryptoOperation(
      "Ed25519",
      () => crypto.subtle.verify("Ed25519", key, webCryptoBytes(signature), webCryptoBytes(PAE(pieces)))
    );
  } catch (cause) {
    if (cause instanceof UnsupportedAlgorithmError) throw cause;
    throw new InvalidTokenError("Token signature verification failed", { cause });
  }
}
__name(verifyEd25519Public, "verifyEd25519Public");
async function verifyV4Public(data, message, signature, footer, implicit) {
  return await verifyEd25519Public(data, signature, [
    tokenHeader(4, "public"),
    message,
    footer,
    implicit
  ]);
}
__name(verifyV4Public, "verifyV4Public");

// ../../node_modules/paseto/_internal/operations.js
function paserkHeader(version, type) {
  return `k${version}.${type}.`;
}
__name(paserkHeader, "paserkHeader");
function parsePaserk(input, version, type) {
  if (typeof input !== "string") throw new TypeError('"paserk" must be a string');
  const header = paserkHeader(version, type);
  if (!input.startsWith(header) || input.slice(header.length).includes(".")) {
    throw new InvalidPASERKError(`Expected a ${header} PASERK`);
  }
  return decodePaserkPayload(input.slice(header.length));
}
__name(parsePaserk, "parsePaserk");
function decodePaserkPayload(input) {
  try {
    return decodeBase64url2(input, "PASERK payload");
  } catch (cause) {
    throw new InvalidPASERKError("Invalid PASERK payload", { cause });
  }
}
__name(decodePaserkPayload, "decodePaserkPayload");
async function importPaserkKey(input, version, type, importKey) {
  const material = parsePaserk(input, version, type);
  try {
    return await importKey(material);
  } catch (cause) {
    if (cause instanceof TypeError) {
      throw new InvalidKeyError(`Invalid k${version}.${type} key material`, { cause });
    }
    throw cause;
  }
}
__name(importPaserkKey, "importPaserkKey");
async function verifyPublicV4(key, message, signature, footer, implicitAssertion2) {
  return await verifyV4Public(publicKeyData(key, 4), message, signature, footer, implicitAssertion2);
}
__name(verifyPublicV4, "verifyPublicV4");
async function importPublicKeyV4(paserk) {
  return await importPaserkKey(
    paserk,
    4,
    "public",
    (material) => importEd25519PublicKey(4, material)
  );
}
__name(importPublicKeyV4, "importPublicKeyV4");

// ../../node_modules/paseto/v4/public.js
var VerifyFactory = /* @__PURE__ */ PublicVerify({ version: 4, run: verifyPublicV4 });
var ImportPublicKeyFactory = /* @__PURE__ */ PublicImportPublicKey({ version: 4, run: importPublicKeyV4 });

// ../../node_modules/aws4fetch/dist/aws4fetch.esm.mjs
var encoder2 = new TextEncoder();
var HOST_SERVICES = {
  appstream2: "appstream",
  cloudhsmv2: "cloudhsm",
  email: "ses",
  marketplace: "aws-marketplace",
  mobile: "AWSMobileHubService",
  pinpoint: "mobiletargeting",
  queue: "sqs",
  "git-codecommit": "codecommit",
  "mturk-requester-sandbox": "mturk-requester",
  "personalize-runtime": "personalize"
};
var UNSIGNABLE_HEADERS = /* @__PURE__ */ new Set([
  "authorization",
  "content-type",
  "content-length",
  "user-agent",
  "presigned-expires",
  "expect",
  "x-amzn-trace-id",
  "range",
  "connection"
]);
var AwsClient = class {
  static {
    __name(this, "AwsClient");
  }
  constructor({ accessKeyId, secretAccessKey, sessionToken, service, region, cache, retries, initRetryMs }) {
    if (accessKeyId == null) throw new TypeError("accessKeyId is a required option");
    if (secretAccessKey == null) throw new TypeError("secretAccessKey is a required option");
    this.accessKeyId = accessKeyId;
    this.secretAccessKey = secretAccessKey;
    this.sessionToken = sessionToken;
    this.service = service;
    this.region = region;
    this.cache = cache || /* @__PURE__ */ new Map();
    this.retries = retries != null ? retries : 10;
    this.initRetryMs = initRetryMs || 50;
  }
  async sign(input, init) {
    if (input instanceof Request) {
      const { method, url, headers, body } = input;
      init = Object.assign({ method, url, headers }, init);
      if (init.body == null && headers.has("Content-Type")) {
        init.body = body != null && headers.has("X-Amz-Content-Sha256") ? body : await input.clone().arrayBuffer();
      }
      input = url;
    }
    const signer = new AwsV4Signer(Object.assign({ url: input.toString() }, init, this, init && init.aws));
    const signed = Object.assign({}, init, await signer.sign());
    delete signed.aws;
    try {
      return new Request(signed.url.toString(), signed);
    } catch (e) {
      if (e instanceof TypeError) {
        return new Request(signed.url.toString(), Object.assign({ duplex: "half" }, signed));
      }
      throw e;
    }
  }
  async fetch(input, init) {
    for (let i = 0; i <= this.retries; i++) {
      const fetched = fetch(await this.sign(input, init));
      if (i === this.retries) {
        return fetched;
      }
      const res = await fetched;
      if (res.status < 500 && res.status !== 429) {
        return res;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * this.initRetryMs * Math.pow(2, i)));
    }
    throw new Error("An unknown error occurred, ensure retries is not negative");
  }
};
var AwsV4Signer = class {
  static {
    __name(this, "AwsV4Signer");
  }
  constructor({ method, url, headers, body, accessKeyId, secretAccessKey, sessionToken, service, region, cache, datetime, signQuery, appendSessionToken, allHeaders, singleEncode }) {
    if (url == null) throw new TypeError("url is a required option");
    if (accessKeyId == null) throw new TypeError("accessKeyId is a required option");
    if (secretAccessKey == null) throw new TypeError("secretAccessKey is a required option");
    this.method = method || (body ? "POST" : "GET");
    this.url = new URL(url);
    this.headers = new Headers(headers || {});
    this.body = body;
    this.accessKeyId = accessKeyId;
    this.secretAccessKey = secretAccessKey;
    this.sessionToken = sessionToken;
    let guessedService, guessedRegion;
    if (!service || !region) {
      [guessedService, guessedRegion] = guessServiceRegion(this.url, this.headers);
    }
    this.service = service || guessedService || "";
    this.region = region || guessedRegion || "us-east-1";
    this.cache = cache || /* @__PURE__ */ new Map();
    this.datetime = datetime || (/* @__PURE__ */ new Date()).toISOString().replace(/[:-]|\.\d{3}/g, "");
    this.signQuery = signQuery;
    this.appendSessionToken = appendSessionToken || this.service === "iotdevicegateway";
    this.headers.delete("Host");
    if (this.service === "s3" && !this.signQuery && !this.headers.has("X-Amz-Content-Sha256")) {
      this.headers.set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
    }
    const params = this.signQuery ? this.url.searchParams : this.headers;
    params.set("X-Amz-Date", this.datetime);
    if (this.sessionToken && !this.appendSessionToken) {
      params.set("X-Amz-Security-Token", this.sessionToken);
    }
    this.signableHeaders = ["host", ...this.headers.keys()].filter((header) => allHeaders || !UNSIGNABLE_HEADERS.has(header)).sort();
    this.signedHeaders = this.signableHeaders.join(";");
    this.canonicalHeaders = this.signableHeaders.map((header) => header + ":" + (header === "host" ? this.url.host : (this.headers.get(header) || "").replace(/\s+/g, " "))).join("\n");
    this.credentialString = [this.datetime.slice(0, 8), this.region, this.service, "aws4_request"].join("/");
    if (this.signQuery) {
      if (this.service === "s3" && !params.has("X-Amz-Expires")) {
        params.set("X-Amz-Expires", "86400");
      }
      params.set("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
      params.set("X-Amz-Credential", this.accessKeyId + "/" + this.credentialString);
      params.set("X-Amz-SignedHeaders", this.signedHeaders);
    }
    if (this.service === "s3") {
      try {
        this.encodedPath = decodeURIComponent(this.url.pathname.replace(/\+/g, " "));
      } catch (e) {
        this.encodedPath = this.url.pathname;
      }
    } else {
      this.encodedPath = this.url.pathname.replace(/\/+/g, "/");
    }
    if (!singleEncode) {
      this.encodedPath = encodeURIComponent(this.encodedPath).replace(/%2F/g, "/");
    }
    this.encodedPath = encodeRfc3986(this.encodedPath);
    const seenKeys = /* @__PURE__ */ new Set();
    this.encodedSearch = [...this.url.searchParams].filter(([k]) => {
      if (!k) return false;
      if (this.service === "s3") {
        if (seenKeys.has(k)) return false;
        seenKeys.add(k);
      }
      return true;
    }).map((pair) => pair.map((p) => encodeRfc3986(encodeURIComponent(p)))).sort(([k1, v1], [k2, v2]) => k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0).map((pair) => pair.join("=")).join("&");
  }
  async sign() {
    if (this.signQuery) {
      this.url.searchParams.set("X-Amz-Signature", await this.signature());
      if (this.sessionToken && this.appendSessionToken) {
        this.url.searchParams.set("X-Amz-Security-Token", this.sessionToken);
      }
    } else {
      this.headers.set("Authorization", await this.authHeader());
    }
    return {
      method: this.method,
      url: this.url,
      headers: this.headers,
      body: this.body
    };
  }
  async authHeader() {
    return [
      "AWS4-HMAC-SHA256 Credential=" + this.accessKeyId + "/" + this.credentialString,
      "SignedHeaders=" + this.signedHeaders,
      "Signature=" + await this.signature()
    ].join(", ");
  }
  async signature() {
    const date = this.datetime.slice(0, 8);
    const cacheKey = [this.secretAccessKey, date, this.region, this.service].join();
    let kCredentials = this.cache.get(cacheKey);
    if (!kCredentials) {
      const kDate = await hmac("AWS4" + this.secretAccessKey, date);
      const kRegion = await hmac(kDate, this.region);
      const kService = await hmac(kRegion, this.service);
      kCredentials = await hmac(kService, "aws4_request");
      this.cache.set(cacheKey, kCredentials);
    }
    return buf2hex(await hmac(kCredentials, await this.stringToSign()));
  }
  async stringToSign() {
    return [
      "AWS4-HMAC-SHA256",
      this.datetime,
      this.credentialString,
      buf2hex(await hash(await this.canonicalString()))
    ].join("\n");
  }
  async canonicalString() {
    return [
      this.method.toUpperCase(),
      this.encodedPath,
      this.encodedSearch,
      this.canonicalHeaders + "\n",
      this.signedHeaders,
      await this.hexBodyHash()
    ].join("\n");
  }
  async hexBodyHash() {
    let hashHeader = this.headers.get("X-Amz-Content-Sha256") || (this.service === "s3" && this.signQuery ? "UNSIGNED-PAYLOAD" : null);
    if (hashHeader == null) {
      if (this.body && typeof this.body !== "string" && !("byteLength" in this.body)) {
        throw new Error("body must be a string, ArrayBuffer or ArrayBufferView, unless you include the X-Amz-Content-Sha256 header");
      }
      hashHeader = buf2hex(await hash(this.body || ""));
    }
    return hashHeader;
  }
};
async function hmac(key, string) {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    typeof key === "string" ? encoder2.encode(key) : key,
    { name: "HMAC", hash: { name: "SHA-256" } },
    false,
    ["sign"]
  );
  return crypto.subtle.sign("HMAC", cryptoKey, encoder2.encode(string));
}
__name(hmac, "hmac");
async function hash(content) {
  return crypto.subtle.digest("SHA-256", typeof content === "string" ? encoder2.encode(content) : content);
}
__name(hash, "hash");
var HEX_CHARS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"];
function buf2hex(arrayBuffer) {
  const buffer = new Uint8Array(arrayBuffer);
  let out = "";
  for (let idx = 0; idx < buffer.length; idx++) {
    const n = buffer[idx];
    out += HEX_CHARS[n >>> 4 & 15];
    out += HEX_CHARS[n & 15];
  }
  return out;
}
__name(buf2hex, "buf2hex");
function encodeRfc3986(urlEncodedStr) {
  return urlEncodedStr.replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}
__name(encodeRfc3986, "encodeRfc3986");
function guessServiceRegion(url, headers) {
  const { hostname, pathname } = url;
  if (hostname.endsWith(".on.aws")) {
    const match2 = hostname.match(/^[^.]{1,63}\.lambda-url\.([^.]{1,63})\.on\.aws$/);
    return match2 != null ? ["lambda", match2[1] || ""] : ["", ""];
  }
  if (hostname.endsWith(".r2.cloudflarestorage.com")) {
    return ["s3", "auto"];
  }
  if (hostname.endsWith(".backblazeb2.com")) {
    const match2 = hostname.match(/^(?:[^.]{1,63}\.)?s3\.([^.]{1,63})\.backblazeb2\.com$/);
    return match2 != null ? ["s3", match2[1] || ""] : ["", ""];
  }
  const match = hostname.replace("dualstack.", "").match(/([^.]{1,63})\.(?:([^.]{0,63})\.)?amazonaws\.com(?:\.cn)?$/);
  let service = match && match[1] || "";
  let region = match && match[2];
  if (region === "us-gov") {
    region = "us-gov-west-1";
  } else if (region === "s3" || region === "s3-accelerate") {
    region = "us-east-1";
    service = "s3";
  } else if (service === "iot") {
    if (hostname.startsWith("iot.")) {
      service = "execute-api";
    } else if (hostname.startsWith("data.jobs.iot.")) {
      service = "iot-jobs-data";
    } else {
      service = pathname === "/mqtt" ? "iotdevicegateway" : "iotdata";
    }
  } else if (service === "autoscaling") {
    const targetPrefix = (headers.get("X-Amz-Target") || "").split(".")[0];
    if (targetPrefix === "AnyScaleFrontendService") {
      service = "application-autoscaling";
    } else if (targetPrefix === "AnyScaleScalingPlannerFrontendService") {
      service = "autoscaling-plans";
    }
  } else if (region == null && service.startsWith("s3-")) {
    region = service.slice(3).replace(/^fips-|^external-1/, "");
    service = "s3";
  } else if (service.endsWith("-fips")) {
    service = service.slice(0, -5);
  } else if (region && /-\d$/.test(service) && !/-\d$/.test(region)) {
    [service, region] = [region, service];
  }
  return [HOST_SERVICES[service] || service, region || ""];
}
__name(guessServiceRegion, "guessServiceRegion");

// worker.mjs
var v4 = new PublicProtocol2(ImportPublicKeyFactory, VerifyFactory);
var decoder2 = new TextDecoder();
var keysById;
var aws;
async function trustedKeys(env) {
  keysById ??= (async () => {
    const entries = JSON.parse(env.VENDOR_KEYS);
    const pairs = await Promise.all(entries.map(async ({ id, public: paserk }) => [id, await v4.ImportPublicKey(paserk)]));
    return new Map(pairs);
  })();
  return keysById;
}
__name(trustedKeys, "trustedKeys");
function s3(env) {
  aws ??= new AwsClient({
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    service: "s3",
    region: env.S3_REGION
  });
  return aws;
}
__name(s3, "s3");
var INSERT = `INSERT INTO audit_log (time_ms, request_id, operation, bucket, object_key, decision, status,
  s3_status, bytes_in, bytes_out, duration_ms, ip, country, asn, colo, user_agent, origin, key_id, sub, jti, signers, method)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)`;
var json = /* @__PURE__ */ __name((status, error) => new Response(JSON.stringify({ error }), { status, headers: { "content-type": "application/json" } }), "json");
var PASSED = ["content-type", "content-length", "content-range", "etag", "last-modified", "accept-ranges", "cache-control"];
var worker_default = {
  async fetch(request, env, ctx) {
    const started = Date.now();
    const url = new URL(request.url);
    const row = {
      operation: null,
      key: null,
      decision: "allowed",
      status: 200,
      s3Status: null,
      bytesOut: null,
      kid: null,
      sub: null,
      jti: null
    };
    const audit = /* @__PURE__ */ __name(() => {
      if (env.AUDIT_TRACE === "on") console.log("s3gk-d1 statements=1 transactions=1");
      return env.AUDIT_DB.prepare(INSERT).bind(
        started,
        request.headers.get("cf-ray") ?? crypto.randomUUID(),
        row.operation,
        env.S3_BUCKET,
        row.key,
        row.decision,
        row.status,
        row.s3Status,
        null,
        row.bytesOut,
        Date.now() - started,
        request.headers.get("cf-connecting-ip"),
        request.cf?.country ?? null,
        request.cf?.asn ?? null,
        request.cf?.colo ?? null,
        request.headers.get("user-agent"),
        request.headers.get("origin"),
        row.kid,
        row.sub,
        row.jti,
        row.sub === null ? null : JSON.stringify([{ key_id: row.kid, sub: row.sub, jti: row.jti }]),
        request.method
      ).run();
    }, "audit");
    const refuse = /* @__PURE__ */ __name(async (status, code) => {
      row.decision = code;
      row.status = status;
      await audit();
      return json(status, code);
    }, "refuse");
    if (request.method !== "GET") return refuse(405, "method_not_allowed");
    if (!url.pathname.startsWith("/objects/")) return refuse(404, "not_found");
    row.operation = "get";
    try {
      row.key = decodeURIComponent(url.pathname.slice("/objects/".length));
    } catch {
      return refuse(400, "bad_key");
    }
    const auth = request.headers.get("authorization") ?? "";
    if (!auth.startsWith("Bearer ")) return refuse(401, "grant_missing");
    const token = auth.slice("Bearer ".length);
    let claims;
    try {
      const { kid } = JSON.parse(decoder2.decode(InspectFooter(token)));
      const key = (await trustedKeys(env)).get(kid);
      if (!key) return refuse(401, "grant_unknown_key");
      row.kid = kid;
      ({ claims } = await v4.Verify(key, token, {
        audience: env.GATEKEEPER_ID,
        clockTolerance: 60,
        maxTokenAge: 15 * 60,
        requiredClaims: ["sub", "op"]
      }));
    } catch {
      return refuse(401, "grant_invalid");
    }
    row.sub = typeof claims.sub === "string" ? claims.sub : null;
    row.jti = typeof claims.jti === "string" ? claims.jti : null;
    if (claims.op !== "get" || claims.key !== row.key) return refuse(403, "grant_mismatch");
    const path = row.key.split("/").map(encodeURIComponent).join("/");
    const headers = {};
    for (const name of ["range", "if-none-match", "if-modified-since"]) {
      const value = request.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    let upstream;
    try {
      upstream = await s3(env).fetch(`${env.S3_ENDPOINT}/${env.S3_BUCKET}/${path}`, { headers });
    } catch {
      return refuse(502, "s3_unreachable");
    }
    row.s3Status = upstream.status;
    row.status = upstream.status;
    row.bytesOut = Number(upstream.headers.get("content-length")) || null;
    if (!upstream.ok && upstream.status !== 304) {
      await upstream.body?.cancel();
      row.decision = "s3_error";
      row.status = upstream.status === 404 ? 404 : 502;
      await audit();
      return json(row.status, row.decision);
    }
    await audit();
    const reply = new Headers();
    for (const name of PASSED) {
      const value = upstream.headers.get(name);
      if (value !== null) reply.set(name, value);
    }
    return new Response(upstream.body, { status: upstream.status, headers: reply });
  }
};

// ../../node_modules/wrangler/templates/middleware/middleware-ensure-req-body-drained.ts
var drainBody = /* @__PURE__ */ __name(async (request, env, _ctx, middlewareCtx) => {
  try {
    return await middlewareCtx.next(request, env);
  } finally {
    try {
      if (request.body !== null && !request.bodyUsed) {
        const reader = request.body.getReader();
        while (!(await reader.read()).done) {
        }
      }
    } catch (e) {
      console.error("Failed to drain the unused request body.", e);
    }
  }
}, "drainBody");
var middleware_ensure_req_body_drained_default = drainBody;

// ../../node_modules/wrangler/templates/middleware/middleware-miniflare3-json-error.ts
function reduceError(e) {
  return {
    name: e?.name,
    message: e?.message ?? String(e),
    stack: e?.stack,
    cause: e?.cause === void 0 ? void 0 : reduceError(e.cause)
  };
}
__name(reduceError, "reduceError");
var jsonError = /* @__PURE__ */ __name(async (request, env, _ctx, middlewareCtx) => {
  try {
    return await middlewareCtx.next(request, env);
  } catch (e) {
    const error = reduceError(e);
    return Response.json(error, {
      status: 500,
      headers: { "MF-Experimental-Error-Stack": "true" }
    });
  }
}, "jsonError");
var middleware_miniflare3_json_error_default = jsonError;

// .wrangler/tmp/bundle-CmvXsN/middleware-insertion-facade.js
var __INTERNAL_WRANGLER_MIDDLEWARE__ = [
  middleware_ensure_req_body_drained_default,
  middleware_miniflare3_json_error_default
];
var middleware_insertion_facade_default = worker_default;

// ../../node_modules/wrangler/templates/middleware/common.ts
var __facade_middleware__ = [];
function __facade_register__(...args) {
  __facade_middleware__.push(...args.flat());
}
__name(__facade_register__, "__facade_register__");
function __facade_invokeChain__(request, env, ctx, dispatch, middlewareChain) {
  const [head, ...tail] = middlewareChain;
  const middlewareCtx = {
    dispatch,
    next(newRequest, newEnv) {
      return __facade_invokeChain__(newRequest, newEnv, ctx, dispatch, tail);
    }
  };
  return head(request, env, ctx, middlewareCtx);
}
__name(__facade_invokeChain__, "__facade_invokeChain__");
function __facade_invoke__(request, env, ctx, dispatch, finalMiddleware) {
  return __facade_invokeChain__(request, env, ctx, dispatch, [
    ...__facade_middleware__,
    finalMiddleware
  ]);
}
__name(__facade_invoke__, "__facade_invoke__");

// .wrangler/tmp/bundle-CmvXsN/middleware-loader.entry.ts
var __Facade_ScheduledController__ = class ___Facade_ScheduledController__ {
  constructor(scheduledTime, cron, noRetry) {
    this.scheduledTime = scheduledTime;
    this.cron = cron;
    this.#noRetry = noRetry;
  }
  static {
    __name(this, "__Facade_ScheduledController__");
  }
  #noRetry;
  noRetry() {
    if (!(this instanceof ___Facade_ScheduledController__)) {
      throw new TypeError("Illegal invocation");
    }
    this.#noRetry();
  }
};
function wrapExportedHandler(worker) {
  if (__INTERNAL_WRANGLER_MIDDLEWARE__ === void 0 || __INTERNAL_WRANGLER_MIDDLEWARE__.length === 0) {
    return worker;
  }
  for (const middleware of __INTERNAL_WRANGLER_MIDDLEWARE__) {
    __facade_register__(middleware);
  }
  const fetchDispatcher = /* @__PURE__ */ __name(function(request, env, ctx) {
    if (worker.fetch === void 0) {
      throw new Error("Handler does not export a fetch() function.");
    }
    return worker.fetch(request, env, ctx);
  }, "fetchDispatcher");
  return {
    ...worker,
    fetch(request, env, ctx) {
      const dispatcher = /* @__PURE__ */ __name(function(type, init) {
        if (type === "scheduled" && worker.scheduled !== void 0) {
          const controller = new __Facade_ScheduledController__(
            Date.now(),
            init.cron ?? "",
            () => {
            }
          );
          return worker.scheduled(controller, env, ctx);
        }
      }, "dispatcher");
      return __facade_invoke__(request, env, ctx, dispatcher, fetchDispatcher);
    }
  };
}
__name(wrapExportedHandler, "wrapExportedHandler");
function wrapWorkerEntrypoint(klass) {
  if (__INTERNAL_WRANGLER_MIDDLEWARE__ === void 0 || __INTERNAL_WRANGLER_MIDDLEWARE__.length === 0) {
    return klass;
  }
  for (const middleware of __INTERNAL_WRANGLER_MIDDLEWARE__) {
    __facade_register__(middleware);
  }
  return class extends klass {
    #fetchDispatcher = /* @__PURE__ */ __name((request, env, ctx) => {
      this.env = env;
      this.ctx = ctx;
      if (super.fetch === void 0) {
        throw new Error("Entrypoint class does not define a fetch() function.");
      }
      return super.fetch(request);
    }, "#fetchDispatcher");
    #dispatcher = /* @__PURE__ */ __name((type, init) => {
      if (type === "scheduled" && super.scheduled !== void 0) {
        const controller = new __Facade_ScheduledController__(
          Date.now(),
          init.cron ?? "",
          () => {
          }
        );
        return super.scheduled(controller);
      }
    }, "#dispatcher");
    fetch(request) {
      return __facade_invoke__(
        request,
        this.env,
        this.ctx,
        this.#dispatcher,
        this.#fetchDispatcher
      );
    }
  };
}
__name(wrapWorkerEntrypoint, "wrapWorkerEntrypoint");
var WRAPPED_ENTRY;
if (typeof middleware_insertion_facade_default === "object") {
  WRAPPED_ENTRY = wrapExportedHandler(middleware_insertion_facade_default);
} else if (typeof middleware_insertion_facade_default === "function") {
  WRAPPED_ENTRY = wrapWorkerEntrypoint(middleware_insertion_facade_default);
}
var middleware_loader_entry_default = WRAPPED_ENTRY;
export {
  __INTERNAL_WRANGLER_MIDDLEWARE__,
  middleware_loader_entry_default as default
};
/*! Bundled license information:

aws4fetch/dist/aws4fetch.esm.mjs:
  (**
   * @license MIT <https://opensource.org/licenses/MIT>
   * @copyright Michael Hart 2024
   *)
*/
//# sourceMappingURL=worker.js.map
