/**
 * The deployment's regions: each region's id and endpoint, and which regions may hold replicas of keys whose
 * primary is in a given region (every other region by default; `replication` in the deployment file restricts it,
 * as Huawei's region pairs do).
 */
export interface RegionEndpoint {
  id: string;
  /** The region's first node. */
  endpoint: string;
  /** Every node of the region (`start --nodes`), the first being `endpoint`; absent for one node. */
  endpoints?: readonly string[];
}

export class Topology {
  constructor(
    readonly regions: readonly RegionEndpoint[],
    private readonly replication?: Readonly<Record<string, readonly string[]>>,
  ) {}

  /** Regions a key whose primary is in `region` can be replicated to, in deployment order. */
  replicaTargets(region: string): string[] {
    const allowed = this.replication?.[region];
    return this.regions.map((r) => r.id).filter((id) => id !== region && (allowed === undefined || allowed.includes(id)));
  }

  endpointOf(region: string): string | undefined {
    return this.regions.find((r) => r.id === region)?.endpoint;
  }

  /** Every node's endpoint of a region, first node first (empty for an unknown region). */
  endpointsOf(region: string): readonly string[] {
    const r = this.regions.find((x) => x.id === region);
    return r ? (r.endpoints?.length ? r.endpoints : [r.endpoint]) : [];
  }
}
