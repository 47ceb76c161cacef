// One certificate order, start to finish (RFC 8555 §7.4): new order, answer
// each pending authorization with HTTP-01, wait for validation, finalize
// with a CSR, download the chain.
import type { KeyObject } from 'node:crypto';
import { AcmeError, type AcmeClient, type AcmeOrder } from './client.js';
import type { Http01Challenges } from './challenges.js';
import { createCsr } from './csr.js';
import type { TlsAlpnChallenges } from './tls-alpn.js';

export type ChallengeType = 'http-01' | 'tls-alpn-01';

/** The CA offers none of the challenge types the proxy can answer. */
export class NoViableChallengeError extends AcmeError {}

/** Where challenge answers are published while an authorization is pending. */
export interface ChallengeResponders {
  http01: Http01Challenges;
  /** Null when the proxy has no HTTPS listener. */
  tlsAlpn01: TlsAlpnChallenges | null;
}

/**
 * Returns the PEM chain (leaf first) for `names`, whose key is
 * `certificateKey`. Each authorization is answered with the first type in
 * `types` that the CA offers.
 */
export async function orderCertificate(
  client: AcmeClient,
  names: readonly string[],
  certificateKey: KeyObject,
  responders: ChallengeResponders,
  types: readonly ChallengeType[],
  deadline: number,
): Promise<string> {
  const { url, order } = await client.newOrder(names);
  const cleanups: Array<() => void> = [];
  try {
    let current: AcmeOrder = order;
    if (current.status === 'pending') {
      for (const authzUrl of current.authorizations ?? []) {
        const authz = await client.getAuthorization(authzUrl);
        if (authz.status === 'valid') continue;
        if (authz.status !== 'pending') {
          throw new AcmeError(
            `the ACME authorization for ${authz.identifier?.value ?? authzUrl} is ${authz.status}, not pending`,
          );
        }
        const type = types.find((t) => authz.challenges?.some((c) => c.type === t));
        const challenge = authz.challenges?.find((c) => c.type === type);
        if (type === undefined || challenge === undefined) {
          const offered = (authz.challenges ?? []).map((c) => c.type).join(', ') || 'none';
          throw new NoViableChallengeError(
            `no viable challenge for ${authz.identifier.value}: the server offered ${offered}, and wharf-proxy answers ${types.join(' or ')}`,
          );
        }
        const host = authz.identifier.value;
        const keyAuthorization = client.accountKey.keyAuthorization(challenge.token);
        if (type === 'http-01') {
          responders.http01.add(challenge.token, keyAuthorization, host);
          cleanups.push(() => responders.http01.remove(challenge.token));
        } else {
          const alpn = responders.tlsAlpn01!;
          alpn.add(host, keyAuthorization);
          cleanups.push(() => alpn.remove(host));
        }
        await client.acceptChallenge(challenge.url);
        await client.waitAuthorization(authzUrl, deadline);
      }
      current = await client.waitOrder(url, ['ready', 'valid'], deadline);
    }
    if (current.status === 'ready') {
      current = await client.finalize(current.finalize, createCsr(certificateKey, names));
    }
    if (current.status !== 'valid') current = await client.waitOrder(url, ['valid'], deadline);
    if (current.certificate === undefined) {
      throw new AcmeError(`the ACME order ${url} is valid but names no certificate URL`);
    }
    return await client.downloadCertificate(current.certificate);
  } catch (err) {
    // Give back authorizations left pending (RFC 8555 §7.5.2), as autocert
    // does, so failed orders do not pile up against the CA's pending limit.
    await deactivatePending(client, order.authorizations ?? []);
    throw err;
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

async function deactivatePending(client: AcmeClient, urls: readonly string[]): Promise<void> {
  for (const url of urls) {
    try {
      const authz = await client.getAuthorization(url);
      if (authz.status === 'pending') await client.deactivateAuthorization(url);
    } catch {
      // Best effort: the order already failed for the reason being reported.
    }
  }
}
