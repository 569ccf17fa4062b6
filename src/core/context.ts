/** Who is calling and where: built by the API layer after authentication, passed to every core call. */
export interface CallerContext {
  /** The project the request acts on (the `{project_id}` of the path, already checked against the caller). */
  projectId: string;
  /** The account (domain) owning the project. */
  domainId: string;
  /** The region this KMS serves. */
  region: string;
}

/** Milliseconds since the epoch; injectable so tests can move time forward. */
export type Clock = () => number;
