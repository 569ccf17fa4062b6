/** Who is calling and where: built by the API layer after authentication, passed to every core call. */

/**
 * How a caller proved who they are (docs/reference/huawei-auth.md §1–2); `password` only for IAM's password login
 * itself.
 */
export type AuthMethod = 'token' | 'access-key' | 'temporary-access-key' | 'password';

/** The authenticated principal behind a request: an IAM user of an account (domain). */
export interface Caller {
  userId: string;
  userName: string;
  domainId: string;
  domainName: string;
  authMethod: AuthMethod;
  /** The access key id, for signed requests. */
  accessKeyId?: string;
  /** The token id: of the token itself, or of the token a temporary access key was issued for. */
  tokenId?: string;
  /** For a token: when it was issued (epoch ms). */
  tokenIssuedAt?: number;
  /** For a token: the project it is scoped to (a caller of another account acts elsewhere with it, through grants). */
  tokenProjectId?: string;
  /** For a temporary access key issued for a project-scoped token: the only project it may act in. */
  projectScope?: string;
}

export interface CallerContext {
  /** The project the request acts on (the `{project_id}` of the path, already checked against the caller). */
  projectId: string;
  /** The project's name (by Huawei's convention the region id, or `<region>_<name>`): `g:ProjectName`. */
  projectName: string;
  /** The account (domain) owning the project. */
  domainId: string;
  /** The region this KMS serves. */
  region: string;
  caller: Caller;
  /**
   * Set when the caller is of another account than the project's: it may act only through grants on the
   * project's keys (core/grants.ts), never through IAM policies.
   */
  foreign?: boolean;
  /** Set when grants, not the IAM policies, allowed the call: the grants and every operation they allow. */
  grants?: { ids: string[]; operations: string[] };
}

/** Milliseconds since the epoch; injectable so tests can move time forward. */
export type Clock = () => number;
