/**
 * Sign-In with Ethereum at a gateway over HTTP, as a wallet does: its nonce, the signed message,
 * the bearer token. For the benchmarks that read through a real gateway (bench:gateway,
 * bench:indexer).
 */
import type { LocalAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";

export async function signIn(base: string, account: LocalAccount): Promise<string> {
  const nonce = (await (await fetch(`${base}/auth/nonce`)).json()) as {
    nonce: string;
    domain: string;
    uri: string;
    chainId: number;
  };
  const message = createSiweMessage({
    domain: nonce.domain,
    address: account.address,
    statement: "Sign in to the Consentry gateway (benchmark).",
    uri: nonce.uri,
    version: "1",
    chainId: nonce.chainId,
    nonce: nonce.nonce,
    issuedAt: new Date(),
  });
  const signature = await account.signMessage!({ message });
  const res = await fetch(`${base}/auth/siwe`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, signature }),
  });
  if (!res.ok) throw new Error(`sign-in at ${base} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
