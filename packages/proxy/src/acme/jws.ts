// The ACME account key and the JSON Web Signatures (RFC 7515, flattened JSON
// serialization, ES256) that carry every ACME POST (RFC 8555 §6.2).
import {
  createHash,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';

export interface EcJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

export class AccountKey {
  readonly jwk: EcJwk;
  /** RFC 7638 thumbprint, base64url: the second half of every key authorization. */
  readonly thumbprint: string;

  private constructor(readonly privateKey: KeyObject) {
    const jwk = privateKey.export({ format: 'jwk' }) as {
      kty?: string;
      crv?: string;
      x?: string;
      y?: string;
    };
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) {
      throw new RangeError('the ACME account key must be an ECDSA P-256 key');
    }
    this.jwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
    this.thumbprint = jwkThumbprint(this.jwk);
  }

  static generate(): AccountKey {
    return new AccountKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  }

  /** From a PEM private key (SEC1 "EC PRIVATE KEY", as autocert stores it, or PKCS#8). */
  static fromPem(pem: string | Buffer): AccountKey {
    return new AccountKey(createPrivateKey(pem));
  }

  /** SEC1 PEM ("EC PRIVATE KEY"), the form autocert keeps in acme_account+key. */
  toPem(): string {
    return this.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  }

  /** The key authorization for a challenge token (RFC 8555 §8.1). */
  keyAuthorization(token: string): string {
    return `${token}.${this.thumbprint}`;
  }

  /**
   * A signed request body. `kid` (the account URL) once registered, else the
   * public key itself; `payload` undefined means POST-as-GET (empty payload).
   */
  sign(url: string, nonce: string, payload: unknown, kid: string | null): FlattenedJws {
    const header: Record<string, unknown> = { alg: 'ES256', nonce, url };
    if (kid === null) header['jwk'] = this.jwk;
    else header['kid'] = kid;
    const protectedPart = base64url(JSON.stringify(header));
    const payloadPart = payload === undefined ? '' : base64url(JSON.stringify(payload));
    const signature = sign('sha256', Buffer.from(`${protectedPart}.${payloadPart}`), {
      key: this.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return { protected: protectedPart, payload: payloadPart, signature: signature.toString('base64url') };
  }
}

export function jwkThumbprint(jwk: EcJwk): string {
  // Required members only, in lexicographic order, no whitespace (RFC 7638 §3).
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

export function base64url(data: string | Buffer): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

/** Credentials a CA hands out for external account binding (RFC 8555 §7.3.4): a key id and an HMAC key. */
export interface ExternalAccount {
  kid: string;
  /** The HMAC key, decoded (CAs hand it out base64url-encoded). */
  hmacKey: Buffer;
}

/**
 * The `externalAccountBinding` member of a newAccount payload: the account's
 * public key, signed with the CA-issued HMAC key (HS256) for that key id and URL.
 */
export function externalAccountBinding(
  account: ExternalAccount,
  jwk: EcJwk,
  newAccountUrl: string,
): FlattenedJws {
  const protectedPart = base64url(JSON.stringify({ alg: 'HS256', kid: account.kid, url: newAccountUrl }));
  const payloadPart = base64url(JSON.stringify(jwk));
  const signature = createHmac('sha256', account.hmacKey).update(`${protectedPart}.${payloadPart}`).digest();
  return { protected: protectedPart, payload: payloadPart, signature: signature.toString('base64url') };
}

/**
 * Reads EAB credentials as CAs print them (key id, HMAC key in base64url,
 * padding optional); null when neither is set. Throws a sentence when only one
 * is set or the key does not decode.
 */
export function parseExternalAccount(
  kid: string | undefined,
  hmacKey: string | undefined,
): ExternalAccount | null {
  const k = kid?.trim() ?? '';
  const h = hmacKey?.trim() ?? '';
  if (k === '' && h === '') return null;
  if (k === '' || h === '') {
    throw new RangeError("EAB_KID and EAB_HMAC_KEY must be set together (both from the CA's account page)");
  }
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(h)) {
    throw new RangeError('EAB_HMAC_KEY is not base64url; paste the HMAC key exactly as the CA shows it');
  }
  const key = Buffer.from(h.replace(/=+$/, ''), 'base64url');
  if (key.length === 0)
    throw new RangeError('EAB_HMAC_KEY decodes to nothing; paste the HMAC key the CA shows');
  return { kid: k, hmacKey: key };
}
