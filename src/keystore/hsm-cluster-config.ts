/**
 * How deployment.json registers an HSM cluster of dedicated keystores (`hsm_clusters`: id → this), checked without
 * loading any PKCS#11 module (the CLI and every process read the file; only regions open the tokens,
 * keystore/hsm-clusters.ts).
 */

/**
 * One cluster: the PKCS#11 module, the token's label and where its user PIN is (`pin_file`, a file whose first line
 * is the PIN, or `pin_env`, an environment variable of the region processes), never the PIN itself.
 */
export interface HsmClusterConfig {
  module: string;
  token: string;
  pin_file?: string;
  pin_env?: string;
}

/** Cluster ids: what `hsm_cluster_id` names (letters, digits, `-`, `_`, 1–64). */
export const HSM_CLUSTER_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks a cluster's configuration (its shape only); throws a message for the operator. */
export function checkHsmClusterConfig(id: string, c: HsmClusterConfig): void {
  if (!HSM_CLUSTER_ID_RE.test(id)) throw new Error(`HSM cluster id ${JSON.stringify(id)}: use 1–64 letters, digits, - or _`);
  if (typeof c !== 'object' || c === null) throw new Error(`HSM cluster ${id}: expected an object with module, token and pin_file or pin_env`);
  if ('pin' in c) throw new Error(`HSM cluster ${id}: the PIN must not be written in deployment.json; give pin_file or pin_env`);
  if (typeof c.module !== 'string' || c.module === '') throw new Error(`HSM cluster ${id}: module (the PKCS#11 library path) is required`);
  if (typeof c.token !== 'string' || c.token === '') throw new Error(`HSM cluster ${id}: token (the token label) is required`);
  if ((c.pin_file === undefined) === (c.pin_env === undefined)) throw new Error(`HSM cluster ${id}: give pin_file or pin_env (exactly one)`);
}
